"""Foster's attention RNN (Generative Deep Learning ch. 7): note tokens, training, in-graph sampling."""
