"""The audio recipe end to end, as a user runs it: tiny runs of both modes on the embedded notes, a
folder of your own sound with a corrupt and a silent file, the spectrogram inversion, and the API."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import multigan
from multigan.audio import evaluate as audio_evaluate
from multigan.audio import synth
from multigan.audio.config import AudioConfig, AudioDataConfig
from multigan.audio.data import load_audio_folder
from multigan.audio.models import PhaseShuffle, build_discriminator, build_generator
from multigan.audio.spectrogram import LogMel
from multigan.core.checkpoint import checkpoint_dirs
from multigan.core.config import load_config
from multigan.io.audio import read_audio, write_audio
from multigan.io.video import write_video
from multigan.metrics.audio import estimate_f0, hz_to_midi, silent_share, spectral_convergence
from multigan.recipes import audio as recipe

TINY = Path(__file__).resolve().parents[2] / "recipes" / "tiny" / "audio.yaml"
RATE = 16000


def sine(freq: float, seconds: float, rate: int = RATE, amplitude: float = 0.5) -> torch.Tensor:
    t = torch.arange(round(seconds * rate), dtype=torch.float64) / rate
    return (amplitude * torch.sin(2 * torch.pi * freq * t)).float()


def dominant_hz(wave: torch.Tensor, rate: int = RATE) -> float:
    spectrum = torch.fft.rfft(wave.double()).abs()
    return int(spectrum.argmax()) * rate / wave.shape[-1]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Tiny trained runs of both modes (the evaluation's classifier trained for a few steps only)."""
    root = tmp_path_factory.mktemp("audio")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MULTIGAN_CACHE", str(root / "cache"))
        mp.setattr(audio_evaluate, "CLASSIFIER_STEPS", 5)
        for mode in ("spectrogram", "waveform"):
            assert recipe.main(["--config", str(TINY), f"out_dir={root / mode}", f"mode={mode}"]) == 0
    return root


def test_the_notes_are_deterministic_and_hold_out_pairs():
    train, test = synth.notes("train"), synth.notes("test")
    assert len(train) == 80 * synth.TRAIN_VARIANTS and len(test) == 100 * (synth.VARIANTS - synth.TRAIN_VARIANTS)
    seen = {(timbre, midi) for timbre, midi, _, _ in train}
    assert len(seen) == 80 and ("organ", 60) not in seen and ("pluck", 61) not in seen and ("organ", 61) in seen
    again = synth.notes("train")
    assert all(np.array_equal(a[3], b[3]) for a, b in zip(train[:5], again[:5]))


@pytest.mark.parametrize("timbre", synth.TIMBRES)
@pytest.mark.parametrize("midi", [60, 71, 84])
def test_every_timbre_plays_its_pitch(timbre, midi):
    wave = synth.synthesise(timbre, midi, np.random.default_rng(0))
    assert 0.3 <= np.abs(wave).max() <= 0.9
    assert abs(hz_to_midi(estimate_f0(torch.from_numpy(wave), RATE)) - midi) < 0.2  # detuned by at most 8 cents


def test_a_folder_of_your_sound(tmp_path, capsys):
    """Class sub-folders; a stereo 44.1 kHz wav resampled; a video's sound; a corrupt and a silent file."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    stereo = torch.stack([sine(440, 1.5, 44100), sine(440, 1.5, 44100)])
    write_audio(tmp_path / "a" / "tone.wav", stereo, 44100)
    write_audio(tmp_path / "a" / "silence.flac", torch.zeros(RATE), RATE)
    (tmp_path / "b" / "broken.wav").write_bytes(b"RIFF" + bytes(range(200)))
    frames = np.zeros((10, 16, 16, 3), np.uint8)
    write_video(tmp_path / "b" / "clip.mp4", frames, fps=10, audio=sine(660, 1.0), sample_rate=RATE)
    (tmp_path / "b" / "notes.txt").write_text("not sound")
    data = load_audio_folder(tmp_path, AudioDataConfig(path=str(tmp_path), seconds=0.5))
    err = capsys.readouterr().err
    assert data.class_names == ["a", "b"]
    assert data.labels.tolist() == [0, 0, 0, 1, 1]  # 1.5 s -> 3 windows; the clip's 1 s -> 2
    assert data.waveforms.shape == (5, 8000) and data.sample_rate == RATE
    assert data.skipped == 1 and "broken.wav" in err
    assert data.silent == 2 and "2 silent window(s)" in err
    assert abs(dominant_hz(data.waveforms[0]) - 440) <= 2 and abs(dominant_hz(data.waveforms[3]) - 660) <= 2


def test_the_spectrogram_inverts_to_the_same_sound():
    cfg = AudioConfig()
    spec = LogMel(cfg)
    notes = torch.from_numpy(np.stack([synth.synthesise("organ", 69, np.random.default_rng(1))]))
    other = torch.from_numpy(np.stack([synth.synthesise("organ", 74, np.random.default_rng(1))]))
    x = spec(notes)
    assert x.shape == (1, 1, cfg.model.n_mels, cfg.model_frames) and x.min() >= -1 and x.max() <= 1
    torch.manual_seed(0)
    back = spec.invert(x)
    assert back.shape == notes.shape
    stft = LogMel(cfg).mel.spectrogram  # the magnitude STFT under the mel scale
    close, far = spectral_convergence(stft(notes), stft(back)), spectral_convergence(stft(notes), stft(other))
    assert close < 0.6 < far, (close, far)
    assert abs(hz_to_midi(estimate_f0(back[0], RATE)) - 69) < 0.3


def test_model_shapes_and_phase_shuffle():
    for mode, shape in (("spectrogram", (3, 1, 128, 64)), ("waveform", (3, 16000))):
        cfg = load_config(AudioConfig, None, [f"mode={mode}"])
        cfg.model.num_classes = 25
        G, D = build_generator(cfg), build_discriminator(cfg)
        out = G(torch.randn(3, cfg.model.z_dim), torch.tensor([0, 5, -1]))
        assert out.shape == shape and out.abs().max() <= 1
        assert D(out, torch.tensor([0, 5, 2])).shape == (3,)
    shuffle = PhaseShuffle(2)
    x = torch.arange(20.0).view(1, 1, 20).repeat(4, 3, 1)
    y = shuffle(x)
    assert y.shape == x.shape
    for row in y:  # each row is the input shifted by -2..2 samples, edges reflected
        shift = int(row[0, 10] - 10)
        assert abs(shift) <= 2 and torch.equal(row[:, 2:18], x[0, :, 2 + shift : 18 + shift])
    assert torch.equal(shuffle.eval()(x), x)


@pytest.mark.parametrize("mode", ["spectrogram", "waveform"])
def test_a_tiny_run_writes_notes_and_an_evaluation(runs, mode):
    run = runs / mode
    assert [p.name for p in checkpoint_dirs(run / "checkpoints")] == ["step_00000003", "step_00000006"]
    wavs = sorted((run / "samples" / "step_00000006").glob("*.wav"))
    assert [p.name for p in wavs] == ["00_60.wav", "01_61.wav", "02_62.wav", "03_63.wav"]
    assert (run / "samples" / "step_00000006.png").is_file()
    wave, rate = read_audio(wavs[0])
    assert rate == RATE and wave.shape == (1, RATE)
    report = json.loads((run / "evaluation.json").read_text())
    expected = ["real", "real, spectrogram round trip", "generated"] if mode == "spectrogram" else ["real", "generated"]
    assert list(report["rows"]) == expected and report["n_reference"] == 200
    generated = report["rows"]["generated"]
    assert generated["silent"] == 0 and generated["clipped"] == 0
    assert {"accuracy", "IS", "FD", "NDB", "f0_pitch_accuracy"} <= set(generated)
    assert report["rows"]["real"]["f0_pitch_accuracy"] == 1.0  # the detector hears the real notes right


def test_generate_a_label_and_the_python_api(runs, tmp_path, capsys):
    run = runs / "spectrogram"
    out = tmp_path / "notes"
    assert recipe.main(["generate", "--run", str(run), "--num", "3", "--label", "72", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.glob("*.wav")) == ["00_72.wav", "01_72.wav", "02_72.wav"]
    assert out.with_suffix(".png").is_file()
    model = multigan.load(run)
    waves, rate = model.generate(3, label=72, seed=0)
    assert rate == RATE and waves.shape == (3, RATE) and silent_share(waves) == 0
    written = torch.stack([read_audio(p)[0][0] for p in sorted(out.glob("*.wav"))])
    assert (written - waves).abs().max() < 1e-3  # the CLI writes what the API returns (16-bit)
    model.save_pretrained(tmp_path / "exported")
    again, _ = multigan.load(tmp_path / "exported").generate(3, label="72", seed=0)
    assert torch.equal(again, waves)
    assert recipe.main(["generate", "--run", str(run), "--label", "99"]) == 2
    assert "is not a label of this run" in capsys.readouterr().err


def test_resuming_gives_the_same_weights(tmp_path):
    """Stopped at step 3 and trained again to 6: bit for bit the run that never stopped (the trainer
    alone; the recipe's end-of-training evaluation is covered above)."""
    from safetensors.torch import load_file

    from multigan.audio.adapter import AudioAdapter
    from multigan.core.trainer import Trainer

    def fit(out: Path, steps: int) -> None:
        cfg = load_config(AudioConfig, TINY, ["mode=waveform", f"out_dir={out}", f"train.steps={steps}"])
        Trainer(AudioAdapter(cfg), cfg).fit()

    fit(tmp_path / "straight", 6)
    fit(tmp_path / "stopped", 3)
    fit(tmp_path / "stopped", 6)
    a = load_file(tmp_path / "straight" / "checkpoints" / "step_00000006" / "G.safetensors")
    b = load_file(tmp_path / "stopped" / "checkpoints" / "step_00000006" / "G.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
