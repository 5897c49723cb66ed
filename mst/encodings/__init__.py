"""Encodings of songs as model inputs: the step grid and the 64 x 84 pianoroll phrases."""
