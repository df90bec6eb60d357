"""Convolutional image GAN (DCGAN lineage): models, data, adapter."""
