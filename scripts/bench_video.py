"""Video benchmarks: the clip loader against bare PyAV, and 10 -> 10 prediction on moving digits.

    python scripts/bench_video.py                 # both parts, appends to docs/BENCHMARKS.md
    python scripts/bench_video.py --steps 100     # shorter training runs
    python scripts/bench_video.py --skip-train    # loader only
    python scripts/bench_video.py --keywords      # 3. only: trains the keywords preset and its ablation
    python scripts/bench_video.py --keywords --runs RUN ABLATION_RUN   # 3. on runs trained before
    python scripts/bench_video.py --step-cost     # 4. only: seconds per training step, side by side
    python scripts/bench_video.py --levers --steps 500 --runs-dir /tmp/levers   # 5. only: the quality levers
    python scripts/bench_video.py --levers NAME NAME --steps 1000 --seeds 0 1 2   # 5. as mean ± std of 3 seeds
    python scripts/bench_video.py --reads         # 6. only: the default run's batches, kept decoded or not

1. Loader throughput: clips/s of multigan's VideoClips (open, seek, decode, resize in FFmpeg,
   close, per clip) against a bare PyAV loop that decodes the same frames of the same files
   (av.open, decode, to_ndarray) in the same process, as a ratio; also through a DataLoader with
   worker processes.
2. 10 -> 10 on moving digits at equal steps: the GAN (the default recipe), the same network trained
   with the L1 term alone (loss.adv_weight=0, D never updated), and copy-last-frame (plus the blank
   frame, a predictor that knows nothing about motion). MSE, PSNR, SSIM; Mathieu et al.'s
   sharpness difference and the gradient-energy ratio (1 = as sharp as the truth); and a feature
   distance of frames: the Fréchet distance between features of the toolkit's own digit
   classifier over 16x16 patches of the predicted and the true frames.

3. Video from keywords (recipes/video_keywords.yaml): caption accuracy (digit, motion, both) on
   seen and held-out (digit, motion) pairs, from keywords alone and from a seed frame + keywords,
   next to chance, the real clips and a wrong-caption control, for the preset and for the same
   model trained without the matching-aware loss (loss.match_weight=0); wall time of each run.

4. Cost of a training step (one D and one G update at batch 8, the adapter's losses and Adam, as
   the trainer runs them) for the default recipe, the keywords preset, the keywords preset
   without its drawn clips (loss.free_weight=0) and the SimVP core (model.core=simvp), measured in
   one process, in turn, after warm-up.

5. Quality levers (issue "Video quality"), one at a time at the same budget: each lever is the
   default recipe plus a few overrides, trained as a user would (`python -m multigan.recipes.video`
   in child processes, one torch thread each, --jobs at a time) on moving digits of 30 frames, then
   rolled out 10 -> 20 on the 100 held-out clips: MSE and SSIM over the first 10 and all 20
   predicted steps, how many of the 20 steps beat both the blank frame and copy-last on both
   metrics, the worst step's MSE over the blank frame's, the sharpness figures and the feature
   distance (first 10 steps); with several --seeds, each as mean ± std. Runs already trained in
   --runs-dir (DIR/seed_S/LEVER) are scored, not retrained.

6. Reading the default run's training batches (data.steps batches of data.batch_size clips, the
   trainer's own BatchStream over the adapter's dataset, in the main process as the default runs)
   with the training videos kept decoded in memory (data.memory_mb, the default 512) and decoded
   clip by clip (data.memory_mb=0), taking turns, as seconds and a speed-up.

Appends the command, the machine, the versions and the tables under "## Video" in
docs/BENCHMARKS.md (other sections are left as they are).
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import av
import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader
from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))  # machine.py, beside this script

from machine import append_to_section, cpu_model, load_average, one_update_step  # noqa: E402

import multigan  # noqa: E402
from multigan.core.config import load_config  # noqa: E402
from multigan.core.data import BatchStream  # noqa: E402
from multigan.core.trainer import Trainer  # noqa: E402
from multigan.metrics.image import digit_classifier, frechet_distance  # noqa: E402
from multigan.metrics.video import baselines, grad_ratio, per_frame, sharpness, summarize  # noqa: E402
from multigan.video.adapter import VideoAdapter  # noqa: E402
from multigan.video.config import VideoConfig  # noqa: E402
from multigan.video.data import MovingDigits, VideoClips, make_moving_digits  # noqa: E402
from multigan.video.evaluate import CaptionReport, evaluate_captions  # noqa: E402
from multigan.video.pipeline import VideoPipeline, to_unit  # noqa: E402

SECTION = "## Video"


# ------------------------------------------------------------------------------------ machine


def machine() -> list[str]:
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    load = load_average()
    return [
        f"- CPU: {cpu_model()}, {os.cpu_count()} cores, torch threads {torch.get_num_threads()}; GPU: {gpu}",
        f"- load average at the start (1, 5, 15 min): {load}",
        f"- Python {platform.python_version()}, torch {torch.__version__}, PyAV {av.__version__} "
        f"(FFmpeg {av.ffmpeg_version_info}), numpy {np.__version__}, multigan {multigan.__version__}",
    ]


# ------------------------------------------------------------------------------------ loader


def bare_pyav(paths: list[str], starts: list[int], length: int, threads: int | None = None) -> None:
    """The least a loader can do: open, decode `length` frames from `start`, convert, close.
    threads=None leaves PyAV's defaults; 1 asks for one decoder thread (what VideoClips does for
    small frames)."""
    for path, start in zip(paths, starts):
        with av.open(path) as container:
            stream = container.streams.video[0]
            if threads is not None:
                stream.codec_context.thread_count = threads
            frames = []
            for i, frame in enumerate(container.decode(stream)):
                if i >= start:
                    frames.append(frame.to_ndarray(format="gray"))
                if len(frames) == length:
                    break
            np.stack(frames)


def bench_loader(train_root: Path, clips: int, repeats: int, workers: int, log) -> list[str]:
    ds = VideoClips(train_root, 20, gray=True, quiet=True)
    n = min(clips, len(ds))
    paths = [ds.files[ds.clips[i][0]] for i in range(n)]
    starts = [ds.clips[i][1] for i in range(n)]
    bare, bare1, clips_, loader = (
        "bare PyAV loop",
        "bare PyAV loop, 1 decoder thread",
        "VideoClips[i]",
        (f"DataLoader, {workers} workers"),
    )
    rows: dict[str, list[float]] = {bare: [], bare1: [], clips_: [], loader: []}
    for r in range(repeats):
        t = time.perf_counter()
        bare_pyav(paths, starts, 20)
        rows[bare].append(n / (time.perf_counter() - t))
        t = time.perf_counter()
        bare_pyav(paths, starts, 20, threads=1)
        rows[bare1].append(n / (time.perf_counter() - t))
        t = time.perf_counter()
        for i in range(n):
            ds[i]
        rows[clips_].append(n / (time.perf_counter() - t))
        subset = torch.utils.data.Subset(ds, range(n))
        t = time.perf_counter()
        for _ in DataLoader(subset, batch_size=16, num_workers=workers):
            pass
        rows[loader].append(n / (time.perf_counter() - t))
        log(f"loader repeat {r + 1}/{repeats}: " + ", ".join(f"{k} {v[-1]:.0f}/s" for k, v in rows.items()))
    lines = [
        f"Loader: {n} clips of 20 frames, 64x64 gray, from moving-digit mp4s; median of {repeats} repeats "
        "(DataLoader figures include starting the workers). Ratios are taken within each repeat.",
        "",
        "| reader | clips/s | ratio to bare PyAV | ratio to bare PyAV, 1 thread |",
        "|---|---:|---:|---:|",
    ]
    for name, values in rows.items():
        r0 = np.median([v / b for v, b in zip(values, rows[bare])])
        r1 = np.median([v / b for v, b in zip(values, rows[bare1])])
        lines.append(f"| {name} | {np.median(values):.0f} | {r0:.2f} | {r1:.2f} |")
    return lines


# ------------------------------------------------------------------------------------ quality


def patch_features(classifier, frames: torch.Tensor) -> torch.Tensor:
    """(n, 1, 64, 64) in [-1, 1] -> features of 16x16 patches (stride 8) of the frames scaled to 40x40,
    where a 24-pixel digit becomes 15 pixels, the size the classifier was trained on."""
    x = F.interpolate(frames, size=(40, 40), mode="bilinear", align_corners=False, antialias=True)
    patches = x.unfold(2, 16, 8).unfold(3, 16, 8)  # (n, 1, 4, 4, 16, 16)
    patches = patches.permute(0, 2, 3, 1, 4, 5).reshape(-1, 1, 16, 16)
    with torch.no_grad():
        return torch.cat([classifier.features(p) for p in patches.split(4096)])


def score(name: str, pred: torch.Tensor, truth: torch.Tensor, classifier) -> dict:
    """pred, truth: (b, t, c, h, w) in [0, 1]."""
    values = per_frame(pred, truth, ("mse", "psnr", "ssim"))
    values["sharpness"] = sharpness(pred, truth)
    values["grad_ratio"] = grad_ratio(pred, truth)
    means = {k: v["mean"] for k, v in summarize(values).items()}
    flat = lambda x: (x * 2 - 1).flatten(0, 1).float()
    means["feature_fd"] = frechet_distance(
        patch_features(classifier, flat(pred)), patch_features(classifier, flat(truth))
    )
    means["name"] = name
    return means


def train_and_predict(
    work: Path, overrides: list[str], steps: int, clips: torch.Tensor, log
) -> tuple[torch.Tensor, float]:
    cfg = load_config(
        VideoConfig, None, [f"out_dir={work}", f"train.steps={steps}", "train.checkpoint_every=0", *overrides]
    )
    adapter = VideoAdapter(cfg)
    t = time.perf_counter()
    trainer = Trainer(adapter, cfg, echo=log)
    trainer.fit()
    seconds = time.perf_counter() - t
    G = trainer.sample_model().eval()
    return rollout(VideoPipeline(adapter.cfg, G), clips, 10), seconds


def rollout(model: VideoPipeline, clips: torch.Tensor, steps: int) -> torch.Tensor:
    """The model's continuation of each clip's first 10 frames, `steps` frames long, in batches of 25."""
    with torch.no_grad():
        return torch.cat([model.continue_clips(c[:, :10], steps, seed=i)[0] for i, c in enumerate(clips.split(25))])


def bench_quality(steps: int, cache_dir: str, log) -> list[str]:
    common = [f"data.cache_dir={cache_dir}"]
    adapter = VideoAdapter(load_config(VideoConfig, None, common))
    test = adapter.heldout(10, 10)
    clips = to_unit(torch.stack([test[i] for i in range(len(test))]))
    truth = clips[:, 10:].add(1).div(2)
    classifier = digit_classifier()
    rows, times = [], {}
    runs = [("GAN (default recipe)", []), ("L1 only (loss.adv_weight=0)", ["loss.adv_weight=0"])]
    with tempfile.TemporaryDirectory() as tmp:
        for i, (name, extra) in enumerate(runs):
            log(f"training: {name}, {steps} steps")
            pred, seconds = train_and_predict(Path(tmp) / f"run{i}", common + extra, steps, clips, log)
            times[name] = seconds
            rows.append(score(name, pred.add(1).div(2).clamp(0, 1), truth, classifier))
    reference = baselines(clips[:, :10].add(1).div(2), truth.shape[1])
    rows.append(score("copy last frame", reference["copy_last"], truth, classifier))
    rows.append(score("blank frame (black)", reference["blank"], truth, classifier))
    cfg = VideoConfig()
    lines = [
        f"10 -> 10 on {len(test)} held-out moving-digit clips (digits unseen in training), {steps} training steps "
        f"each at batch {cfg.train.batch_size}, other settings the default recipe's (recipes/video.yaml).",
        "MSE per pixel on [0, 1]; sharpness = Mathieu et al. 2016's sharpness difference (dB, higher = edges "
        "closer to the truth's); grad ratio = gradient energy of prediction / truth (1 = as sharp, lower = "
        "blurrier); feature FD = Fréchet distance of digit-classifier features over 16x16 patches "
        "(lower = closer to real frames).",
        "",
        "| predictor | train s | MSE | PSNR | SSIM | sharpness dB | grad ratio | feature FD |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        secs = f"{times[r['name']]:.0f}" if r["name"] in times else "-"
        lines.append(
            f"| {r['name']} | {secs} | {r['mse']:.4f} | {r['psnr']:.2f} | {r['ssim']:.4f} | {r['sharpness']:.2f} | "
            f"{r['grad_ratio']:.3f} | {r['feature_fd']:.2f} |"
        )
    return lines


# ------------------------------------------------------------------------------------ keywords

KEYWORDS_PRESET = ROOT / "recipes" / "video_keywords.yaml"


def train_keywords(work: Path, overrides: list[str], log) -> float:
    cfg = load_config(VideoConfig, KEYWORDS_PRESET, [f"out_dir={work}", *overrides])
    adapter = VideoAdapter(cfg)
    t = time.perf_counter()
    trainer = Trainer(adapter, cfg, echo=log)
    adapter.save_vocabulary()
    trainer.fit()
    return time.perf_counter() - t


def bench_keywords(runs: list[str], cache_dir: str, log) -> list[str]:
    names = ["keywords preset", "no matching-aware loss (loss.match_weight=0)"]
    extra = [[], ["loss.match_weight=0"]]
    times: dict[str, float] = {}
    reports: dict[str, CaptionReport] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folders = [Path(r) for r in runs] or [Path(tmp) / f"run{i}" for i in range(2)]
        for name, folder, more in zip(names, folders, extra):
            if not runs:
                log(f"training: {name}")
                times[name] = train_keywords(folder, [f"data.cache_dir={cache_dir}"] * bool(cache_dir) + more, log)
            model = VideoPipeline.from_folder(folder)
            adapter = VideoAdapter(model.cfg, run_dir=folder)
            log(f"evaluating: {name}")
            reports[name] = evaluate_captions(adapter, model.G, per_pair=10, seed=0)
    first = next(iter(reports.values()))
    cfg = load_config(VideoConfig, KEYWORDS_PRESET)
    lines = [
        f"Video from keywords: recipes/video_keywords.yaml ({cfg.model.first_frame_steps} steps of the first-frame "
        f"{cfg.model.first_frame.upper()} alone, then {cfg.train.steps} steps at batch {cfg.train.batch_size}, "
        f"{cfg.data.size}x{cfg.data.size}, {first.frames}-frame clips), and the same without the matching-aware "
        f"loss. Accuracy of the toolkit's digit classifier (majority over frames) and of the motion axis read "
        f"from the centre-of-mass track; joint = both right. Chance: {first.chance:.0%} joint. "
        + ("Runs trained before: " + ", ".join(runs) + "." if runs else ""),
        "",
        "| model | train s | mode | split | clips | digit | motion | joint |",
        "|---|---:|---|---|---:|---:|---:|---:|",
    ]
    for name, report in reports.items():
        secs = f"{times[name]:.0f}" if name in times else "-"
        for mode, splits in report.rows.items():
            for split, r in splits.items():
                lines.append(
                    f"| {name} | {secs} | {mode} | {split} | {int(r['clips'])} | {r['digit']:.1%} | "
                    f"{r['motion']:.1%} | {r['joint']:.1%} |"
                )
    lines += ["", "| model | Fréchet distance of frame features, keyword clips vs real |", "|---|---:|"]
    lines += [f"| {name} | {report.frechet:.3f} |" for name, report in reports.items()]
    return lines


# ------------------------------------------------------------------------------------ step cost


def training_step(preset: Path, overrides: list[str], first_frame: bool = False, reuse_fakes: bool = True):
    """A function running one D and one G update (the adapter's losses, Adam) on one fixed batch; with
    `first_frame`, one G update of the first-frame VAE phase (model.first_frame_steps) instead.
    `reuse_fakes=False`: G makes its fakes again for its own update, as it did before 2026-12-07."""
    cfg = load_config(VideoConfig, preset, ["out_dir=/nonexistent", *overrides])
    adapter = VideoAdapter(cfg)
    adapter.reuses_fakes = reuse_fakes
    ds = adapter.dataset()
    batch = adapter.to_device(adapter.collate([ds[i] for i in range(cfg.train.batch_size)]), torch.device("cpu"))
    if not first_frame:
        return one_update_step(adapter, batch)
    nets = adapter.build_models()
    opt = torch.optim.Adam(nets.G.parameters())

    def step() -> None:
        out = adapter.first_frame_loss(nets.G, nets.D, batch)
        opt.zero_grad(set_to_none=True)
        out.loss.backward()
        opt.step()

    return step


def bench_step_cost(cache_dir: str, log, steps: int = 8) -> list[str]:
    common = [f"data.cache_dir={cache_dir}"] if cache_dir else []
    runs = [
        ("default recipe (recipes/video.yaml)", ROOT / "recipes" / "video.yaml", []),
        ("keywords preset (recipes/video_keywords.yaml)", KEYWORDS_PRESET, []),
        ("keywords preset without drawn clips (loss.free_weight=0)", KEYWORDS_PRESET, ["loss.free_weight=0"]),
        ("GRU core, trains 10 -> 5 (" + " ".join(GRU) + ")", ROOT / "recipes" / "video.yaml", GRU),
        ("SimVP core, trains 10 -> 10", ROOT / "recipes" / "video.yaml", ["data.predict=10"]),
        (
            "SimVP core, 10 -> 10 in passes of 5",
            ROOT / "recipes" / "video.yaml",
            ["data.predict=10", "model.pass_frames=5"],
        ),
    ]
    steppers = {name: training_step(preset, common + extra) for name, preset, extra in runs}
    first_frame_row = "keywords preset, a step of its first-frame VAE phase (model.first_frame_steps)"
    steppers[first_frame_row] = training_step(KEYWORDS_PRESET, common, first_frame=True)
    for name, preset in (("default recipe", ROOT / "recipes" / "video.yaml"), ("keywords preset", KEYWORDS_PRESET)):
        twice = f"{name}, G making its fakes twice per step (D's and G's update; before 2026-12-07)"
        steppers[twice] = training_step(preset, common, reuse_fakes=False)
    times: dict[str, list[float]] = {name: [] for name in steppers}
    for i in range(steps + 2):  # round robin, so that a machine growing busier slows all alike
        for name, step in steppers.items():
            t = time.perf_counter()
            step()
            if i >= 2:  # the first two warm up
                times[name].append(time.perf_counter() - t)
    median = {name: sorted(ts)[len(ts) // 2] for name, ts in times.items()}
    base = median[runs[0][0]]
    for name, ts in times.items():
        log(f"{name}: " + " ".join(f"{t:.2f}" for t in ts))
    lines = [
        f"Seconds per training step (one D and one G update at batch 8 on one fixed batch, data loading "
        f"excluded; median of {steps} after 2 warm-up steps, the runs taking turns step by step in one "
        f"process; torch threads {torch.get_num_threads()}):",
        "",
        "| run | s / step (median) | fastest - slowest | vs default |",
        "|---|---:|---:|---:|",
    ]
    lines += [
        f"| {name} | {median[name]:.2f} | {min(ts):.2f} - {max(ts):.2f} | {median[name] / base:.2f}x |"
        for name, ts in times.items()
    ]
    return lines


# ------------------------------------------------------------------------------------ levers

LEVER_FRAMES = 30  # moving digits of 30 frames: 10 context + a 20-frame rollout
# Each lever spells out its core, so its row keeps its meaning whatever the defaults are.
GRU = ["model.core=gru", "model.hidden=64", "loss.recon=l1", "loss.adv_weight=1"]  # the first default
SIMVP = ["model.core=simvp", "model.hidden=128", "loss.adv_weight=1"]  # a step costs about the GRU's (--step-cost)
LEVERS: dict[str, list[str]] = {  # row -> overrides of the default recipe
    "trains 10 -> 5 (the GRU default)": [*GRU, "data.predict=5"],
    "trains 10 -> 10": [*GRU, "data.predict=10"],
    "trains 10 -> 10, L1 only": [*GRU, "data.predict=10", "loss.adv_weight=0"],
    "trains 10 -> 10, MSE only (reference)": [*GRU, "data.predict=10", "loss.adv_weight=0", "loss.recon=mse"],
    "trains 10 -> 10, GAN + MSE": [*GRU, "data.predict=10", "loss.recon=mse"],
    "trains 10 -> 10, feature matching": [*GRU, "data.predict=10", "loss.feature_weight=10"],
    "trains 10 -> 10, warps the seed": [*GRU, "data.predict=10", "model.warp_from=seed"],
    "trains 10 -> 10, warps the seed, L1 only": [*GRU, "data.predict=10", "model.warp_from=seed", "loss.adv_weight=0"],
    "trains 10 -> 10, GAN + L1 + MSE": [*GRU, "data.predict=10", "loss.recon=l1+mse"],
    "trains 10 -> 10, L1 + MSE only": [*GRU, "data.predict=10", "loss.adv_weight=0", "loss.recon=l1+mse"],
    "trains 10 -> 5, GAN + L1 + MSE": [*GRU, "data.predict=5", "loss.recon=l1+mse"],
    "SimVP core, 10 -> 5": [*SIMVP, "data.predict=5", "loss.recon=l1"],
    "SimVP core, 10 -> 10": [*SIMVP, "data.predict=10", "loss.recon=l1"],
    "SimVP core, 10 -> 10, GAN + L1 + MSE": [*SIMVP, "data.predict=10", "loss.recon=l1+mse"],
    "SimVP core, 10 -> 5, GAN + L1 + MSE": [
        *SIMVP,
        "data.predict=5",
        "loss.recon=l1+mse",
    ],  # the default until the GAN went to 0.3
    "SimVP core, 10 -> 10 in passes of 5, GAN + L1 + MSE": [
        *SIMVP,
        "data.predict=10",
        "model.pass_frames=5",
        "loss.recon=l1+mse",
    ],  # fmt: skip
    "SimVP core, 10 -> 10, L1 only": [*SIMVP, "data.predict=10", "loss.adv_weight=0", "loss.recon=l1"],
    "SimVP core, 10 -> 5, L1 + MSE only": [*SIMVP, "data.predict=5", "loss.adv_weight=0", "loss.recon=l1+mse"],
    "SimVP core, 10 -> 5, L1 only": [*SIMVP, "data.predict=5", "loss.adv_weight=0", "loss.recon=l1"],
    "SimVP core, 10 -> 5, GAN at 0.3 + L1 + MSE": [
        *SIMVP,
        "data.predict=5",
        "loss.adv_weight=0.3",
        "loss.recon=l1+mse",
    ],  # the default
    "SimVP core, 10 -> 5, GAN at 0.1 + L1 + MSE": [
        *SIMVP,
        "data.predict=5",
        "loss.adv_weight=0.1",
        "loss.recon=l1+mse",
    ],
    "SimVP core, 10 -> 10, MSE only (OpenSTL-style reference)": [
        *SIMVP,
        "data.predict=10",
        "loss.adv_weight=0",
        "loss.recon=mse",
    ],  # fmt: skip
}


def merged(overrides: list[str]) -> list[str]:
    """One override per key, the last one given (a lever's own value over its core's), in the
    order the keys first appear."""
    last = {o.split("=", 1)[0]: o for o in overrides}  # a dict keeps where a key first came
    return list(last.values())


LEVERS = {name: merged(overrides) for name, overrides in LEVERS.items()}


@dataclass
class LeverRun:
    name: str
    folder: Path
    overrides: list[str]
    seconds: float = 0.0


def train_lever(run: LeverRun, steps: int, seed: int, cache_dir: str) -> LeverRun:
    """One lever trained by the user's command in a child process with one torch thread (skipped
    when run.folder already holds a finished run: its evaluation.json)."""
    if (run.folder / "evaluation.json").is_file():
        return run
    run.folder.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable, "-m", "multigan.recipes.video", f"out_dir={run.folder}", f"seed={seed}",
        f"data.digits_frames={LEVER_FRAMES}", f"train.steps={steps}", "train.checkpoint_every=0",
        *([f"data.cache_dir={cache_dir}"] if cache_dir else []), *run.overrides,
    ]  # fmt: skip
    env = os.environ | {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    t = time.perf_counter()
    with open(run.folder.with_suffix(".log"), "w") as log:
        subprocess.run(command, check=True, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    run.seconds = time.perf_counter() - t
    (run.folder / "bench_seconds.txt").write_text(f"{run.seconds:.1f}\n")
    return run


def per_step(pred: torch.Tensor, truth: torch.Tensor) -> dict[str, list[float]]:
    """{"mse": [...], "ssim": [...]}: each predicted step's mean over the clips."""
    return {k: cast(list[float], v["per_step"]) for k, v in summarize(per_frame(pred, truth, ("mse", "ssim"))).items()}


def rollout_scores(pred: torch.Tensor, truth: torch.Tensor, context: torch.Tensor, classifier) -> dict:
    """pred, truth (b, 20, c, h, w) and context (b, 10, c, h, w), all in [0, 1]."""
    model = per_step(pred, truth)
    reference = baselines(context, truth.shape[1])
    copy, blank = per_step(reference["copy_last"], truth), per_step(reference["blank"], truth)
    steps = len(model["mse"])
    wins = sum(
        model["mse"][i] < min(copy["mse"][i], blank["mse"][i])
        and model["ssim"][i] > max(copy["ssim"][i], blank["ssim"][i])
        for i in range(steps)
    )
    mean = lambda xs: sum(xs) / len(xs)
    first = pred[:, :10]
    flat = lambda x: (x * 2 - 1).flatten(0, 1).float()
    fd = frechet_distance(patch_features(classifier, flat(first)), patch_features(classifier, flat(truth[:, :10])))
    return {
        "mse10": mean(model["mse"][:10]), "ssim10": mean(model["ssim"][:10]),
        "mse20": mean(model["mse"]), "ssim20": mean(model["ssim"]),
        "blank_mse10": mean(blank["mse"][:10]), "blank_mse20": mean(blank["mse"]),
        "wins": wins, "steps": steps,
        "worst": max(m / b for m, b in zip(model["mse"], blank["mse"])),
        "sharpness": float(sharpness(first, truth[:, :10]).mean()),
        "grad_ratio": float(grad_ratio(first, truth[:, :10]).mean()),
        "feature_fd": fd,
        "per_step": model, "copy_per_step": copy, "blank_per_step": blank,
    }  # fmt: skip


def score_lever(folder: Path, clips: torch.Tensor, classifier) -> dict:
    pred = rollout(VideoPipeline.from_folder(folder), clips, 20)
    unit = lambda x: x.add(1).div(2).clamp(0, 1)
    return rollout_scores(unit(pred), unit(clips[:, 10:]), unit(clips[:, :10]), classifier)


def lever_clips(cache_dir: str) -> torch.Tensor:
    """The held-out moving digits made LEVER_FRAMES long, all of them, (b, 30, c, h, w) in [-1, 1]:
    what the levers are scored on (rollout's noise seeds go by batch, so keep every clip)."""
    common = [f"data.digits_frames={LEVER_FRAMES}"] + ([f"data.cache_dir={cache_dir}"] if cache_dir else [])
    test = VideoAdapter(load_config(VideoConfig, None, common)).heldout(LEVER_FRAMES - 10, 10)
    return to_unit(torch.stack([test[i] for i in range(len(test))]))


def lever_folder(root: Path, name: str) -> Path:
    """Where a lever's run lives under one seed's folder: its name, letters and digits kept."""
    return root / "".join(ch if ch.isalnum() else "_" for ch in name).strip("_")


def bench_levers(
    names: list[str], runs_dir: Path, steps: int, seeds: list[int], jobs: int, cache_dir: str, log
) -> list[str]:
    runs = {
        (name, seed): LeverRun(name, lever_folder(runs_dir / f"seed_{seed}", name), LEVERS[name])
        for seed in seeds
        for name in names
    }
    failed: list[str] = []  # a run that fails is reported, and the others are still trained and scored
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(train_lever, run, steps, key[1], cache_dir): key for key, run in runs.items()}
        for done in tqdm(as_completed(futures), total=len(futures), desc="levers", unit="run"):
            name, seed = futures[done]
            try:
                log(f"trained: {done.result().folder}")
            except subprocess.CalledProcessError as e:
                log_file = runs[name, seed].folder.with_suffix(".log")
                failed.append(f"{name} (seed {seed}): exit status {e.returncode}, its log: {log_file}")
                log(f"failed: {failed[-1]}")
    names = [name for name in names if not any(f.startswith(f"{name} (seed ") for f in failed)]
    if not names:
        raise SystemExit("error: every lever run failed: " + "; ".join(failed))
    runs = {key: run for key, run in runs.items() if key[0] in names}
    clips = lever_clips(cache_dir)
    classifier = digit_classifier()
    scores: dict[tuple[str, int], dict] = {}
    for key, run in tqdm(runs.items(), desc="scoring", unit="run"):
        scores[key] = score_lever(run.folder, clips, classifier)
        seconds_file = run.folder / "bench_seconds.txt"
        scores[key]["seconds"] = float(seconds_file.read_text()) if seconds_file.is_file() else float("nan")
    any_score = next(iter(scores.values()))
    blank10 = any_score["blank_mse10"]
    for r in scores.values():
        r["below_blank"] = 100 * (1 - r["mse10"] / blank10)
    of = lambda name, key: [scores[name, seed][key] for seed in seeds]

    def cell(name: str, key: str, fmt: str) -> str:
        """One seed: its value; several: mean ± sample standard deviation."""
        values = of(name, key)
        if len(values) == 1:
            return format(values[0], fmt)
        mean = sum(values) / len(values)  # by hand: statistics.stdev fails on a missing time (nan)
        std = (sum((v - mean) ** 2 for v in values) / (len(values) - 1)) ** 0.5
        return f"{format(mean, fmt)} ± {format(std, fmt)}"

    seeds_said = f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {', '.join(map(str, seeds))} (mean ± std)"
    lines = [
        f"Quality levers, one at a time: each row is the default recipe plus its overrides, {steps} training steps "
        f"at batch 8, {seeds_said}, trained by `python -m multigan.recipes.video` with one torch thread "
        f"({jobs} at a time), on moving digits of {LEVER_FRAMES} frames; scored on a 10 -> 20 rollout of the "
        f"{len(clips)} held-out clips. MSE per pixel on [0, 1]; blank frame: MSE {blank10:.4f} "
        f"(10 steps), {any_score['blank_mse20']:.4f} (20 steps); 'below blank': how much lower MSE 10 is, "
        "in percent. 'steps won': predicted steps whose MSE and SSIM both beat the blank frame and "
        "copy-last; 'worst': the highest ratio of a step's MSE to the blank frame's (below 1: every step "
        "beats it). Sharpness, grad ratio and feature FD on the first 10 steps, as in the table above. "
        "Train s: wall time of the command, including its own evaluation.",
        "",
        "| lever | overrides | train s | MSE 10 | below blank % | SSIM 10 | MSE 20 | SSIM 20 | steps won | worst "
        "| sharpness dB | grad ratio | feature FD |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in names:
        overrides = " ".join(f"`{o}`" for o in LEVERS[name]) or "-"
        cells = [
            cell(name, "seconds", ".0f"), cell(name, "mse10", ".4f"), cell(name, "below_blank", ".1f"),
            cell(name, "ssim10", ".4f"), cell(name, "mse20", ".4f"), cell(name, "ssim20", ".4f"),
            f"{cell(name, 'wins', '.0f' if len(seeds) == 1 else '.1f')} / {any_score['steps']}",
            cell(name, "worst", ".2f"), cell(name, "sharpness", ".2f"), cell(name, "grad_ratio", ".3f"),
            cell(name, "feature_fd", ".2f"),
        ]  # fmt: skip
        lines.append(f"| {name} | {overrides} | " + " | ".join(cells) + " |")
    lines += ["", f"MSE per predicted step (x 1000), 1 to 20{'' if len(seeds) == 1 else ', mean of the seeds'}:", ""]
    lines += ["| row | " + " | ".join(str(i + 1) for i in range(any_score["steps"])) + " |"]
    lines += ["|---|" + "---:|" * any_score["steps"]]
    step_mean = lambda curves: [sum(values) / len(values) for values in zip(*curves)]
    per_step = [(name, step_mean([r["mse"] for r in of(name, "per_step")])) for name in names]
    per_step += [
        ("copy last frame", any_score["copy_per_step"]["mse"]),
        ("blank frame", any_score["blank_per_step"]["mse"]),
    ]
    lines += [f"| {name} | " + " | ".join(f"{1000 * v:.1f}" for v in values) + " |" for name, values in per_step]
    if failed:
        lines += ["", "Failed, so not scored:", "", *(f"- {f}" for f in failed)]
    return lines


# ------------------------------------------------------------------------------------ reads


def bench_training_reads(cache_dir: str, log, repeats: int = 2) -> list[str]:
    common = ["out_dir=/nonexistent", *([f"data.cache_dir={cache_dir}"] if cache_dir else [])]
    cfg = load_config(VideoConfig, ROOT / "recipes" / "video.yaml", common)
    configs = {
        f"kept decoded in memory (data.memory_mb={cfg.data.memory_mb}, the default)": cfg,
        "decoded clip by clip (0)": load_config(
            VideoConfig, ROOT / "recipes" / "video.yaml", [*common, "data.memory_mb=0"]
        ),
    }
    seconds: dict[str, list[float]] = {name: [] for name in configs}
    steps, batch = cfg.train.steps, cfg.train.batch_size
    for r in range(repeats):
        for name, run_cfg in configs.items():
            adapter = VideoAdapter(run_cfg)
            stream = BatchStream(adapter.dataset(), batch, adapter.collate, seed=cfg.seed)
            t = time.perf_counter()
            for _ in tqdm(range(steps), desc=f"{name}, repeat {r + 1}/{repeats}", leave=False):
                next(stream)
            seconds[name].append(time.perf_counter() - t)
            log(f"reads repeat {r + 1}/{repeats}: {name} {seconds[name][-1]:.1f} s")
    clip_by_clip = seconds["decoded clip by clip (0)"]
    lines = [
        f"Training reads: the default run's {steps} batches of {batch} clips "
        f"({cfg.data.context} + {cfg.data.predict} frames, {cfg.data.size}x{cfg.data.size} gray, from "
        f"{cfg.data.digits_train} moving-digit mp4s), through the trainer's BatchStream in one process; "
        f"{repeats} repeats taking turns, the speed-up taken within each repeat.",
        "",
        "| training videos | seconds per repeat | s per batch | speed-up |",
        "|---|---:|---:|---:|",
    ]
    for name, values in seconds.items():
        speedup = np.median([c / v for c, v in zip(clip_by_clip, values)])
        per_repeat = ", ".join(f"{v:.1f}" for v in values)
        lines.append(f"| {name} | {per_repeat} | {np.median(values) / steps:.4f} | {speedup:.2f}x |")
    return lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=300, help="training steps per run (default 300)")
    p.add_argument("--clips", type=int, default=300, help="clips for the loader benchmark (default 300)")
    p.add_argument("--repeats", type=int, default=3, help="loader repeats (default 3)")
    p.add_argument("--workers", type=int, default=2, help="DataLoader workers (default 2)")
    p.add_argument("--skip-train", action="store_true", help="only the loader benchmark")
    p.add_argument("--cache-dir", default="", help="where moving digits live (default: the toolkit's cache)")
    p.add_argument("--out", default=str(ROOT / "docs" / "BENCHMARKS.md"))
    p.add_argument("--no-write", action="store_true", help="print only")
    p.add_argument("--keywords", action="store_true", help="only the keywords benchmark (3.)")
    p.add_argument("--step-cost", action="store_true", help="only the step-cost benchmark (4.)")
    p.add_argument("--reads", action="store_true", help="only the training-reads benchmark (6.)")
    p.add_argument("--levers", nargs="*", default=None, metavar="LEVER", help="only the levers (5.); none named: all")
    p.add_argument("--runs-dir", default="", help="--levers: where the runs are kept (default: a temporary folder)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0], help="--levers: the runs' seeds (default 0)")
    p.add_argument("--jobs", type=int, default=2, help="--levers: runs trained at a time (default 2)")
    p.add_argument(
        "--runs", nargs=2, default=[], metavar="RUN", help="--keywords: the preset's and the ablation's runs"
    )
    args = p.parse_args(argv)
    log = lambda msg: print(msg, file=sys.stderr, flush=True)
    started = time.perf_counter()
    header = machine()
    unknown = [name for name in args.levers or [] if name not in LEVERS]
    if unknown:
        print(f"bench_video.py: error: unknown lever {unknown[0]!r}; known: {' | '.join(LEVERS)}", file=sys.stderr)
        return 2
    if args.levers is not None:
        with tempfile.TemporaryDirectory() as tmp:
            runs_dir = Path(args.runs_dir or tmp)
            names = args.levers or list(LEVERS)
            tables = bench_levers(names, runs_dir, args.steps, args.seeds, args.jobs, args.cache_dir, log)
    elif args.step_cost:
        tables = bench_step_cost(args.cache_dir, log)
    elif args.reads:
        tables = bench_training_reads(args.cache_dir, log)
    elif args.keywords:
        tables = bench_keywords(args.runs, args.cache_dir, log)
    else:
        root = make_moving_digits(MovingDigits(), args.cache_dir or None)
        tables = bench_loader(root / "train", args.clips, args.repeats, args.workers, log)
        if not args.skip_train:
            tables += ["", *bench_quality(args.steps, args.cache_dir, log)]
    command = "python scripts/bench_video.py " + shlex.join(argv if argv is not None else sys.argv[1:])
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    entry = "\n".join(
        [
            f"### {stamp}",
            "",
            f"`{command.strip()}` ({time.perf_counter() - started:.0f} s in all)",
            "",
            *header,
            "",
            *tables,
        ]
    )
    print(entry)
    if not args.no_write:
        append_to_section(Path(args.out), SECTION, entry)
        log(f"appended to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
