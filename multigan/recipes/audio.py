"""Audio GAN recipe: spectrogram (SpecGAN / GANSynth lineage) and waveform (WaveGAN) generators.

python -m multigan.recipes.audio [train] [--config FILE.yaml] [key=value ...]
python -m multigan.recipes.audio generate --run RUN_DIR [--num 8] [--label 60] [--out notes/]
python -m multigan.recipes.audio evaluate --run RUN_DIR
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from multigan.audio.adapter import AudioAdapter, write_sounds
from multigan.audio.config import AudioConfig
from multigan.audio.evaluate import AudioEvaluation, evaluate_generator, evaluation_sets, quick_metric
from multigan.audio.pipeline import AudioPipeline
from multigan.core.cli import Command, add_checkpoint_argument, run_recipe
from multigan.core.errors import MultiganError
from multigan.core.trainer import Trainer

PROG = "python -m multigan.recipes.audio"
CONFIG_CLASS = AudioConfig


def train(cfg: AudioConfig) -> None:
    adapter = AudioAdapter(cfg)
    trainer = Trainer(adapter, cfg, quick_metric=quick_metric(adapter))
    result = trainer.fit()
    if result.interrupted or not trainer.rt.is_main:
        return
    samples = result.run_dir / "samples" / f"step_{result.step:08d}"
    print(f"Trained to step {result.step}. Samples: {samples} (wav) and {samples}.png; checkpoints: "
          f"{result.run_dir / 'checkpoints'}")  # fmt: skip
    model = AudioPipeline.from_folder(result.run_dir, str(trainer.rt.device))
    fitted, reference, name = evaluation_sets(cfg.data, adapter.data)
    _report(evaluate_generator(model, fitted, reference, reference_name=name, seed=cfg.seed), result.run_dir)
    if adapter.data.skipped:
        print(f"{adapter.data.skipped} audio file(s) could not be decoded and were skipped")


def _report(report: AudioEvaluation, run_dir: Path) -> None:
    for line in report.lines():
        print(line)
    report.save(run_dir / "evaluation.json")


def add_generate_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run", required=True, help="a run directory written by train, or an exported folder")
    add_checkpoint_argument(p)
    p.add_argument("--num", type=int, default=8, help="number of clips (default 8)")
    p.add_argument("--label", default=None, help="a label of the run (the embedded notes: a MIDI pitch, 60..84)")
    p.add_argument("--out", default=None, help="output folder for the wav files (default RUN/samples/generated)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")


def generate(args: argparse.Namespace) -> None:
    if args.num < 1:
        raise MultiganError("--num must be at least 1")
    model = AudioPipeline.from_folder(args.run, args.device, args.checkpoint)
    labels = model.labels(args.num, args.label)
    waveforms = model.sample_indices(labels, args.num, seed=args.seed)
    names = model.label_names(labels, args.num)
    out = Path(args.out) if args.out else Path(args.run) / "samples" / "generated"
    paths = write_sounds((waveforms, names), out, model.cfg)
    print(f"wrote {len(paths)} wav file(s) ({model.sample_rate} Hz) to {out}/ and their spectrograms to {out}.png")


def add_evaluate_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run", required=True, help="a run directory written by train")
    add_checkpoint_argument(p)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")


def evaluate(args: argparse.Namespace) -> None:
    model = AudioPipeline.from_folder(args.run, args.device, args.checkpoint)
    fitted, reference, name = evaluation_sets(model.cfg.data)
    _report(evaluate_generator(model, fitted, reference, reference_name=name, seed=args.seed), Path(args.run))


COMMANDS = {
    "generate": Command("Write wav files (and a PNG of their spectrograms) from a trained run.", add_generate_args,
                        generate),
    "evaluate": Command("Label accuracy, Inception score, Fréchet distance, NDB, silence and clipping.",
                        add_evaluate_args, evaluate),
}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    return run_recipe(argv, prog=PROG, config_cls=CONFIG_CLASS, train=train, commands=COMMANDS)


if __name__ == "__main__":
    sys.exit(main())
