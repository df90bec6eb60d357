"""Text GAN recipe: SeqGAN with an LSTM or a transformers causal LM.

python -m multigan.recipes.text [train] [--config FILE.yaml] [key=value ...]
python -m multigan.recipes.text generate --run RUN_DIR --prompt TEXT --max-new-tokens N [--min-new-tokens M]
                                         [--temperature T] [--top-k K] [--top-p P] [--num-samples N] [--seed S]
python -m multigan.recipes.text evaluate --run RUN_DIR [--num-samples N] [--oracle-samples N] [--unit token|word|char]
                                         [--temperatures 0.7,0.8,0.9,1.0,1.1]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from multigan.core.cli import Command, add_checkpoint_argument, run_recipe
from multigan.core.errors import MultiganError, warn
from multigan.core.export import load_folder_config, load_generator
from multigan.core.runtime import resolve_device, setup_runtime
from multigan.core.trainer import Trainer
from multigan.text.adapter import TextAdapter
from multigan.text.config import TextConfig
from multigan.text.evaluate import (
    evaluate_run,
    format_curves,
    parse_temperatures,
    quick_metric,
    temperature_curves,
    training_callbacks,
)
from multigan.text.generators import HFGenerator
from multigan.text.pipeline import HF_DIR, TextPipeline, check_generate_options, export_hf

PROG = "python -m multigan.recipes.text"
CONFIG_CLASS = TextConfig


def train(cfg: TextConfig) -> None:
    runtime = setup_runtime(cfg.device, cfg.train.precision, deterministic=cfg.train.deterministic)
    # Under torchrun rank 0 trains and saves the tokenizer first; the other ranks then load that one.
    with runtime.main_process_first():
        adapter = TextAdapter(cfg)
        if runtime.is_main:
            adapter.save_tokenizer()  # before training: a resumed run encodes its data the same way
    trainer = Trainer(adapter, cfg, runtime, callbacks=training_callbacks(adapter), quick_metric=quick_metric(adapter))
    result = trainer.fit()
    if result.interrupted:
        return
    where = f"Samples: {result.run_dir / 'samples'}; checkpoints: {result.run_dir / 'checkpoints'}"
    if isinstance(trainer.G, HFGenerator) and trainer.rt.is_main:  # transformers loads this folder
        export_hf(trainer.G, adapter, result.run_dir / HF_DIR)
        where += f"; transformers model: {result.run_dir / HF_DIR}"
    print(f"Trained to step {result.step} ({adapter.rows.shape[0]} training rows). {where}")
    if adapter.skipped:
        print(f"{len(adapter.skipped)} file(s) could not be read as UTF-8 and were skipped")


def add_generate_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run", required=True, help="a run directory written by train")
    add_checkpoint_argument(p)
    p.add_argument("--prompt", default="", help="text to continue (oracle runs: token ids separated by spaces)")
    p.add_argument(
        "--max-new-tokens",
        type=int,
        default=32,
        help="at most this many tokens after the prompt (default 32); a sample ends early where the model "
        "draws its end-of-text token, so it can be shorter",
    )
    p.add_argument(
        "--min-new-tokens",
        type=int,
        default=0,
        help="the end-of-text token is not drawn before this many new tokens (default 0)",
    )
    p.add_argument("--temperature", type=float, default=1.0, help="0: greedy")
    p.add_argument("--top-k", type=int, default=0, help="0: off")
    p.add_argument("--top-p", type=float, default=1.0, help="1: off")
    p.add_argument("--num-samples", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")


def generate(args: argparse.Namespace) -> None:
    options = (args.max_new_tokens, args.num_samples, args.min_new_tokens, args.temperature, args.top_k, args.top_p)
    check_generate_options(*options)  # before loading anything
    model = TextPipeline.from_folder(args.run, args.device, args.checkpoint)
    texts = model.generate(
        args.prompt,
        args.max_new_tokens,
        args.num_samples,
        args.seed,
        temperature=args.temperature,
        top_k=args.top_k,
        top_p=args.top_p,
        min_new_tokens=args.min_new_tokens,
    )
    empty = 0
    for i, text in enumerate(texts):
        if args.num_samples > 1:
            print(f"--- sample {i + 1}")
        print(text)
        empty += text == args.prompt
    if empty:
        warn(
            f"{empty} sample(s) added nothing to the prompt (the model ended the text at once); "
            "--min-new-tokens N holds the end-of-text token back for N tokens"
        )


def add_evaluate_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run", required=True, help="a run directory written by train")
    add_checkpoint_argument(p)
    p.add_argument("--num-samples", type=int, default=1000, help="samples for BLEU, Self-BLEU, distinct-n")
    p.add_argument("--oracle-samples", type=int, default=10_000, help="samples for NLL-oracle (paper: 100000)")
    p.add_argument("--unit", default="token", choices=("token", "word", "char"), help="BLEU / distinct-n unit")
    p.add_argument(
        "--temperatures",
        default=None,
        metavar="T1,T2,...",
        help="also the quality-diversity curve of G and of the run's MLE checkpoint at these sampling "
        "temperatures (oracle runs: NLL-oracle against NLL-test; text: BLEU-4 against Self-BLEU-4)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")


def evaluate(args: argparse.Namespace) -> None:
    if args.num_samples < 2 or args.oracle_samples < 1:
        raise MultiganError("--num-samples must be at least 2 and --oracle-samples at least 1")
    temperatures = None if args.temperatures is None else parse_temperatures(args.temperatures)
    cfg = load_folder_config(args.run, TextConfig)
    adapter = TextAdapter(cfg, run_dir=Path(args.run), load_data=True)
    G = adapter.build_generator()
    used = load_generator(args.run, G, args.checkpoint)
    G = G.to(resolve_device(args.device))
    counted = dict(num_samples=args.num_samples, oracle_samples=args.oracle_samples, seed=args.seed)
    report: dict = evaluate_run(adapter, G, **counted, unit=args.unit)
    for name, entry in report.items():
        counts = " ".join(f"{k}={v}" for k, v in entry.items() if k != "value")
        print(f"{name}={entry['value']:.4f} ({counts})")
    if temperatures is not None:
        checkpoint = used.name if used.is_dir() else "export"
        curves, note = temperature_curves(
            adapter, Path(args.run), G, checkpoint, temperatures, **counted, unit=args.unit
        )
        if note:
            print(note)
        print("\n".join(format_curves(curves)))
        report["temperature_curves"] = curves
    (Path(args.run) / "evaluation.json").write_text(json.dumps({"unit": args.unit, **report}, indent=2) + "\n")


COMMANDS = {
    "generate": Command("Continue a prompt with a trained run's generator.", add_generate_args, generate),
    "evaluate": Command(
        "NLL-oracle (oracle runs), held-out NLL, BLEU, Self-BLEU and distinct-n of a trained run.",
        add_evaluate_args,
        evaluate,
    ),
}


def main(argv: list[str] | None = None) -> int:
    return run_recipe(argv, prog=PROG, config_cls=CONFIG_CLASS, train=train, commands=COMMANDS)


if __name__ == "__main__":
    sys.exit(main())
