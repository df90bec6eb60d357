"""The SeqGAN paper's synthetic benchmark (Yu et al. 2017, Table 1), and the rollout speed-up.

    python scripts/bench_text_oracle.py --scale mini    # about 20 minutes on 2 CPU cores
    python scripts/bench_text_oracle.py --scale paper   # the paper's schedule: meant for a GPU

One run of the text recipe's trainer on the oracle data (an LSTM oracle with N(0, 1) weights,
vocabulary 5,000, 10,000 training sequences of length 20) gives the three rows side by side:

- Random: the generator as initialised, before any training;
- MLE:    after the MLE pre-training phase;
- SeqGAN: after the adversarial phase (which starts from that MLE generator).

Each row is NLL-oracle (the oracle's mean NLL per token of the row's samples; lower is better)
and NLL-test (the row's own mean NLL per token of held-out oracle sequences: how well it covers
the data). Diagnostic rows score the MLE generator sampled at lower temperatures: sharpening the
distribution also lowers NLL-oracle, so an improvement from the adversarial phase should be read
next to them.

Then the generator-step time: one SeqGAN generator step (sample a batch, Monte Carlo rewards,
policy-gradient update) with the batched rollouts of multigan.text.rollout against the plain
per-prefix loop of the public implementations, same model, same sampler, same rewards in
expectation, timed side by side in this process.

Published (Yu et al. 2017, Table 1, NLL-oracle): Random 10.310, MLE 9.038, SeqGAN 8.736. The
paper's oracle is a specific set of saved weights (LantaoYu/SeqGAN save/target_params.pkl); ours
is drawn from N(0, 1) with `data.oracle_seed`, so absolute values differ; compare the gaps.

The results are printed and appended to docs/BENCHMARKS.md under "## Text".
"""

from __future__ import annotations

import argparse
import copy
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))  # machine.py, beside this script

from machine import cpu_model  # noqa: E402

from multigan.core.callbacks import Callback  # noqa: E402
from multigan.core.config import load_config  # noqa: E402
from multigan.core.errors import MultiganError  # noqa: E402
from multigan.core.logging import read_metrics  # noqa: E402
from multigan.core.trainer import Trainer  # noqa: E402
from multigan.metrics.text import nll  # noqa: E402
from multigan.text.adapter import TextAdapter  # noqa: E402
from multigan.text.config import TextConfig  # noqa: E402
from multigan.text.evaluate import training_callbacks  # noqa: E402
from multigan.text.generators import HFGenerator, SamplingConfig, TransformerSize, draw  # noqa: E402
from multigan.text.oracle import generator_samples, nll_oracle  # noqa: E402
from multigan.text.rollout import mc_rewards, mc_rewards_loop, policy_gradient_loss  # noqa: E402

PUBLISHED = {"Random": 10.310, "MLE": 9.038, "SeqGAN": 8.736}
PRESET = REPO / "recipes" / "text_oracle.yaml"
# mini: the paper's oracle, vocabulary, models, batch, learning rates and 16 rollouts; fewer epochs
# and steps, and D "epochs" capped at 20 batches (the paper's D work per adversarial step is
# 5 x 3 epochs of 157 batches: 2,355 D updates per generator update, hours on a CPU; here 60)
MINI = [
    "seqgan.mle_epochs=30",
    "seqgan.d_pretrain_rounds=10",
    "seqgan.d_pretrain_epochs=1",
    "seqgan.d_batches_per_epoch=20",
    "seqgan.d_steps=3",
    "seqgan.d_epochs=1",
    "train.steps=30",
    "seqgan.eval_every=5",
]


def machine() -> str:
    cpu = cpu_model()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    text = f"{cpu}, {cores} cores, torch threads {torch.get_num_threads()}"
    if torch.cuda.is_available():
        text += f", GPU {torch.cuda.get_device_name()}"
    return text


def versions() -> str:
    import tokenizers
    import transformers

    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    return (
        f"python {platform.python_version()}, torch {torch.__version__}, transformers {transformers.__version__}, "
        f"tokenizers {tokenizers.__version__}, multigan commit {commit}"
    )


def oracle_records(run_dir: Path) -> list[dict]:
    """The NLL-oracle records the run logged (multigan.text.adapter.OracleEvaluation)."""
    return [r for r in read_metrics(run_dir) if "nll_oracle" in r]


class KeepWeightsAfter(Callback):
    """Copies G's weights into `into` when the named phase ends."""

    def __init__(self, phase: str, into: dict) -> None:
        self.phase, self.into = phase, into

    def on_phase_end(self, trainer: Trainer, phase) -> None:
        if phase.name == self.phase:
            self.into.update(copy.deepcopy(trainer.G.state_dict()))


def last_of(records: list[dict], phase: str) -> dict | None:
    found = [r for r in records if r["phase"] == phase]
    return found[-1] if found else None


# ------------------------------------------------------------------------------------------ speed


def time_generator_steps(G, D, *, batch: int, seq_len: int, rollouts: int, sampler: str, repeats: int) -> dict:
    """Seconds per generator step: batched rollouts vs the per-prefix loop, interleaved, same G and D."""
    sampling = SamplingConfig(sampler=sampler)
    D = D.eval()
    score = lambda x: torch.sigmoid(D(x).float())  # noqa: E731
    no_d = lambda x: torch.zeros(x.shape[0], device=x.device)  # noqa: E731

    def step(rewards_fn, score_fn) -> float:
        model = copy.deepcopy(G).train()
        opt = torch.optim.Adam(model.parameters(), lr=0.0)  # the update's cost, not its effect
        sync = torch.cuda.synchronize if model.device.type == "cuda" else (lambda: None)
        sync()
        start = time.perf_counter()
        with torch.no_grad():
            samples = model.sample(batch, seq_len, sampling=sampling)
        rewards = rewards_fn(model, samples, score_fn, rollouts, sampling=sampling)
        loss, _ = policy_gradient_loss(model, samples, rewards)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sync()
        return time.perf_counter() - start

    step(mc_rewards, no_d)  # warm-up: first calls allocate and pick kernels
    out: dict[str, list[float]] = {"batched": [], "loop": [], "batched_no_d": [], "loop_no_d": []}
    for _ in range(repeats):
        out["batched"].append(step(mc_rewards, score))
        out["loop"].append(step(mc_rewards_loop, score))
        out["batched_no_d"].append(step(mc_rewards, no_d))
        out["loop_no_d"].append(step(mc_rewards_loop, no_d))
    return {k: sum(v) / len(v) for k, v in out.items()}


def time_samplers(vocab: int, rows: int, device: torch.device, repeats: int = 20) -> dict[str, float]:
    logits = torch.randn(rows, vocab, device=device) * 3
    rng = torch.Generator(device).manual_seed(0)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    out = {}
    for _ in range(2):  # the second round is the measurement (the first warms up)
        for name in ("multinomial", "gumbel", "icdf"):
            cfg = SamplingConfig(sampler=name)
            sync()
            start = time.perf_counter()
            for _ in range(repeats):
                draw(logits, cfg, rng)
            sync()
            out[name] = (time.perf_counter() - start) / repeats
    return out


# ------------------------------------------------------------------------------------------ report


def append_benchmarks(entry: str, path: Path) -> None:
    text = path.read_text(encoding="utf-8") if path.is_file() else "# Benchmarks\n"
    header = "## Text"
    if header not in text.splitlines():
        text = text.rstrip("\n") + f"\n\n{header}\n"
    lines = text.splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.rstrip("\n") == header)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    block = "".join(lines[:end]).rstrip("\n") + "\n\n" + entry.rstrip("\n") + "\n"
    rest = "".join(lines[end:])
    path.write_text(block + ("\n" + rest if rest else ""), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--scale", choices=("paper", "mini"), default="mini")
    p.add_argument("--out", default=None, help="run directory (default runs/bench_text_oracle_<scale>)")
    p.add_argument("--device", default="auto")
    p.add_argument("--eval-samples", type=int, default=10_000, help="samples per NLL-oracle (paper: 100000)")
    p.add_argument("--speed-repeats", type=int, default=1)
    p.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: torch's default)")
    p.add_argument("--no-append", action="store_true", help="print only; leave docs/BENCHMARKS.md alone")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="more config overrides")
    p.add_argument("--benchmarks-file", default=str(REPO / "docs" / "BENCHMARKS.md"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    out = Path(args.out or REPO / "runs" / f"bench_text_oracle_{args.scale}")
    overrides = [f"out_dir={out}", f"device={args.device}", f"seqgan.eval_samples={args.eval_samples}"]
    if args.scale == "mini":
        overrides = MINI + overrides
    overrides += args.set
    try:
        cfg = load_config(TextConfig, PRESET, overrides)
    except MultiganError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if (out / "checkpoints").exists():
        print(f"error: {out} already holds a run; pass --out with a new directory", file=sys.stderr)
        return 2
    command = "python scripts/bench_text_oracle.py " + " ".join(argv if argv is not None else sys.argv[1:])
    s = cfg.seqgan
    schedule = (
        f"MLE {s.mle_epochs} epochs; D pre-training {s.d_pretrain_rounds} rounds x {s.d_pretrain_epochs} epochs; "
        f"{cfg.train.steps} adversarial steps of {s.g_steps} g-step and {s.d_steps} d-steps x {s.d_epochs} epochs; "
        f"{s.rollouts} rollouts, rollout policy {s.rollout_policy}"
        + (f" ({s.lag_rate})" if s.rollout_policy == "lagged" else "")
        + f"; batch {cfg.train.batch_size}"
        + (f"; D epochs capped at {s.d_batches_per_epoch} batches" if s.d_batches_per_epoch else "")
    )
    print(f"{args.scale}: {schedule}", flush=True)

    adapter = TextAdapter(cfg)
    mle_state: dict = {}
    trainer = Trainer(adapter, cfg, callbacks=[*training_callbacks(adapter), KeepWeightsAfter("mle", mle_state)])
    n = args.eval_samples
    print(f"oracle data: {adapter.rows.shape[0]} training sequences, {adapter.heldout_rows.shape[0]} held out")
    rows: dict[str, dict] = {}
    rows["Random"] = {"nll_oracle": adapter.nll_oracle(trainer.G, n), "nll_test": nll(trainer.G, adapter.heldout_rows)}
    start = time.perf_counter()
    trainer.fit()
    train_seconds = time.perf_counter() - start
    records = oracle_records(out)
    mle, adv = last_of(records, "mle"), last_of(records, "adversarial")
    if mle is None or adv is None or not mle_state:
        print("error: the run did not record both the MLE and the adversarial phase", file=sys.stderr)
        return 1
    G = trainer.G.eval()
    rows["SeqGAN"] = {"nll_oracle": adv["nll_oracle"], "nll_test": nll(G, adapter.heldout_rows)}
    mle_G = copy.deepcopy(G)
    mle_G.load_state_dict(mle_state)
    rows["MLE"] = {"nll_oracle": mle["nll_oracle"], "nll_test": nll(mle_G, adapter.heldout_rows)}
    diagnostics = {}
    for temperature in (0.9, 0.8):
        samples = generator_samples(mle_G, n, cfg.data.seq_len, seed=0, sampling=SamplingConfig(temperature))
        diagnostics[f"MLE at temperature {temperature}"] = nll_oracle(adapter.oracle, samples)
    curve = [(r["phase"], r["phase_step"], r["nll_oracle"]) for r in records]

    print("timing a generator step: batched rollouts vs the per-prefix loop ...", flush=True)
    timing = dict(
        batch=cfg.train.batch_size,
        seq_len=cfg.data.seq_len,
        rollouts=s.rollouts,
        sampler=s.sampler,
        repeats=args.speed_repeats,
    )
    speeds = {"the trained LSTM generator": time_generator_steps(G, trainer.D, **timing)}
    # the recipe's default transformer generator (2 layers, 64 wide; untrained: the cost is the same)
    size = TransformerSize(n_layer=cfg.model.n_layer, n_head=cfg.model.n_head, n_embd=cfg.model.n_embd, n_positions=64)
    gpt = HFGenerator.from_config(cfg.data.oracle_vocab, size, bos_id=0, eos_id=None)  # token 0 doubles as BOS
    speeds[f"a GPT-2-style generator ({size.n_layer} layers x {size.n_embd}, KV cache)"] = time_generator_steps(
        gpt.to(trainer.rt.device), trainer.D, **timing
    )
    samplers = time_samplers(cfg.data.oracle_vocab, cfg.train.batch_size * s.rollouts, trainer.rt.device)

    table = [
        "| | NLL-oracle | published | NLL-test |",
        "|---|---|---|---|",
        *(
            f"| {name} | {rows[name]['nll_oracle']:.3f} | {PUBLISHED[name]:.3f} | {rows[name]['nll_test']:.3f} |"
            for name in ("Random", "MLE", "SeqGAN")
        ),
        *(f"| {name} (diagnostic) | {v:.3f} | | |" for name, v in diagnostics.items()),
    ]
    speed_lines = []
    for model_name, speed in speeds.items():
        ratio = speed["loop"] / speed["batched"]
        ratio_no_d = speed["loop_no_d"] / speed["batched_no_d"]
        speed_lines += [
            f"- generator step, {model_name} ({cfg.train.batch_size} sequences x {s.rollouts} rollouts, length "
            f"{cfg.data.seq_len}, sampler {s.sampler}, mean of {args.speed_repeats}): batched "
            f"{speed['batched']:.2f} s, per-prefix loop {speed['loop']:.2f} s: **{ratio:.2f}x**; without D's "
            f"scoring (rollouts and the "
            f"update only): batched {speed['batched_no_d']:.2f} s, loop {speed['loop_no_d']:.2f} s: {ratio_no_d:.2f}x",
        ]
    speed_lines.append(
        f"- one draw from [{cfg.train.batch_size * s.rollouts}, {cfg.data.oracle_vocab}] logits: "
        + ", ".join(f"{k} {v * 1e3:.2f} ms" for k, v in samplers.items())
        + f" (multinomial / icdf: {samplers['multinomial'] / samplers['icdf']:.1f}x)"
    )
    curve_line = "- NLL-oracle during the run (phase, phase step, value): " + ", ".join(
        f"{ph} {st}: {v:.3f}" for ph, st, v in curve
    )
    entry = "\n".join(
        [
            f"### SeqGAN synthetic oracle, {args.scale} scale ({time.strftime('%Y-%m-%d')})",
            "",
            f"- command: `{command.strip()}`",
            f"- machine: {machine()}",
            f"- versions: {versions()}",
            f"- schedule: {schedule}; training took {train_seconds / 60:.1f} min",
            f"- NLL-oracle over {n} samples per row; NLL-test over {adapter.heldout_rows.shape[0]} held-out "
            "oracle sequences; published: Yu et al. 2017, Table 1 (their oracle's saved weights; ours is "
            f"N(0, 1) with seed {cfg.data.oracle_seed}, so compare the gaps, not the values)",
            "",
            *table,
            "",
            curve_line,
            *speed_lines,
        ]
    )
    print()
    print(entry)
    if not args.no_append:
        append_benchmarks(entry, Path(args.benchmarks_file))
        print(f"\nappended to {args.benchmarks_file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
