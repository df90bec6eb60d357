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
from PIL import Image, UnidentifiedImageError

from multigan.core.cli import Command, load_run_config, load_trained_generator, run_recipe
from multigan.core.errors import MultiganError
from multigan.core.runtime import resolve_device
from multigan.core.trainer import Trainer
from multigan.io.video import WRITE_EXTENSIONS, probe, read_video, write_video
from multigan.video.adapter import VideoAdapter, VideoConfig, frames_unit, to_uint8
from multigan.video.evaluate import evaluate_prediction

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
    skipped = adapter.skipped
    if skipped:
        print(f"{len(skipped)} video file(s) could not be decoded and were skipped:")
        for path, _ in skipped[:10]:
            print(f"  {path}")
        if len(skipped) > 10:
            print(f"  ... and {len(skipped) - 10} more")


def _load(run: str, device: str) -> tuple[VideoConfig, VideoAdapter, torch.nn.Module]:
    cfg = load_run_config(run, VideoConfig)
    adapter = VideoAdapter(cfg)
    G, _ = adapter.build_models()
    load_trained_generator(run, G)
    return cfg, adapter, G.to(resolve_device(device))


# ------------------------------------------------------------------------------------- generate


def add_generate_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run", required=True, help="a run directory written by train")
    seeds = p.add_mutually_exclusive_group(required=True)
    seeds.add_argument("--seed-frames", nargs="+", metavar="IMAGE", help="seed frames as image files, in order")
    seeds.add_argument("--seed-video", metavar="PATH", help="a video whose last frames are the seed")
    p.add_argument("--num-frames", type=int, default=10, help="frames to generate (default 10; any number)")
    p.add_argument("--samples", type=int, default=1, help="stochastic continuations to write (default 1)")
    p.add_argument("--out", default=None, help=".mp4, .webm or .gif (default RUN/samples/generated.mp4)")
    p.add_argument("--fps", type=float, default=10.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")


def load_image_frame(path: str, size: int, channels: int) -> torch.Tensor:
    """An image file -> (c, size, size) in [-1, 1]: resized so the short side fits, centre cut."""
    try:
        with Image.open(path) as im:
            im = im.convert("L" if channels == 1 else "RGB")
            scale = size / min(im.size)
            w, h = max(size, round(im.width * scale)), max(size, round(im.height * scale))
            im = im.resize((w, h), Image.Resampling.BICUBIC)
            left, top = (w - size) // 2, (h - size) // 2
            im = im.crop((left, top, left + size, top + size))
            arr = torch.frombuffer(bytearray(im.tobytes()), dtype=torch.uint8).view(size, size, channels)
    except UnidentifiedImageError:
        raise MultiganError(f"cannot read seed frame {path!r}: not an image Pillow can decode") from None
    except (OSError, ValueError) as err:
        raise MultiganError(f"cannot read seed frame {path!r}: {str(err).splitlines()[0]}") from None
    return frames_unit(arr[None])[0]


def seed_context(args: argparse.Namespace, cfg: VideoConfig, channels: int) -> torch.Tensor:
    """The K seed frames (1, K, c, s, s) in [-1, 1] at the model's resolution."""
    k, size = cfg.data.context, cfg.data.size
    if args.seed_frames:
        if len(args.seed_frames) < k:
            raise MultiganError(f"the model needs {k} seed frames (data.context), got {len(args.seed_frames)}")
        frames = torch.stack([load_image_frame(f, size, channels) for f in args.seed_frames[-k:]])
    else:
        stride = cfg.data.frame_stride
        info = probe(args.seed_video, max_pixels=cfg.data.max_pixels)
        need = (k - 1) * stride + 1
        if info.frames < need:
            raise MultiganError(
                f"the model needs {k} seed frames (data.context) at stride {stride}; {args.seed_video} has "
                f"{info.frames} frames"
            )
        video = read_video(
            args.seed_video,
            start=info.frames - need,
            stride=stride,
            size=(size, size),
            gray=channels == 1,
            max_pixels=cfg.data.max_pixels,
        )
        if video.shape[0] < k:
            raise MultiganError(f"the model needs {k} seed frames; {args.seed_video} decoded to {video.shape[0]}")
        frames = frames_unit(video[-k:])
    return frames[None]


def generate(args: argparse.Namespace) -> None:
    if args.num_frames < 1 or args.samples < 1:
        raise MultiganError("--num-frames and --samples must be at least 1")
    out = Path(args.out) if args.out else Path(args.run) / "samples" / "generated.mp4"
    if out.suffix.lower() not in WRITE_EXTENSIONS:
        raise MultiganError(f"--out must end in {', '.join(WRITE_EXTENSIONS)}, got {out.name!r}")
    cfg, adapter, G = _load(args.run, args.device)
    context = seed_context(args, cfg, adapter.channels)
    generated = adapter.continue_clips(G, context, args.num_frames, seed=args.seed, samples=args.samples)
    paths = [out] if args.samples == 1 else [out.with_name(f"{out.stem}_{i}{out.suffix}") for i in range(args.samples)]
    for path, continuation in zip(paths, generated):
        write_video(path, to_uint8(torch.cat([context[0], continuation[0]])), fps=args.fps)
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
    cfg, adapter, G = _load(args.run, args.device)
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
