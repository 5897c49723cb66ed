"""TFDS builder ``genre_pianoroll``: MIDI genre folders -> 64-step pianoroll phrases (see README.md)."""
