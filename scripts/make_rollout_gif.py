"""The README's clip: held-out moving digits, the truth beside a run's 10 -> 20 rollout, as a GIF.

    python scripts/make_rollout_gif.py --run runs/bench_seeds/video_seed0 --out assets/video_moving_digits.gif

The clips are the held-out split of the default moving digits made 30 frames long (10 seed frames
and 20 to predict; data.digits_frames=30, the clips `bench_video.py --levers` scores). The rollout
is the run's `continue_clips` with the benchmark's noise seeds. Each row is one clip, truth on the
left and generated on the right, the seed frames on both sides, written through multigan.io.video.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_video import LEVER_FRAMES, lever_clips, rollout  # noqa: E402

from multigan.io.video import write_video  # noqa: E402
from multigan.video.adapter import side_by_side  # noqa: E402
from multigan.video.pipeline import VideoPipeline  # noqa: E402

SEED_FRAMES = 10


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--run", required=True, help="a video run directory (or an exported folder)")
    p.add_argument("--rows", type=int, default=4, help="held-out clips, one per row (the first ones)")
    p.add_argument("--frames", type=int, default=20, help="frames to predict after the 10 seed frames (1-20)")
    p.add_argument("--fps", type=float, default=5.0)
    p.add_argument("--cache-dir", default="", help="where moving digits live (as given to bench_video.py)")
    p.add_argument("--out", required=True, help=".gif, .mp4 or .webm")
    args = p.parse_args(argv)
    problem = (
        f"no run in {args.run} (its config.yaml is missing)" if not (Path(args.run) / "config.yaml").is_file()
        else "--frames must be 1 to 20" if not 1 <= args.frames <= LEVER_FRAMES - SEED_FRAMES
        else "--rows must be 1 to 100" if not 1 <= args.rows <= 100
        else ""
    )  # fmt: skip
    if problem:
        print(f"make_rollout_gif.py: error: {problem}", file=sys.stderr)
        return 2
    clips = lever_clips(args.cache_dir)
    generated = rollout(VideoPipeline.from_folder(args.run), clips, args.frames)[: args.rows]
    truth = clips[: args.rows, SEED_FRAMES : SEED_FRAMES + args.frames]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    write_video(args.out, side_by_side(clips[: args.rows, :SEED_FRAMES], truth, generated), fps=args.fps)
    print(f"wrote {args.out}: {args.rows} held-out clips, truth | generated, 10 seed frames then {args.frames}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
