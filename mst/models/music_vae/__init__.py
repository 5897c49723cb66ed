"""MusicVAE and GrooVAE (Roberts et al. 2018; Gillick et al. 2019) on Keras 3: presets, model, task, export, generation."""
