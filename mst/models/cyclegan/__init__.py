"""CycleGAN genre transfer (Brunner et al., ICTAI 2018): models, presets, task, export, song transfer, evaluation."""
