"""Video GAN recipe: continue K seed frames with generated ones, or draw clips from keywords.

python -m multigan.recipes.video [train] [--config FILE.yaml] [key=value ...]
python -m multigan.recipes.video generate --run RUN_DIR [--seed-frames F1 ... FK | --seed-video PATH]
                                         [--keywords "3 up and down"] [--num-frames N] [--samples S] [--out clip.mp4]
                                         [--audio SOUNDTRACK]
python -m multigan.recipes.video evaluate --run RUN_DIR [--context 10] [--predict 10] [--samples N]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from multigan.core.cli import Command, add_checkpoint_argument, run_recipe
from multigan.core.errors import MultiganError
from multigan.core.trainer import Trainer
from multigan.io.audio import read_audio
from multigan.io.video import WRITE_EXTENSIONS, write_video
from multigan.video.adapter import VideoAdapter, to_frames
from multigan.video.config import VideoConfig
from multigan.video.evaluate import evaluate_captions, evaluate_prediction, quick_metric
from multigan.video.pipeline import VideoPipeline

PROG = "python -m multigan.recipes.video"
CONFIG_CLASS = VideoConfig


def train(cfg: VideoConfig) -> None:
    adapter = VideoAdapter(cfg)
    trainer = Trainer(adapter, cfg, quick_metric=quick_metric(adapter))
    if trainer.rt.is_main:
        adapter.save_vocabulary()  # before training: a resumed run encodes its captions the same way
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
    if adapter.keywords and cfg.data.grammar:
        _caption_accuracy(adapter, G, result.run_dir, seed=cfg.seed)
    _report_skipped(adapter)


def _caption_accuracy(
    adapter: VideoAdapter, G: torch.nn.Module, run_dir: Path, *, seed: int, per_pair: int = 10
) -> None:
    """Print the caption accuracy of a keywords run and add it to evaluation.json."""
    captions = evaluate_captions(adapter, G, per_pair=per_pair, seed=seed)
    for line in captions.lines():
        print(line)
    path = run_dir / "evaluation.json"
    saved = json.loads(path.read_text()) if path.is_file() else {}
    path.write_text(json.dumps(saved | {"captions": captions.__dict__}, indent=1))


def _report_skipped(adapter: VideoAdapter) -> None:
    if adapter.skipped:  # each was named in a warning line when the data was read
        print(f"{len(adapter.skipped)} video file(s) could not be decoded and were skipped")


# ------------------------------------------------------------------------------------- generate


def add_generate_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run", required=True, help="a run directory written by train, or an exported folder")
    add_checkpoint_argument(p)
    seeds = p.add_mutually_exclusive_group()
    seeds.add_argument("--seed-frames", nargs="+", metavar="IMAGE", help="seed frames as image files, in order")
    seeds.add_argument("--seed-video", metavar="PATH", help="a video whose last frames are the seed")
    p.add_argument(
        "--keywords",
        metavar="TEXT",
        help='what the clip shows, e.g. "3 up and down" (a model.keywords run); alone, the first frame is drawn too',
    )
    p.add_argument(
        "--num-frames",
        type=int,
        default=10,
        help="frames to generate (default 10; any number; with --keywords alone, the first frame is one of them)",
    )
    p.add_argument("--samples", type=int, default=1, help="stochastic continuations to write (default 1)")
    p.add_argument("--out", default=None, help=".mp4, .webm or .gif (default RUN/samples/generated.mp4)")
    p.add_argument("--fps", type=float, default=10.0)
    p.add_argument(
        "--audio",
        metavar="FILE",
        help="a soundtrack (an audio or video file), trimmed or padded to the clip (mp4, webm)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")


def generate(args: argparse.Namespace) -> None:
    if args.num_frames < 1 or args.samples < 1:
        raise MultiganError("--num-frames and --samples must be at least 1")
    out = Path(args.out) if args.out else Path(args.run) / "samples" / "generated.mp4"
    if out.suffix.lower() not in WRITE_EXTENSIONS:
        raise MultiganError(f"--out must end in {', '.join(WRITE_EXTENSIONS)}, got {out.name!r}")
    seeds = args.seed_video or args.seed_frames
    if seeds is None and args.keywords is None:
        raise MultiganError("give --seed-frames, --seed-video or --keywords (or seed frames and keywords)")
    if args.audio and out.suffix.lower() == ".gif":
        raise MultiganError("--audio needs an .mp4 or .webm --out: a GIF has no sound")
    soundtrack, rate = read_audio(args.audio) if args.audio else (None, None)
    soundtrack = None if soundtrack is None else soundtrack[:2]  # mono or stereo: AAC and Opus take either
    model = VideoPipeline.from_folder(args.run, args.device, args.checkpoint)
    caption = model.caption_tokens(args.keywords) if args.keywords is not None else None
    paths = [out] if args.samples == 1 else [out.with_name(f"{out.stem}_{i}{out.suffix}") for i in range(args.samples)]
    where = str(out) if args.samples == 1 else f"{paths[0]} ... {paths[-1].name}"
    if seeds is None:
        assert caption is not None
        drawn = model.draw_clips(caption, args.num_frames, seed=args.seed, samples=args.samples)
        for path, clip in zip(paths, drawn):
            write_video(path, to_frames(clip[0]), fps=args.fps, audio=soundtrack, sample_rate=rate)
        print(f"wrote {args.samples} clip(s) of {args.num_frames} frames drawn from {args.keywords!r} to {where}")
        return
    context = model.seed_context(seeds)
    generated = model.continue_clips(context, args.num_frames, seed=args.seed, samples=args.samples, caption=caption)
    for path, continuation in zip(paths, generated):
        write_video(
            path, to_frames(torch.cat([context[0], continuation[0]])), fps=args.fps, audio=soundtrack, sample_rate=rate
        )
    k = context.shape[1]
    following = f", following {args.keywords!r}," if args.keywords is not None else ""
    print(f"wrote {args.samples} clip(s) of {k} seed + {args.num_frames} generated frames{following} to {where}")


# ------------------------------------------------------------------------------------- evaluate


def add_evaluate_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run", required=True, help="a run directory written by train")
    add_checkpoint_argument(p)
    p.add_argument("--context", type=int, default=10, help="context frames given (default 10)")
    p.add_argument("--predict", type=int, default=10, help="frames predicted and scored (default 10)")
    p.add_argument("--samples", type=int, default=1, help="best of N stochastic samples per clip (SAVP)")
    p.add_argument("--max-clips", type=int, default=0, help="score at most this many clips (0: all)")
    p.add_argument("--data", default=None, help="a folder of held-out videos (default: the run's)")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument(
        "--per-pair", type=int, default=10, help="keywords runs: clips drawn per (digit, motion) caption (default 10)"
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")


def evaluate(args: argparse.Namespace) -> None:
    for flag in ("context", "predict", "samples", "batch_size", "per_pair"):
        if getattr(args, flag) < 1:
            raise MultiganError(f"--{flag.replace('_', '-')} must be at least 1")
    if args.max_clips < 0:
        raise MultiganError("--max-clips must be 0 (all) or more")
    model = VideoPipeline.from_folder(args.run, args.device, args.checkpoint)
    cfg, G = model.cfg, model.G
    adapter = VideoAdapter(cfg, run_dir=Path(args.run))
    if args.data:
        cfg.data.channels = adapter.channels  # the model's, whatever the folder holds
        cfg.data.val_path = args.data
        if cfg.data.path == "":  # a moving-digits run scored on other videos
            cfg.data.path = args.data
        adapter = VideoAdapter(cfg, run_dir=Path(args.run))
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
    if adapter.keywords and cfg.data.grammar and not args.data:
        _caption_accuracy(adapter, G, Path(args.run), seed=args.seed, per_pair=args.per_pair)
    _report_skipped(adapter)


COMMANDS = {
    "generate": Command(
        "Continue seed frames (images or a video) with generated frames, or draw clips from keywords.",
        add_generate_args,
        generate,
    ),
    "evaluate": Command(
        "Frame-prediction metrics (10 -> 10 by default) against copy-last-frame.", add_evaluate_args, evaluate
    ),
}


def main(argv: list[str] | None = None) -> int:
    return run_recipe(argv, prog=PROG, config_cls=CONFIG_CLASS, train=train, commands=COMMANDS)


if __name__ == "__main__":
    sys.exit(main())
