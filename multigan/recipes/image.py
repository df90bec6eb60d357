"""Image GAN recipe.

python -m multigan.recipes.image [train] [--config FILE.yaml] [key=value ...]
python -m multigan.recipes.image generate --run RUN_DIR [--num N] [--out grid.png] [--class K] [--interpolate]
python -m multigan.recipes.image evaluate --run RUN_DIR [--num N]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from multigan.core.cli import Command, add_checkpoint_argument, run_recipe
from multigan.core.errors import MultiganError
from multigan.core.trainer import Trainer
from multigan.image.adapter import ImageAdapter, save_image_grid
from multigan.image.config import ImageConfig
from multigan.image.data import load_images
from multigan.image.evaluate import NO_MEANINGFUL_FID, evaluate_generator, quick_metric, use_inception
from multigan.image.pipeline import ImagePipeline

PROG = "python -m multigan.recipes.image"
CONFIG_CLASS = ImageConfig


def train(cfg: ImageConfig) -> None:
    adapter = ImageAdapter(cfg)
    result = Trainer(adapter, cfg, quick_metric=quick_metric(adapter)).fit()
    if result.interrupted:
        return
    print(
        f"Trained to step {result.step}. Samples: {result.run_dir / 'samples'}; checkpoints: "
        f"{result.run_dir / 'checkpoints'}"
    )
    if adapter.data.skipped:
        print(f"{adapter.data.skipped} image file(s) could not be decoded and were skipped")


def add_generate_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run", required=True, help="a run directory written by train, or an exported folder")
    add_checkpoint_argument(p)
    p.add_argument("--num", type=int, default=64, help="number of images (default 64)")
    p.add_argument("--out", default=None, help="output PNG (default RUN/samples/generated.png)")
    p.add_argument("--class", dest="class_index", type=int, default=None, help="class index (conditional runs)")
    p.add_argument("--interpolate", action="store_true", help="a strip blending two latents instead of a grid")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")


def generate(args: argparse.Namespace) -> None:
    if args.num < 1:
        raise MultiganError("--num must be at least 1")
    model = ImagePipeline.from_folder(args.run, args.device, args.checkpoint)
    if args.interpolate:
        images = model.interpolate(args.num, seed=args.seed, label=args.class_index)
        nrow = args.num
    else:
        images = model.sample(args.num, seed=args.seed, label=args.class_index)
        nrow = None
    out = Path(args.out) if args.out else Path(args.run) / "samples" / "generated.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    save_image_grid(images, out, nrow=nrow)
    print(f"wrote {images.shape[0]} image(s) to {out}")


def add_evaluate_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run", required=True, help="a run directory written by train")
    add_checkpoint_argument(p)
    p.add_argument("--num", type=int, default=2000, help="generated images to score (default 2000)")
    p.add_argument(
        "--inception",
        action="store_true",
        help="also the standard Inception FID/KID (the 'metrics' extra; the default on images other than the digits)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")


def evaluate(args: argparse.Namespace) -> None:
    if args.num < 2:
        raise MultiganError("--num must be at least 2")
    model = ImagePipeline.from_folder(args.run, args.device, args.checkpoint)
    inception = use_inception(model, args.inception)
    if inception is None:
        print(NO_MEANINGFUL_FID)  # not an error: there is just nothing honest to print
        return
    real = load_images(model.cfg.data).images
    report = evaluate_generator(model, real, num_fake=args.num, seed=args.seed, inception=inception)
    for line in report.lines():
        print(line)
    report.save(Path(args.run) / "evaluation.json")


COMMANDS = {
    "generate": Command("Write a grid (or an interpolation strip) from a trained run.", add_generate_args, generate),
    "evaluate": Command("FID, KID and class coverage of a trained run.", add_evaluate_args, evaluate),
}


def main(argv: list[str] | None = None) -> int:
    return run_recipe(argv, prog=PROG, config_cls=CONFIG_CLASS, train=train, commands=COMMANDS)


if __name__ == "__main__":
    sys.exit(main())
