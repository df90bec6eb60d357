"""Frame-conditioned video GAN: models, data (moving digits, video folders), adapter."""
