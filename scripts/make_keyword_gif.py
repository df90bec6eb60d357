"""The keyword-clip picture of docs/VIDEO.md and the README: one row per caption, drawn from the
keywords alone (left) and continued from a held-out clip's first frame following the keywords
(right). Prints the captions in row order.

    python scripts/make_keyword_gif.py --run runs/video_keywords --out assets/video_keywords.gif
"""

from __future__ import annotations

import argparse
import sys

import torch

import multigan
from multigan.io.video import write_video
from multigan.video.adapter import VideoAdapter, tiles
from multigan.video.data import caption_of, parse_caption, seen_pair
from multigan.video.pipeline import VideoPipeline

PAIRS = [(3, 1), (3, 0), (4, 0), (4, 1), (7, 1), (7, 0)]  # (digit, motion): one seen, one held out each


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--run", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--fps", type=float, default=4.0)
    args = p.parse_args(argv)
    model = multigan.load(args.run)
    assert isinstance(model, VideoPipeline) and model.keywords, "a keywords video run"
    adapter = VideoAdapter(model.cfg, run_dir=args.run)
    k, length = model.cfg.data.context, model.cfg.data.context + model.cfg.data.eval_predict
    clips, captions = adapter.heldout_clips(len(adapter.heldout(model.cfg.data.eval_predict, k)), k)
    by_digit = {parse_caption(c or "x")[0][0]: i for i, c in enumerate(captions) if parse_caption(c or "x")}
    texts = [caption_of([pair]) for pair in PAIRS]
    caption = model.caption_tokens(texts)
    drawn = model.draw_clips(caption, length, seed=args.seed)[0]
    seeds = torch.stack([clips[by_digit[d], :k] for d, _ in PAIRS])
    continued = torch.cat([seeds, model.continue_clips(seeds, length - k, seed=args.seed, caption=caption)[0]], 1)
    write_video(args.out, tiles([drawn, continued]), fps=args.fps)
    for text, pair in zip(texts, PAIRS):
        print(f"{text} ({'seen' if seen_pair(*pair) else 'held out'} in training)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
