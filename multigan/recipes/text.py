"""Text GAN recipe: SeqGAN with an LSTM or a transformers causal LM.

python -m multigan.recipes.text [train] [--config FILE.yaml] [key=value ...]
python -m multigan.recipes.text generate --run RUN_DIR --prompt TEXT --max-new-tokens N [--min-new-tokens M]
                                         [--temperature T] [--top-k K] [--top-p P] [--num-samples N] [--seed S]
python -m multigan.recipes.text evaluate --run RUN_DIR [--num-samples N] [--oracle-samples N] [--unit token|word|char]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from multigan.core.cli import Command, load_run_config, load_trained_generator, run_recipe
from multigan.core.errors import MultiganError, warn
from multigan.core.runtime import resolve_device, setup_runtime
from multigan.core.trainer import Trainer
from multigan.metrics import text as metrics
from multigan.text.adapter import TextAdapter, TextConfig
from multigan.text.generators import HFGenerator, SamplingConfig, TextGenerator

PROG = "python -m multigan.recipes.text"
CONFIG_CLASS = TextConfig
HF_DIR = "hf"


def export_hf(G: HFGenerator, adapter: TextAdapter, out: Path) -> None:
    """A directory that AutoModelForCausalLM / AutoTokenizer / pipeline("text-generation") load."""
    model = G.model
    for cfg in (model.config, model.generation_config):
        cfg.bos_token_id, cfg.eos_token_id, cfg.pad_token_id = G.bos_id, G.eos_id, adapter.pad_id
    model.save_pretrained(out)
    adapter.tokenizer.save(out)


def train(cfg: TextConfig) -> None:
    runtime = setup_runtime(cfg.device, cfg.train.precision, deterministic=cfg.train.deterministic)
    # Under torchrun rank 0 trains and saves the tokenizer first; the other ranks then load that one.
    with runtime.main_process_first():
        adapter = TextAdapter(cfg)
        if runtime.is_main:
            adapter.save_tokenizer()  # before training: a resumed run encodes its data the same way
    trainer = Trainer(adapter, cfg, runtime)
    result = trainer.fit()
    if result.interrupted:
        return
    where = f"Samples: {result.run_dir / 'samples'}; checkpoints: {result.run_dir / 'checkpoints'}"
    if isinstance(trainer.G, HFGenerator) and trainer.rt.is_main:
        export_hf(trainer.G, adapter, result.run_dir / HF_DIR)
        where += f"; transformers model: {result.run_dir / HF_DIR}"
    print(f"Trained to step {result.step} ({adapter.rows.shape[0]} training rows). {where}")
    if adapter.skipped:
        print(f"{len(adapter.skipped)} file(s) could not be read as UTF-8 and were skipped")


def _load(run: str, device: str, *, load_data: bool) -> tuple[TextConfig, TextAdapter, TextGenerator]:
    cfg = load_run_config(run, TextConfig)
    adapter = TextAdapter(cfg, run_dir=Path(run), load_data=load_data)
    G, _ = adapter.build_models()
    load_trained_generator(run, G)
    return cfg, adapter, G.to(resolve_device(device))


def add_generate_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run", required=True, help="a run directory written by train")
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


def _prompt_ids(adapter: TextAdapter, prompt: str) -> list[int]:
    if adapter.tokenizer is not None:
        return adapter.tokenizer.encode(prompt)
    try:
        ids = [int(t) for t in prompt.split()]
    except ValueError:
        raise MultiganError("--prompt: an oracle run takes token ids separated by spaces") from None
    if any(not 0 <= i < adapter.vocab_size for i in ids):
        raise MultiganError(f"--prompt: token ids must be in 0..{adapter.vocab_size - 1}")
    return ids


@torch.no_grad()
def check_generate_args(args: argparse.Namespace) -> None:
    if args.max_new_tokens < 1 or args.num_samples < 1:
        raise MultiganError("--max-new-tokens and --num-samples must be at least 1")
    if not 0 <= args.min_new_tokens <= args.max_new_tokens:
        raise MultiganError("--min-new-tokens must be between 0 and --max-new-tokens")
    SamplingConfig(args.temperature, args.top_k, args.top_p)  # a bad value is a one-line error


def generate_text(adapter: TextAdapter, G: TextGenerator, prompt: str, args: argparse.Namespace) -> list[str]:
    check_generate_args(args)
    sampling = SamplingConfig(args.temperature, args.top_k, args.top_p, adapter.cfg.seqgan.sampler)
    ids = _prompt_ids(adapter, prompt)
    if isinstance(G, HFGenerator):
        limit = getattr(G.model.config, "n_positions", None) or getattr(G.model.config, "max_position_embeddings", 0)
        if limit and 1 + len(ids) + args.max_new_tokens > limit:
            raise MultiganError(
                f"--max-new-tokens: the prompt ({len(ids)} tokens) + BOS + {args.max_new_tokens} new tokens "
                f"exceed the model's {limit} positions"
            )
    device = next(G.parameters()).device
    rng = torch.Generator(device).manual_seed(args.seed)
    prompt_ids = torch.tensor(ids, dtype=torch.long) if ids else None
    new = G.sample(
        args.num_samples,
        args.max_new_tokens,
        sampling=sampling,
        rng=rng,
        prompt=prompt_ids,
        min_tokens=args.min_new_tokens,
    ).cpu()
    out = []
    for row in new.tolist():
        if adapter.tokenizer is None:
            out.append(" ".join(str(t) for t in ids + row))
            continue
        whole = adapter.tokenizer.decode(ids + row)  # decoded together: no token split at the seam
        out.append(whole if whole.startswith(prompt) else prompt + adapter.tokenizer.decode(row))
    return out


def generate(args: argparse.Namespace) -> None:
    check_generate_args(args)
    _, adapter, G = _load(args.run, args.device, load_data=False)
    ended_at_once = 0
    for i, text in enumerate(generate_text(adapter, G, args.prompt, args)):
        if args.num_samples > 1:
            print(f"--- sample {i + 1}")
        print(text)
        ended_at_once += text == args.prompt
    if ended_at_once:
        warn(
            f"{ended_at_once} sample(s) ended at once (the model drew its end-of-text token first); "
            "--min-new-tokens N makes it write at least N tokens"
        )


def add_evaluate_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run", required=True, help="a run directory written by train")
    p.add_argument("--num-samples", type=int, default=1000, help="samples for BLEU, Self-BLEU, distinct-n")
    p.add_argument("--oracle-samples", type=int, default=10_000, help="samples for NLL-oracle (paper: 100000)")
    p.add_argument("--unit", default="token", choices=("token", "word", "char"), help="BLEU / distinct-n unit")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")


def _units(adapter: TextAdapter, rows: list[list[int]], unit: str) -> list[list]:
    if unit == "token" or adapter.tokenizer is None:
        return rows
    texts = [adapter.tokenizer.decode(r) for r in rows]
    return [t.split() if unit == "word" else list(t) for t in texts]


def _cut(G: TextGenerator, rows: torch.Tensor) -> list[list[int]]:
    """Token lists without EOS and its padding."""
    out = []
    for row in rows.tolist():
        if G.eos_id is not None and G.eos_id in row:
            row = row[: row.index(G.eos_id)]
        out.append(row)
    return out


@torch.no_grad()
def evaluate_run(
    adapter: TextAdapter, G: TextGenerator, *, num_samples: int, oracle_samples: int, unit: str, seed: int
):
    if num_samples < 2 or oracle_samples < 1:
        raise MultiganError("--num-samples must be at least 2 and --oracle-samples at least 1")
    report: dict[str, dict] = {}
    if adapter.oracle is not None:
        report["nll_oracle"] = {"value": adapter.nll_oracle(G, oracle_samples, seed=seed), "samples": oracle_samples}
    held = adapter.heldout_rows
    if held.shape[0]:
        name = "nll_test" if adapter.oracle is not None else "nll_heldout"
        report[name] = {"value": metrics.nll(G, held), "sequences": held.shape[0]}
    samples = _cut(G, adapter.sample(G, num_samples, seed=seed))
    hyps = _units(adapter, samples, unit)
    if adapter.tokenizer is not None:
        refs = _units(adapter, [adapter.tokenizer.encode(t) for t in adapter.heldout_texts], unit)
    else:
        refs = _cut(G, held)
    refs = [r for r in refs if r]
    if refs:
        for n, v in metrics.bleu(hyps, refs).items():
            report[f"bleu{n}"] = {"value": v, "samples": len(hyps), "references": len(refs)}
    for n, v in metrics.self_bleu(hyps).items():
        report[f"self_bleu{n}"] = {"value": v, "samples": len(hyps)}
    for n in (1, 2, 3, 4):
        report[f"distinct{n}"] = {"value": metrics.distinct_n(hyps, n), "samples": len(hyps)}
    return report


def evaluate(args: argparse.Namespace) -> None:
    if args.num_samples < 2 or args.oracle_samples < 1:
        raise MultiganError("--num-samples must be at least 2 and --oracle-samples at least 1")
    _, adapter, G = _load(args.run, args.device, load_data=True)
    report = evaluate_run(
        adapter, G, num_samples=args.num_samples, oracle_samples=args.oracle_samples, unit=args.unit, seed=args.seed
    )
    for name, entry in report.items():
        counts = " ".join(f"{k}={v}" for k, v in entry.items() if k != "value")
        print(f"{name}={entry['value']:.4f} ({counts})")
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
