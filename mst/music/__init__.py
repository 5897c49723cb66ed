"""Reading and writing MIDI files, the authors' file filter, finding MIDI files."""
