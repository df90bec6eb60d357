"""Evaluation metrics: image (FID/KID features), text (NLL, BLEU, Self-BLEU), video (MSE, PSNR, SSIM)."""
