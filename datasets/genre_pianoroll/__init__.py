"""TFDS builder ``genre_pianoroll``: MIDI genre folders -> 64-step pianoroll phrases (docs/datasets/genre_pianoroll.md)."""
