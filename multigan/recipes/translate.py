"""Image-to-image translation recipe: paired (pix2pix), unpaired (CycleGAN, CUT) and reference-guided style.

python -m multigan.recipes.translate [train] [--config FILE.yaml] [key=value ...]
python -m multigan.recipes.translate generate --run RUN_DIR --input FILE_OR_FOLDER [--direction a2b|b2a]
                                             [--style REF] [--blend A [A ...]] [--out OUT]
python -m multigan.recipes.translate evaluate --run RUN_DIR
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from tqdm.auto import tqdm

from multigan.core.cli import Command, add_checkpoint_argument, run_recipe
from multigan.core.errors import MultiganError, warn_skipped
from multigan.core.trainer import Trainer
from multigan.io.image import ImageDecodeError, list_images, read_image, read_image_scaled
from multigan.translate.adapter import TranslateAdapter
from multigan.translate.config import TranslateConfig
from multigan.translate.data import load_domains
from multigan.translate.evaluate import NO_FID, TranslationReport, evaluate_translation, quick_metric
from multigan.translate.pipeline import DIRECTIONS, TranslatePipeline, save_rows

PROG = "python -m multigan.recipes.translate"
CONFIG_CLASS = TranslateConfig


def train(cfg: TranslateConfig) -> None:
    adapter = TranslateAdapter(cfg)
    trainer = Trainer(adapter, cfg, quick_metric=quick_metric(adapter))
    result = trainer.fit()
    if result.interrupted or not trainer.rt.is_main:
        return
    print(
        f"Trained to step {result.step}. Samples: {result.run_dir / 'samples'}; checkpoints: "
        f"{result.run_dir / 'checkpoints'}"
    )
    model = TranslatePipeline.from_folder(result.run_dir, str(trainer.rt.device))
    report = evaluate_translation(model, adapter.domains, seed=cfg.seed)
    _print(report)
    report.save(result.run_dir / "evaluation.json")
    if adapter.domains.skipped:
        print(f"{adapter.domains.skipped} image file(s) were skipped (unreadable, or without a partner)")


# ------------------------------------------------------------------------------------- generate


def add_generate_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run", required=True, help="a run directory written by train, or an exported folder")
    add_checkpoint_argument(p)
    p.add_argument("--input", required=True, help="an image file, or a folder of them")
    p.add_argument("--direction", choices=DIRECTIONS, default="a2b")
    p.add_argument("--style", default=None, help="a reference image whose style the output takes (mode=reference)")
    p.add_argument(
        "--blend", type=float, nargs="+", default=None, metavar="ALPHA",
        help="mix the reconstruction (0) with the translation (1) in feature space; several alphas make a strip",
    )  # fmt: skip
    p.add_argument("--size", type=int, default=None, help="short side the input is scaled to (default: the run's)")
    p.add_argument("--out", default=None, help="output PNG for a file, folder for a folder (default RUN/samples/)")
    p.add_argument("--device", default="auto")


def _translate_file(
    model: TranslatePipeline, args: argparse.Namespace, path: Path, size: int, style: torch.Tensor | None
) -> torch.Tensor:
    """The PNG content for one input: the translation, or the source followed by the blend strip."""
    image = read_image_scaled(path, size, multiple=4).permute(2, 0, 1).unsqueeze(0)
    if args.blend is not None and len(args.blend) > 1:
        strip = model.translate(image, args.direction, style=style, blend=args.blend)[0]
        return torch.cat([image, strip])
    blend = args.blend[0] if args.blend else None
    return model.translate(image, args.direction, style=style, blend=blend)


def generate(args: argparse.Namespace) -> None:
    model = TranslatePipeline.from_folder(args.run, args.device, args.checkpoint)
    size = args.size or model.cfg.data.size
    if size < 8:
        raise MultiganError(f"--size must be at least 8, got {size}")
    style = None
    if args.style is not None:
        if not Path(args.style).is_file():
            raise MultiganError(f"--style: {args.style} is not a file")
        style = read_image(args.style, model.cfg.data.size, 3, what="--style image").permute(2, 0, 1).unsqueeze(0)
    source = Path(args.input)
    samples = Path(args.run) / "samples"
    if source.is_file():
        out = Path(args.out) if args.out else samples / "translated.png"
        out.parent.mkdir(parents=True, exist_ok=True)
        save_rows([_translate_file(model, args, source, size, style)], out)
        print(f"wrote {out}")
        return
    if not source.is_dir():
        raise MultiganError(f"--input: {source} does not exist")
    files = list_images(source)
    if not files:
        raise MultiganError(f"--input: no images under {source}")
    out_dir = Path(args.out) if args.out else samples / "translated"
    skipped: list[tuple[str, str]] = []
    written = 0
    for path in tqdm(files, desc="translating", unit="img", disable=None):
        try:
            rows = _translate_file(model, args, path, size, style)
        except ImageDecodeError as err:
            skipped.append((str(path), err.args[1]))
            continue
        target = (out_dir / path.relative_to(source)).with_suffix(".png")
        target.parent.mkdir(parents=True, exist_ok=True)
        save_rows([rows], target)
        written += 1
    warn_skipped(skipped, "images")
    print(f"wrote {written} image(s) to {out_dir}" + (f"; {len(skipped)} could not be read" if skipped else ""))


# ------------------------------------------------------------------------------------- evaluate


def add_evaluate_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run", required=True, help="a run directory written by train")
    add_checkpoint_argument(p)
    p.add_argument("--inception", action="store_true", help="also Inception FID (needs the 'metrics' extra)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")


def evaluate(args: argparse.Namespace) -> None:
    model = TranslatePipeline.from_folder(args.run, args.device, args.checkpoint)
    report = evaluate_translation(model, load_domains(model.cfg.data), seed=args.seed, inception=args.inception)
    _print(report)
    report.save(Path(args.run) / "evaluation.json")


def _print(report: TranslationReport) -> None:
    for line in report.lines():
        print(line)
    if report.protocol["fid_features"] == NO_FID:
        print(f"FID: {NO_FID}")


COMMANDS = {
    "generate": Command("Translate an image or a folder of images with a trained run.", add_generate_args, generate),
    "evaluate": Command("Labels kept, SSIM/PSNR, FID and style error of a trained run.", add_evaluate_args, evaluate),
}


def main(argv: list[str] | None = None) -> int:
    return run_recipe(argv, prog=PROG, config_cls=CONFIG_CLASS, train=train, commands=COMMANDS)


if __name__ == "__main__":
    sys.exit(main())
