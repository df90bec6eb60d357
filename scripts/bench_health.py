"""Training-health benchmark: is the collapse guard quiet on the default runs, and does it catch a
learning rate raised 100x mid-run?

    python scripts/bench_health.py                              # every recipe's default run, then the lr runs
    python scripts/bench_health.py --recipes image text         # some of them
    python scripts/bench_health.py --no-lr-raise --no-write     # defaults only, print only
    python scripts/bench_health.py --grad-norm-cost             # 3. only

1. Default runs: `python -m multigan.recipes.<name> train.eval_every=E` exactly as a user runs it
   (in this process, one after another, each from scratch in a temporary folder), with E chosen
   so that each run is evaluated about 20 times. Reads the `eval/...` records of metrics.jsonl:
   evaluations, flags, the first, best and last score.
2. Learning rate raised: the default image run again, both learning rates multiplied by 100
   after half of its steps (a callback, as a user editing the config and resuming would). Reports
   the steps of its flags; the guard should fire at the first evaluation or two after the raise.

3. The cost of the gradient norms every record now logs: the CPU time of one D + one G update of
   the default image and video recipes (scripts/machine.py's one_update_step, one fixed batch)
   against the CPU time of `torch.nn.utils.get_total_norm` over G's and D's gradients, which
   the trainer adds to every update; medians of 7 repeats, in one process.

Runs on two torch threads unless --threads says otherwise. Prints a table and appends it to the
"## Training health" section of docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))  # machine.py, beside this script

from machine import append_to_section, machine_lines, one_update_step  # noqa: E402

from multigan.core.callbacks import Callback  # noqa: E402
from multigan.core.config import load_config  # noqa: E402
from multigan.core.logging import read_metrics  # noqa: E402
from multigan.core.trainer import Trainer  # noqa: E402
from multigan.image.adapter import ImageAdapter  # noqa: E402
from multigan.image.config import ImageConfig  # noqa: E402
from multigan.image.evaluate import quick_metric  # noqa: E402
from multigan.recipes import audio, image, text, translate, video  # noqa: E402

SECTION = "## Training health"
RECIPES = {"image": image, "video": video, "text": text, "translate": translate, "audio": audio}
# about 20 evaluations of each default run (text: its MLE and D pre-training phases count too)
EVAL_EVERY = {"image": 100, "video": 50, "text": 37, "translate": 75, "audio": 100}


class RaiseLearningRate(Callback):
    def __init__(self, at: int, factor: float) -> None:
        self.at, self.factor = at, factor

    def on_step_end(self, trainer, phase, phase_step):
        if trainer.step == self.at:
            trainer.cfg.train.lr_g *= self.factor
            trainer.cfg.train.lr_d *= self.factor


def summarise(name: str, run_dir: Path, minutes: float, note: str = "") -> list[str]:
    evals = [r for r in read_metrics(run_dir) if r.get("phase") == "eval"]
    score_keys = [k for k in evals[0] if k.startswith("eval/") and k != "eval/diversity"] if evals else []
    key = score_keys[0] if score_keys else None
    flags = [r["step"] for r in evals if r["collapse_flag"]]
    row = [name, note, str(len(evals)), ", ".join(map(str, flags)) or "none"]
    if key:
        scores = [(r["step"], r[key]) for r in evals]
        lower = not key.endswith(("bleu4", "labels_kept", "accuracy", "ssim"))
        best = min(scores, key=lambda s: s[1]) if lower else max(scores, key=lambda s: s[1])
        row += [key.removeprefix("eval/"), f"{scores[0][1]:.4g}", f"{best[1]:.4g} @ {best[0]}", f"{scores[-1][1]:.4g}"]
    else:
        row += ["(none)", "", "", ""]
    diversity = [r["eval/diversity"] for r in evals if "eval/diversity" in r]
    row += [f"{min(diversity):.3g} / {max(diversity):.3g}" if diversity else "", f"{minutes:.1f}"]
    return row


def grad_norm_cost(adapter, repeats: int = 7) -> tuple[float, float]:
    """(CPU s of one D + G update, CPU s of the G and D gradient norms) on one fixed batch."""
    import statistics

    ds = adapter.dataset()
    batch = adapter.to_device(
        adapter.collate([ds[i] for i in range(adapter.cfg.train.batch_size)]), torch.device("cpu")
    )
    step = one_update_step(adapter, batch)
    nets = adapter.build_models()
    for net in (nets.G, nets.D):
        for q in net.parameters():
            q.grad = torch.randn_like(q)
    for _ in range(3):
        step()
    steps, norms = [], []
    for _ in range(repeats):
        start = time.process_time()
        for _ in range(10):
            step()
        steps.append((time.process_time() - start) / 10)
        start = time.process_time()
        for _ in range(50):
            for net in (nets.G, nets.D):
                torch.nn.utils.get_total_norm([q.grad for q in net.parameters() if q.grad is not None]).item()
        norms.append((time.process_time() - start) / 50)
    return statistics.median(steps), statistics.median(norms)


def report_grad_norm_cost(args: argparse.Namespace) -> None:
    from multigan.video.adapter import VideoAdapter
    from multigan.video.config import VideoConfig

    started = datetime.now(UTC)
    lines = [
        "| recipe (default config) | one D + G update (CPU ms) | G + D gradient norms (CPU ms) | share |",
        "|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for name, adapter in (
            ("image", ImageAdapter(load_config(ImageConfig, None, [f"out_dir={tmp}/image"]))),
            ("video", VideoAdapter(load_config(VideoConfig, None, [f"out_dir={tmp}/video"]))),
        ):
            step, norm = grad_norm_cost(adapter)
            lines.append(f"| {name} | {step * 1e3:.1f} | {norm * 1e3:.3f} | {100 * norm / step:.2f}% |")
            print(lines[-1], flush=True)
    if not args.no_write:
        command = "python scripts/bench_health.py " + " ".join(sys.argv[1:])
        entry = "\n".join(
            [f"### {started:%Y-%m-%d %H:%M} UTC: the cost of the gradient norms", "", f"`{command.strip()}`", "",
             *machine_lines(), "", *lines]
        )  # fmt: skip
        append_to_section(Path(args.out), SECTION, entry)
        print(f"appended to {args.out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=list(RECIPES))
    parser.add_argument("--no-lr-raise", action="store_true", help="skip the image run with the learning rate raised")
    parser.add_argument("--factor", type=float, default=100.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--grad-norm-cost", action="store_true", help="3. only: the cost of the logged gradient norms")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--out", default=str(ROOT / "docs" / "BENCHMARKS.md"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.grad_norm_cost:
        report_grad_norm_cost(args)
        return
    started = datetime.now(UTC)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name in args.recipes:
            out = work / name
            print(f"{name}: default run, train.eval_every={EVAL_EVERY[name]}", flush=True)
            wall = time.perf_counter()
            with contextlib.redirect_stdout(io.StringIO()):
                status = RECIPES[name].main([f"out_dir={out}", f"train.eval_every={EVAL_EVERY[name]}"])
            if status != 0:
                raise SystemExit(f"{name}: the default run exited with {status}")
            rows.append(summarise(name, out, (time.perf_counter() - wall) / 60, "default"))
            print("  " + " | ".join(rows[-1]), flush=True)
        if not args.no_lr_raise:
            out = work / "image_lr"
            cfg = load_config(ImageConfig, None, [f"out_dir={out}", f"train.eval_every={EVAL_EVERY['image']}"])
            at = cfg.train.steps // 2
            print(f"image: default run, learning rates x{args.factor:g} after step {at}", flush=True)
            adapter = ImageAdapter(cfg)
            wall = time.perf_counter()
            callbacks = [RaiseLearningRate(at, args.factor)]
            Trainer(adapter, cfg, callbacks=callbacks, quick_metric=quick_metric(adapter), echo=print).fit()
            rows.append(summarise("image", out, (time.perf_counter() - wall) / 60, f"lr x{args.factor:g} after {at}"))
            print("  " + " | ".join(rows[-1]), flush=True)
    header = [
        "recipe",
        "run",
        "evals",
        "flagged at",
        "score",
        "first",
        "best @ step",
        "last",
        "diversity min / max",
        "min",
    ]
    table = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + ["| " + " | ".join(r) + " |" for r in rows]
    print("\n".join(table))
    if not args.no_write:
        command = "python scripts/bench_health.py " + " ".join(sys.argv[1:])
        entry = "\n".join(
            [f"### {started:%Y-%m-%d %H:%M} UTC", "", f"`{command.strip()}`", "", *machine_lines(), "", *table]
        )
        append_to_section(Path(args.out), SECTION, entry)
        print(f"appended to {args.out}")


if __name__ == "__main__":
    main()
