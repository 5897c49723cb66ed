"""MuseGAN (Foster, Generative Deep Learning ch. 7; Dong et al. 2018): four-track chorales from four kinds of noise, trained as a WGAN-GP."""
