"""The lever picture in docs/VIDEO.md: truth and each run's 10 -> 20 rollout, at a few predicted steps.

    python scripts/make_levers_figure.py --runs-dir /tmp/levers/seed_0 \
        --levers 'trains 10 -> 5 (the GRU default)' 'SimVP core, 10 -> 10, GAN + L1 + MSE' \
        --out assets/video_levers_simvp_500_steps.png

Each lever is a run trained by `scripts/bench_video.py --levers` (its folder is the lever's name
with every other character than letters and digits made '_', under --runs-dir). Rows: the truth,
then one per lever, for each of --clips held-out clips side by side; columns: the predicted steps
in --steps. Rollouts are made as the benchmark scores them (the same clips, the same noise seeds).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from torchvision.utils import save_image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_video import LEVERS, lever_clips, lever_folder, rollout  # noqa: E402

from multigan.video.pipeline import VideoPipeline  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs-dir", required=True, help="the folder holding the levers' runs (one seed's)")
    p.add_argument("--levers", nargs="+", required=True, metavar="LEVER", help="one row each, in this order")
    p.add_argument("--clips", type=int, nargs="+", default=[0, 1], help="held-out clips shown side by side")
    p.add_argument("--steps", type=int, nargs="+", default=[1, 3, 5, 8, 10, 15, 20], help="predicted steps (1-20)")
    p.add_argument("--cache-dir", default="", help="where moving digits live (as given to bench_video.py)")
    p.add_argument("--scale", type=int, default=2, help="nearest-neighbour upscaling of the picture")
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)
    unknown = [name for name in args.levers if name not in LEVERS]
    missing = [name for name in args.levers if not (lever_folder(Path(args.runs_dir), name) / "config.yaml").is_file()]
    problem = (
        f"unknown lever {unknown[0]!r}" if unknown
        else f"no run for {missing[0]!r} in {args.runs_dir}" if missing
        else "--steps must be 1 to 20" if not all(1 <= s <= 20 for s in args.steps)
        else ""
    )  # fmt: skip
    if problem:
        print(f"make_levers_figure.py: error: {problem}", file=sys.stderr)
        return 2
    clips = lever_clips(args.cache_dir)
    picked = [s - 1 for s in args.steps]
    rows = [clips[args.clips, 10:][:, picked]]
    for name in args.levers:
        pred = rollout(VideoPipeline.from_folder(lever_folder(Path(args.runs_dir), name)), clips, 20)
        rows.append(pred[args.clips][:, picked])
    # (row, clip, step, c, h, w) -> one image: rows down, each clip's steps across, clips side by side
    grid = torch.stack(rows).add(1).div(2).clamp(0, 1)
    n_rows, n_clips, n_steps = grid.shape[:3]
    tiles = grid.reshape(n_rows * n_clips * n_steps, *grid.shape[3:])
    tiles = tiles.repeat_interleave(args.scale, -1).repeat_interleave(args.scale, -2)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    save_image(tiles, args.out, nrow=n_clips * n_steps, padding=2, pad_value=0.5)
    print(f"wrote {args.out}: rows truth, {', '.join(args.levers)}; steps {args.steps} of clips {args.clips}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
