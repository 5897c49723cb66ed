"""The genre classifier of Brunner et al. 2018 (evaluation model of the CycleGAN family)."""
