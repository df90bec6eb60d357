"""multigan: one adversarial core for image, text and video GANs."""

__version__ = "0.1.0"
