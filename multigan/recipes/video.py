"""Video GAN recipe: continue K seed frames with generated ones.

python -m multigan.recipes.video [train] [--config FILE.yaml] [key=value ...]
python -m multigan.recipes.video generate --run RUN_DIR (--seed-frames F1 ... FK | --seed-video PATH)
                                         [--num-frames N] [--samples S] [--out clip.mp4]
python -m multigan.recipes.video evaluate --run RUN_DIR [--context 10] [--predict 10] [--samples N]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from multigan.core.cli import Command, run_recipe
from multigan.core.errors import MultiganError
from multigan.core.trainer import Trainer
from multigan.io.video import WRITE_EXTENSIONS, write_video
from multigan.video.adapter import VideoAdapter, to_frames
from multigan.video.config import VideoConfig
from multigan.video.evaluate import evaluate_prediction
from multigan.video.pipeline import VideoPipeline

PROG = "python -m multigan.recipes.video"
CONFIG_CLASS = VideoConfig


def train(cfg: VideoConfig) -> None:
    adapter = VideoAdapter(cfg)
    trainer = Trainer(adapter, cfg)
    result = trainer.fit()
    if result.interrupted or not trainer.rt.is_main:  # under torchrun, rank 0 evaluates and reports
        return
    samples = result.run_dir / "samples" / f"step_{result.step:08d}"
    print(f"Trained to step {result.step}. Samples: {samples}; checkpoints: {result.run_dir / 'checkpoints'}")
    G = trainer.sample_model().eval()
    report = evaluate_prediction(adapter, G, context=cfg.data.context, predict=cfg.data.eval_predict, seed=cfg.seed)
    for line in report.lines(per_step=False):
        print(line)
    report.save(result.run_dir / "evaluation.json")
    beats = report.beats_copy_last()
    print(
        "The model beats copy-last-frame on "
        + (", ".join(k.upper() for k, v in beats.items() if v) or "none of MSE, PSNR, SSIM")
        + "."
    )
    _report_skipped(adapter)


def _report_skipped(adapter: VideoAdapter) -> None:
    if adapter.skipped:  # each was named in a warning line when the data was read
        print(f"{len(adapter.skipped)} video file(s) could not be decoded and were skipped")


# ------------------------------------------------------------------------------------- generate


def add_generate_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run", required=True, help="a run directory written by train, or an exported folder")
    seeds = p.add_mutually_exclusive_group(required=True)
    seeds.add_argument("--seed-frames", nargs="+", metavar="IMAGE", help="seed frames as image files, in order")
    seeds.add_argument("--seed-video", metavar="PATH", help="a video whose last frames are the seed")
    p.add_argument("--num-frames", type=int, default=10, help="frames to generate (default 10; any number)")
    p.add_argument("--samples", type=int, default=1, help="stochastic continuations to write (default 1)")
    p.add_argument("--out", default=None, help=".mp4, .webm or .gif (default RUN/samples/generated.mp4)")
    p.add_argument("--fps", type=float, default=10.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")


def generate(args: argparse.Namespace) -> None:
    if args.num_frames < 1 or args.samples < 1:
        raise MultiganError("--num-frames and --samples must be at least 1")
    out = Path(args.out) if args.out else Path(args.run) / "samples" / "generated.mp4"
    if out.suffix.lower() not in WRITE_EXTENSIONS:
        raise MultiganError(f"--out must end in {', '.join(WRITE_EXTENSIONS)}, got {out.name!r}")
    model = VideoPipeline.from_folder(args.run, args.device)
    context = model.seed_context(args.seed_video or args.seed_frames)
    generated = model.continue_clips(context, args.num_frames, seed=args.seed, samples=args.samples)
    paths = [out] if args.samples == 1 else [out.with_name(f"{out.stem}_{i}{out.suffix}") for i in range(args.samples)]
    for path, continuation in zip(paths, generated):
        write_video(path, to_frames(torch.cat([context[0], continuation[0]])), fps=args.fps)
    k = context.shape[1]
    where = str(out) if args.samples == 1 else f"{paths[0]} ... {paths[-1].name}"
    print(f"wrote {args.samples} clip(s) of {k} seed + {args.num_frames} generated frames to {where}")


# ------------------------------------------------------------------------------------- evaluate


def add_evaluate_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run", required=True, help="a run directory written by train")
    p.add_argument("--context", type=int, default=10, help="context frames given (default 10)")
    p.add_argument("--predict", type=int, default=10, help="frames predicted and scored (default 10)")
    p.add_argument("--samples", type=int, default=1, help="best of N stochastic samples per clip (SAVP)")
    p.add_argument("--max-clips", type=int, default=0, help="score at most this many clips (0: all)")
    p.add_argument("--data", default=None, help="a folder of held-out videos (default: the run's)")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")


def evaluate(args: argparse.Namespace) -> None:
    for flag in ("context", "predict", "samples", "batch_size"):
        if getattr(args, flag) < 1:
            raise MultiganError(f"--{flag.replace('_', '-')} must be at least 1")
    if args.max_clips < 0:
        raise MultiganError("--max-clips must be 0 (all) or more")
    model = VideoPipeline.from_folder(args.run, args.device)
    cfg, G = model.cfg, model.G
    adapter = VideoAdapter(cfg)
    if args.data:
        cfg.data.channels = adapter.channels  # the model's, whatever the folder holds
        cfg.data.val_path = args.data
        if cfg.data.path == "":  # a moving-digits run scored on other videos
            cfg.data.path = args.data
        adapter = VideoAdapter(cfg)
    report = evaluate_prediction(
        adapter,
        G,
        context=args.context,
        predict=args.predict,
        samples=args.samples,
        max_clips=args.max_clips,
        batch_size=args.batch_size,
        seed=args.seed,
    )
    for line in report.lines():
        print(line)
    report.save(Path(args.run) / "evaluation.json")
    _report_skipped(adapter)


COMMANDS = {
    "generate": Command("Continue seed frames (images or a video) with generated frames.", add_generate_args, generate),
    "evaluate": Command(
        "Frame-prediction metrics (10 -> 10 by default) against copy-last-frame.", add_evaluate_args, evaluate
    ),
}


def main(argv: list[str] | None = None) -> int:
    return run_recipe(argv, prog=PROG, config_cls=CONFIG_CLASS, train=train, commands=COMMANDS)


if __name__ == "__main__":
    sys.exit(main())
