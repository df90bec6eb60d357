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
the data).

Then both generators along the temperature curve (Caccia et al. 2020, "Language GANs falling
short"): sampled at each temperature T of `--temperatures`, NLL-oracle (quality) against NLL-test at
T (coverage: the NLL of held-out oracle data under log_softmax(logits / T)). Sharpening the MLE
model (T < 1) also lowers NLL-oracle, at a cost in NLL-test; the adversarial phase is a gain only
where SeqGAN's point lies below MLE's curve at the same NLL-test. The script compares them there
(MLE's curve interpolated linearly between neighbouring temperatures, at SeqGAN's NLL-test values),
writes the table, and draws the plot `--plot` (assets/text_temperature_curve.png) with Pillow.

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
import json
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

from machine import cpu_model, load_average  # noqa: E402
from PIL import Image, ImageDraw, ImageFont  # noqa: E402

from multigan.core.callbacks import Callback  # noqa: E402
from multigan.core.config import load_config  # noqa: E402
from multigan.core.errors import MultiganError  # noqa: E402
from multigan.core.logging import read_metrics  # noqa: E402
from multigan.core.trainer import Trainer  # noqa: E402
from multigan.metrics.text import nll  # noqa: E402
from multigan.text.adapter import TextAdapter  # noqa: E402
from multigan.text.config import TextConfig  # noqa: E402
from multigan.text.evaluate import parse_temperatures, temperature_curve, training_callbacks  # noqa: E402
from multigan.text.generators import HFGenerator, SamplingConfig, TransformerSize, draw  # noqa: E402
from multigan.text.rollout import mc_rewards, mc_rewards_loop, policy_gradient_loss  # noqa: E402

PUBLISHED = {"Random": 10.310, "MLE": 9.038, "SeqGAN": 8.736}
PRESET = REPO / "recipes" / "text_oracle.yaml"
PLOT = REPO / "assets" / "text_temperature_curve.png"
TEMPERATURES = "0.6,0.7,0.8,0.9,1.0,1.1,1.2"
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


# ------------------------------------------------------------------------------------------ curves


def at_equal_nll_test(curve: list[dict], nll_test: float) -> float | None:
    """The lowest NLL-oracle that `curve` (points with temperature, nll_oracle, nll_test) reaches at
    this NLL-test, linear between neighbouring temperatures; None where no segment spans it.

    NLL-test is lowest near T = 1 and rises on both sides, so a value can lie on two segments
    (T < 1, sharper; T > 1, flatter): the lower NLL-oracle, the better of the two, is the one to beat."""
    points = sorted(curve, key=lambda p: p["temperature"])
    best = None
    for a, b in zip(points, points[1:] if len(points) > 1 else points):
        (xa, ya), (xb, yb) = (a["nll_test"], a["nll_oracle"]), (b["nll_test"], b["nll_oracle"])
        if min(xa, xb) <= nll_test <= max(xa, xb):
            y = ya if xa == xb else ya + (yb - ya) * (nll_test - xa) / (xb - xa)
            best = y if best is None else min(best, y)
    return best


def _ticks(lo: float, hi: float, count: int = 6) -> list[float]:
    raw = (hi - lo) / count
    step = next(m * 10**e for e in range(-3, 4) for m in (1, 2, 2.5, 5) if m * 10**e >= raw)
    first = -(-lo // step) * step
    return [round(first + i * step, 6) for i in range(int((hi - first) / step) + 1)]


COLOURS = [(31, 119, 180), (214, 39, 40), (44, 160, 44), (148, 103, 189)]


def draw_curves(curves: dict[str, list[dict]], path: Path, title: str, size: tuple[int, int] = (900, 620)) -> None:
    """A PNG of NLL-oracle (y) against NLL-test (x), one line per model through its temperatures in
    order, each point labelled with its T. Lower left is better on both axes."""
    width, height = size
    left, right, top, bottom = 90, 30, 60, 80
    font, small = ImageFont.load_default(size=15), ImageFont.load_default(size=12)
    xs = [p["nll_test"] for c in curves.values() for p in c]
    ys = [p["nll_oracle"] for c in curves.values() for p in c]
    pad_x, pad_y = max(1e-3, 0.08 * (max(xs) - min(xs))), max(1e-3, 0.08 * (max(ys) - min(ys)))
    x0, x1, y0, y1 = min(xs) - pad_x, max(xs) + pad_x, min(ys) - pad_y, max(ys) + pad_y

    def at(x: float, y: float) -> tuple[float, float]:
        return (
            left + (x - x0) / (x1 - x0) * (width - left - right),
            height - bottom - (y - y0) / (y1 - y0) * (height - top - bottom),
        )

    image = Image.new("RGB", size, "white")
    d = ImageDraw.Draw(image)
    box = (left, top, width - right, height - bottom)
    for x in _ticks(x0, x1):
        px = at(x, y0)[0]
        d.line([(px, top), (px, height - bottom)], fill=(230, 230, 230))
        d.text((px, height - bottom + 6), f"{x:g}", fill="black", font=small, anchor="mt")
    for y in _ticks(y0, y1):
        py = at(x0, y)[1]
        d.line([(left, py), (width - right, py)], fill=(230, 230, 230))
        d.text((left - 6, py), f"{y:g}", fill="black", font=small, anchor="rm")
    d.rectangle(box, outline="black")
    d.text((width / 2, 20), title, fill="black", font=font, anchor="mm")
    d.text(
        ((left + width - right) / 2, height - 28),
        "NLL-test at T: the model's NLL of held-out oracle data (coverage; lower is better)",
        fill="black",
        font=font,
        anchor="mm",
    )
    label = "NLL-oracle of samples drawn at T (quality; lower is better)"
    text_box = d.textbbox((0, 0), label, font=font)
    strip = Image.new("RGB", (text_box[2] + 4, text_box[3] + 4), "white")
    ImageDraw.Draw(strip).text((2, 2), label, fill="black", font=font)
    strip = strip.rotate(90, expand=True)
    image.paste(strip, (12, int((top + height - bottom - strip.height) / 2)))
    for i, (name, curve) in enumerate(curves.items()):
        colour = COLOURS[i % len(COLOURS)]
        points = sorted(curve, key=lambda p: p["temperature"])
        xy = [at(p["nll_test"], p["nll_oracle"]) for p in points]
        if len(xy) > 1:
            d.line(xy, fill=colour, width=2, joint="curve")
        for (px, py), p in zip(xy, points):
            r = 5 if p["temperature"] == 1.0 else 3.5
            d.ellipse([px - r, py - r, px + r, py + r], fill=colour)
            d.text((px + 7, py - 7 + 14 * i), f"{p['temperature']:g}", fill=colour, font=small, anchor="lm")
        ly = top + 16 + 22 * i
        d.line([(width - right - 150, ly), (width - right - 120, ly)], fill=colour, width=3)
        d.text((width - right - 112, ly), name, fill=colour, font=font, anchor="lm")
    d.text((left + 8, top + 10), "labels: sampling temperature T; big dot: T = 1", fill=(90, 90, 90), font=small)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, optimize=True)


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


def curve_report(curves: dict[str, list[dict]]) -> tuple[list[str], list[str]]:
    """The curves as a markdown table (one row per T), and the comparison at equal NLL-test: MLE's
    NLL-oracle interpolated at SeqGAN's NLL-test of each T, and SeqGAN's lead over it."""
    mle, seqgan = curves["MLE"], curves["SeqGAN"]
    table = [
        "| T | MLE NLL-oracle | MLE NLL-test | SeqGAN NLL-oracle | SeqGAN NLL-test "
        "| MLE NLL-oracle at SeqGAN's NLL-test | SeqGAN - MLE there |",
        "|---|---|---|---|---|---|---|",
    ]
    wins, compared = 0, 0
    for a, b in zip(mle, seqgan):
        ref = at_equal_nll_test(mle, b["nll_test"])
        if ref is None:
            there = "outside MLE's curve", ""
        else:
            there = f"{ref:.3f}", f"{b['nll_oracle'] - ref:+.3f}"
            compared += 1
            wins += b["nll_oracle"] < ref
        table.append(
            f"| {a['temperature']:g} | {a['nll_oracle']:.3f} | {a['nll_test']:.3f} | {b['nll_oracle']:.3f} "
            f"| {b['nll_test']:.3f} | {there[0]} | {there[1]} |"
        )
    lowest = min(p["nll_test"] for p in mle)
    comparison = [
        f"- at equal NLL-test, SeqGAN's NLL-oracle is below MLE's curve at {wins} of the {compared} temperatures "
        f"where MLE's curve reaches SeqGAN's NLL-test ({len(seqgan) - compared} outside it; MLE's lowest "
        f"NLL-test on this grid: {lowest:.3f}); negative = SeqGAN better",
    ]
    return table, comparison


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--scale", choices=("paper", "mini"), default="mini")
    p.add_argument("--out", default=None, help="run directory (default runs/bench_text_oracle_<scale>)")
    p.add_argument("--device", default="auto")
    p.add_argument("--eval-samples", type=int, default=10_000, help="samples per NLL-oracle (paper: 100000)")
    p.add_argument("--speed-repeats", type=int, default=1)
    p.add_argument("--skip-speed", action="store_true", help="leave out the generator-step timing")
    p.add_argument("--json", default=None, help="also write the rows and both curves to this JSON file")
    p.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: torch's default)")
    p.add_argument("--temperatures", default=TEMPERATURES, help=f"the temperature curve's T (default {TEMPERATURES})")
    p.add_argument("--plot", default=str(PLOT), help="the curve plot (PNG) to write")
    p.add_argument("--no-append", action="store_true", help="print only; leave docs/BENCHMARKS.md and the plot alone")
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
        temperatures = parse_temperatures(args.temperatures)
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

    wall_start, load_start = time.perf_counter(), load_average()
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
    curve = [(r["phase"], r["phase_step"], r["nll_oracle"]) for r in records]
    print(f"temperature curves at T = {', '.join(f'{t:g}' for t in temperatures)} ...", flush=True)
    curves = {
        name: temperature_curve(adapter, model, temperatures, num_samples=n, oracle_samples=n, seed=0)
        for name, model in (("MLE", mle_G), ("SeqGAN", G))
    }
    load_after_curves = load_average()

    speed_lines: list[str] = []
    if not args.skip_speed:
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
        size = TransformerSize(
            n_layer=cfg.model.n_layer, n_head=cfg.model.n_head, n_embd=cfg.model.n_embd, n_positions=64
        )
        gpt = HFGenerator.from_config(cfg.data.oracle_vocab, size, bos_id=0, eos_id=None)  # token 0 doubles as BOS
        speeds[f"a GPT-2-style generator ({size.n_layer} layers x {size.n_embd}, KV cache)"] = time_generator_steps(
            gpt.to(trainer.rt.device), trainer.D, **timing
        )
        samplers = time_samplers(cfg.data.oracle_vocab, cfg.train.batch_size * s.rollouts, trainer.rt.device)
        for model_name, speed in speeds.items():
            ratio = speed["loop"] / speed["batched"]
            ratio_no_d = speed["loop_no_d"] / speed["batched_no_d"]
            speed_lines += [
                f"- generator step, {model_name} ({cfg.train.batch_size} sequences x {s.rollouts} rollouts, length "
                f"{cfg.data.seq_len}, sampler {s.sampler}, mean of {args.speed_repeats}): batched "
                f"{speed['batched']:.2f} s, per-prefix loop {speed['loop']:.2f} s: **{ratio:.2f}x**; without D's "
                f"scoring (rollouts and the update only): batched {speed['batched_no_d']:.2f} s, "
                f"loop {speed['loop_no_d']:.2f} s: {ratio_no_d:.2f}x",
            ]
        speed_lines.append(
            f"- one draw from [{cfg.train.batch_size * s.rollouts}, {cfg.data.oracle_vocab}] logits: "
            + ", ".join(f"{k} {v * 1e3:.2f} ms" for k, v in samplers.items())
            + f" (multinomial / icdf: {samplers['multinomial'] / samplers['icdf']:.1f}x)"
        )

    table = [
        "| | NLL-oracle | published | NLL-test |",
        "|---|---|---|---|",
        *(
            f"| {name} | {rows[name]['nll_oracle']:.3f} | {PUBLISHED[name]:.3f} | {rows[name]['nll_test']:.3f} |"
            for name in ("Random", "MLE", "SeqGAN")
        ),
    ]
    curve_table, comparison = curve_report(curves)
    curve_line = "- NLL-oracle during the run (phase, phase step, value): " + ", ".join(
        f"{ph} {st}: {v:.3f}" for ph, st, v in curve
    )
    plot = Path(args.plot)
    if not args.no_append:
        draw_curves(curves, plot, f"SeqGAN and MLE along the temperature curve (synthetic oracle, {args.scale} scale)")
    try:
        plot_name = str(plot.resolve().relative_to(REPO))
    except ValueError:
        plot_name = str(plot)
    entry = "\n".join(
        [
            f"### SeqGAN synthetic oracle, {args.scale} scale ({time.strftime('%Y-%m-%d')})",
            "",
            f"- command: `{command.strip()}`",
            f"- machine: {machine()}; load average (1, 5, 15 min) at the start {load_start}, after the curves "
            f"{load_after_curves}, at the end {load_average()}",
            f"- versions: {versions()}",
            f"- schedule: {schedule}; training took {train_seconds / 60:.1f} min, the whole script "
            f"{(time.perf_counter() - wall_start) / 60:.1f} min",
            f"- NLL-oracle over {n} samples per row; NLL-test over {adapter.heldout_rows.shape[0]} held-out "
            "oracle sequences; published: Yu et al. 2017, Table 1 (their oracle's saved weights; ours is "
            f"N(0, 1) with seed {cfg.data.oracle_seed}, so compare the gaps, not the values)",
            "",
            *table,
            "",
            f"Along the temperature curve (NLL-oracle over {n} samples drawn at T, NLL-test at T over the "
            f"{adapter.heldout_rows.shape[0]} held-out sequences; the plot is `{plot_name}`):",
            "",
            *curve_table,
            "",
            *comparison,
            curve_line,
            *speed_lines,
        ]
    )
    print()
    print(entry)
    if args.json:
        at_one = next((q for q in curves["SeqGAN"] if q["temperature"] == 1.0), None)
        mle_there = None if at_one is None else at_equal_nll_test(curves["MLE"], at_one["nll_test"])
        summary = {
            "seed": cfg.seed,
            "rows": rows,
            "curves": curves,
            # SeqGAN sampled at T=1 against MLE's curve at the same NLL-test (negative: SeqGAN better)
            "seqgan_t1_minus_mle_curve": None if mle_there is None else at_one["nll_oracle"] - mle_there,
            "train_seconds": train_seconds,
        }
        Path(args.json).write_text(json.dumps(summary, indent=1) + "\n")
    if not args.no_append:
        append_benchmarks(entry, Path(args.benchmarks_file))
        print(f"\nappended to {args.benchmarks_file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
