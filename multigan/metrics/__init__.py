"""Evaluation metrics: image (FID/KID features), text (NLL, BLEU, Self-BLEU), video (MSE, PSNR, SSIM),
translate (labels kept, domain-FID, style error)."""
