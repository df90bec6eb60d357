"""The keywords preset's first-frame VAE alone: train its first phase (model.first_frame_steps), then
read the digit in first frames drawn from every caption (10 per (digit, motion) pair, prior noise).

    python scripts/bench_first_frame.py --out /tmp/ff loss.kl_weight=0.1      # any preset overrides

Prints the digit accuracy of the drawn first frames on seen and held-out pairs, for G at the end of
the phase and for its EMA (what `generate` uses). The trainer runs the preset's first phase only, so
the figure is the one the GAN phase starts from.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from multigan.core.config import load_config  # noqa: E402
from multigan.core.trainer import Trainer  # noqa: E402
from multigan.metrics.image import digit_classifier  # noqa: E402
from multigan.video.adapter import VideoAdapter  # noqa: E402
from multigan.video.config import VideoConfig  # noqa: E402
from multigan.video.data import caption_of, seen_pair  # noqa: E402
from multigan.video.evaluate import _score  # noqa: E402

PRESET = ROOT / "recipes" / "video_keywords.yaml"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, help="the run folder")
    p.add_argument("--per-pair", type=int, default=10)
    p.add_argument("overrides", nargs="*", help="key=value overrides of recipes/video_keywords.yaml")
    args = p.parse_args(argv)
    cfg = load_config(VideoConfig, PRESET, [f"out_dir={args.out}", *args.overrides])
    if not cfg.model.first_frame_steps:
        sys.exit("model.first_frame_steps is 0: there is no first-frame phase to train")
    adapter = VideoAdapter(cfg)
    adapter.save_vocabulary()
    trainer = Trainer(adapter, cfg)
    trainer.phases = trainer.phases[:1]  # the first-frame phase only
    trainer.total_steps = trainer.phases[0].steps
    trainer.fit()

    pairs = [[(d, m)] for d in range(10) for m in range(2) for _ in range(args.per_pair)]
    caption = adapter.encode([caption_of(q) for q in pairs])
    heldout = torch.tensor([not seen_pair(*q[0]) for q in pairs])
    classifier = digit_classifier("cpu")
    box = max(4, round(cfg.data.size * 3 / 8))
    nets = {"G": trainer.G} | ({"EMA of G": trainer.ema.model} if trainer.ema is not None else {})
    for name, net in nets.items():
        net.eval()
        with torch.no_grad():
            first = net.from_caption(caption, 1, generator=torch.Generator().manual_seed(0))
        digit = _score(first.repeat(1, 2, 1, 1, 1), pairs, classifier, box)["digit"]  # two frames: an axis is read
        print(
            f"{name}: the named digit read in {digit[~heldout].mean():.0%} of first frames drawn for seen pairs, "
            f"{digit[heldout].mean():.0%} for held-out pairs"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
