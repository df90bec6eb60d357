"""The video recipe end to end, as a user runs it (tiny sizes: 16x16 moving digits, 3 -> 3 frames)."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from multigan.core.checkpoint import checkpoint_dirs
from multigan.core.config import load_config
from multigan.core.trainer import Trainer
from multigan.io.video import probe, read_video, write_video
from multigan.recipes import video as recipe
from multigan.video.adapter import VideoAdapter
from multigan.video.config import VideoConfig

TINY = Path(__file__).resolve().parents[2] / "recipes" / "tiny" / "video.yaml"


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    assert recipe.main(["--config", str(TINY), f"out_dir={out}"]) == 0
    return out


def test_train_writes_a_run_with_samples_and_a_baseline_comparison(tiny_run):
    assert (tiny_run / "config.yaml").is_file() and (tiny_run / "metrics.jsonl").is_file()
    assert [p.name for p in checkpoint_dirs(tiny_run / "checkpoints")] == ["step_00000002", "step_00000004"]
    samples = tiny_run / "samples" / "step_00000004"
    clip = probe(samples / "clip_00.mp4")
    assert (clip.frames, clip.height, clip.width) == (6, 16, 16)  # 3 seed + 3 generated frames
    assert (samples / "side_by_side.gif").is_file()
    side = probe(samples / "side_by_side.mp4")
    assert side.frames == 6 and side.width == 2 * 16 + 2 and side.height == 2 * 16 + 2  # 2 clips, truth | generated
    report = json.loads((tiny_run / "evaluation.json").read_text())
    assert report["context"] == 3 and report["predict"] == 3
    assert set(report["model"]) == {"frame_mse", "mse", "mae", "psnr", "ssim"}
    assert len(report["copy_last"]["ssim"]["per_step"]) == 3


def test_training_again_resumes(tiny_run, capsys):
    assert recipe.main(["--config", str(TINY), f"out_dir={tiny_run}", "train.steps=5"]) == 0
    assert "Resumed from" in capsys.readouterr().out
    assert checkpoint_dirs(tiny_run / "checkpoints")[-1].name == "step_00000005"


def test_generate_from_seed_frames_of_another_size(tiny_run, tmp_path):
    seeds = []
    for i in range(4):  # one more than the model's 3: the last 3 are used
        path = tmp_path / f"seed{i}.png"
        Image.fromarray((np.random.default_rng(i).random((30, 40, 3)) * 255).astype(np.uint8)).save(path)
        seeds.append(str(path))
    out = tmp_path / "continued.mp4"
    args = ["generate", "--run", str(tiny_run), "--seed-frames", *seeds, "--num-frames", "7", "--out", str(out)]
    assert recipe.main(args) == 0
    frames = read_video(out)
    assert frames.shape == (3 + 7, 16, 16, 3)


def test_generate_from_a_seed_video_with_several_samples(tiny_run, tmp_path):
    video = tmp_path / "seed.webm"
    rng = np.random.default_rng(0)
    write_video(video, (rng.random((5, 20, 28, 3)) * 255).astype(np.uint8))
    out = tmp_path / "more.gif"
    args = ["generate", "--run", str(tiny_run), "--seed-video", str(video), "--num-frames", "12", "--samples", "2"]
    assert recipe.main([*args, "--out", str(out)]) == 0
    a, b = read_video(tmp_path / "more_0.gif"), read_video(tmp_path / "more_1.gif")
    assert a.shape == b.shape == (3 + 12, 16, 16, 3)  # longer than the 3 frames it was trained on
    assert torch.equal(a[:3], b[:3])  # the same seed frames


def test_generate_errors_are_one_line(tiny_run, tmp_path, capsys):
    seed = tmp_path / "one.png"
    Image.fromarray(np.zeros((16, 16), np.uint8)).save(seed)
    assert recipe.main(["generate", "--run", str(tiny_run), "--seed-frames", str(seed), str(seed)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "error: the model needs 3 seed frames (data.context), got 2"
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video")
    assert recipe.main(["generate", "--run", str(tiny_run), "--seed-video", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: cannot decode video") and "bad.mp4" in err and "\n" not in err
    assert recipe.main(["generate", "--run", str(tmp_path), "--seed-video", str(bad)]) == 2
    assert "not a run directory" in capsys.readouterr().err


def test_evaluate_with_best_of_n(tiny_run, capsys):
    run = ["evaluate", "--run", str(tiny_run), "--context", "3", "--predict", "5"]
    assert recipe.main([*run, "--samples", "3"]) == 0
    out = capsys.readouterr().out
    assert "3 -> 5 frames on 3 held-out clips, best of 3 samples" in out and "copy-last" in out
    assert "psnr: 10 log10(1 / mse) of each frame" in out  # which of the two PSNR formulas in use (OpenSTL #191)
    report = json.loads((tiny_run / "evaluation.json").read_text())
    assert len(report["model"]["ssim"]["per_step"]) == 5 and report["samples"] == 3
    assert recipe.main(["evaluate", "--run", str(tiny_run)]) == 2  # 10 -> 10 needs 20-frame videos
    warning, error = capsys.readouterr().err.strip().splitlines()
    assert warning.startswith("warning: ") and "shorter than one clip" in warning
    assert "no clips of 20 frames" in error and error.endswith("with --context and --predict")


def test_user_video_folder_with_a_bad_file(tmp_path, capsys):
    folder = tmp_path / "videos"
    rng = np.random.default_rng(1)
    for i in range(2):
        write_video(folder / f"v{i}.mp4", (rng.random((8, 24, 24, 3)) * 255).astype(np.uint8))
    (folder / "broken.webm").write_bytes(b"\x1a\x45\xdf\xa3 broken")
    out = tmp_path / "run"
    code = recipe.main(["--config", str(TINY), f"out_dir={out}", f"data.path={folder}", "train.steps=2"])
    assert code == 0
    captured = capsys.readouterr()
    assert "1 video file(s) could not be decoded and were skipped" in captured.out
    skipped = [line for line in captured.err.splitlines() if line.startswith("warning: skipped")]
    assert len(skipped) == 1 and skipped[0].startswith(f"warning: skipped {folder / 'broken.webm'}: ")
    assert (out / "samples" / "step_00000002" / "clip_00.mp4").is_file()


def test_bad_keys_are_one_line(tmp_path, capsys):
    assert recipe.main([f"out_dir={tmp_path}", "data.sise=3"]) == 2
    assert capsys.readouterr().err.strip() == "error: unknown config key 'data.sise'"
    assert recipe.main([f"out_dir={tmp_path}", "data.size=20"]) == 2
    assert "data.size: must be a positive multiple of 8" in capsys.readouterr().err


def test_generate_with_a_soundtrack(tiny_run, tmp_path):
    """--audio: the clip carries the sound, cut to the clip's length (3 seed + 7 frames at 10 fps = 1 s)."""
    from multigan.io.audio import read_audio, write_audio

    t = torch.arange(16000 * 3) / 16000
    write_audio(tmp_path / "tone.wav", 0.5 * torch.sin(2 * torch.pi * 440 * t), 16000)  # 3 s: trimmed
    seed = tmp_path / "seed.png"
    Image.fromarray(np.zeros((16, 16), np.uint8)).save(seed)
    out = tmp_path / "with_sound.mp4"
    args = ["generate", "--run", str(tiny_run), "--seed-frames", *[str(seed)] * 3, "--num-frames", "7"]
    assert recipe.main([*args, "--out", str(out), "--audio", str(tmp_path / "tone.wav")]) == 0
    assert read_video(out).shape[0] == 3 + 7
    sound, rate = read_audio(out)
    assert rate == 16000 and abs(sound.shape[1] / rate - 1.0) < 0.05  # AAC pads a little, never 3 s
    spectrum = torch.fft.rfft(sound[0, :8000].double()).abs()
    assert abs(int(spectrum.argmax()) * rate / 8000 - 440) < 4
    assert recipe.main([*args, "--out", str(tmp_path / "x.gif"), "--audio", str(tmp_path / "tone.wav")]) == 2


@pytest.mark.parametrize(
    "variant",
    ["model.core=gru", "model.pass_frames=1"],  # the other core; SimVP trained across its pass boundary
)
def test_other_generators_train_resume_and_generate(tmp_path, variant):
    out = tmp_path / "run"
    args = ["--config", str(TINY), f"out_dir={out}", variant, "train.steps=2"]
    assert recipe.main(args) == 0
    assert recipe.main([*args[:-1], "train.steps=3"]) == 0
    assert checkpoint_dirs(out / "checkpoints")[-1].name == "step_00000003"
    seed = tmp_path / "seed.png"
    Image.fromarray((np.random.default_rng(0).random((16, 16, 3)) * 255).astype(np.uint8)).save(seed)
    clip = tmp_path / "continued.mp4"
    gen = ["generate", "--run", str(out), "--seed-frames", *[str(seed)] * 3, "--num-frames", "5", "--out", str(clip)]
    assert recipe.main(gen) == 0
    assert read_video(clip).shape == (3 + 5, 16, 16, 3)


@pytest.mark.parametrize("n_critic", [1, 2])
def test_g_learns_through_the_fakes_d_saw_in_one_forward_pass_per_step(tmp_path, n_critic):
    # recon_weight=0: G's only gradient is the adversarial one, through the continuations made for D.
    overrides = [f"out_dir={tmp_path}", f"train.n_critic={n_critic}", "loss.recon_weight=0", "loss.adv_weight=1"]
    cfg = load_config(VideoConfig, TINY, overrides)
    trainer = Trainer(VideoAdapter(cfg), cfg)
    forwards: list[int] = []
    trainer.G.register_forward_hook(lambda *_: forwards.append(1))
    before = [p.detach().clone() for p in trainer.G.parameters()]
    for _ in range(2):
        assert trainer.train_step(trainer.phases[0])[1]
    # one pass per step when D's only update keeps its fakes for G; else one per D update and G's own
    assert len(forwards) == 2 * (1 if n_critic == 1 else n_critic + 1)
    changed = [not torch.equal(a, b.detach()) for a, b in zip(before, trainer.G.parameters())]
    assert sum(changed) > len(changed) // 2


def test_video_training_resumes_bit_exact(tmp_path):
    def weights(out, steps):
        cfg = load_config(VideoConfig, TINY, [f"out_dir={out}", f"train.steps={steps}", "train.checkpoint_every=2"])
        trainer = Trainer(VideoAdapter(cfg), cfg)
        trainer.fit()
        return {k: v.clone() for m in trainer.modules().values() for k, v in m.state_dict().items()}

    straight = weights(tmp_path / "a", 4)
    weights(tmp_path / "b", 2)
    resumed = weights(tmp_path / "b", 4)
    assert straight.keys() == resumed.keys()
    for key in straight:
        assert torch.equal(straight[key], resumed[key]), key
