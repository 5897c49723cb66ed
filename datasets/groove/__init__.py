"""TFDS builder ``groove``: the Groove MIDI Dataset, offline, from a manual folder (see README.md)."""
