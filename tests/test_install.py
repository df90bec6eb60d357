"""The compiled parts of every base dependency load and work together.

A resolution that pairs incompatible builds (torchaudio 2.11.1 with torch 2.11.0 once did: an
undefined symbol in libtorchaudio.so, and every transformers path failed with it) must fail here,
in CI, rather than on a user's machine.
"""

import io
from importlib.metadata import version

import numpy as np
import pytest
import torch


def test_torch_pins_match():
    assert torch.__version__.startswith("2.11.")
    assert version("torchvision").startswith("0.26.")
    assert version("torchaudio").startswith("2.11.0")


def test_torchaudio_native_ops():
    import torchaudio
    import torchaudio.functional as AF
    import torchaudio.transforms as AT

    wave = torch.sin(2 * torch.pi * 440 * torch.arange(16_000) / 16_000).unsqueeze(0)
    mel = AT.MelSpectrogram(sample_rate=16_000, n_fft=400, n_mels=32)(wave)
    assert mel.shape[:2] == (1, 32) and torch.isfinite(mel).all()
    filtered = AF.lfilter(wave, torch.tensor([1.0, 0.0]), torch.tensor([0.5, 0.5]))  # a compiled kernel
    assert filtered.shape == wave.shape
    assert AF.resample(wave, 16_000, 8_000).shape[-1] == 8_000
    assert torchaudio.__version__.startswith("2.11.0")


def test_torchvision_compiled_ops():
    from torchvision.ops import nms, roi_align

    boxes = torch.tensor([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60]], dtype=torch.float32)
    assert nms(boxes, torch.tensor([0.9, 0.8, 0.7]), 0.5).tolist() == [0, 2]
    out = roi_align(torch.rand(1, 1, 16, 16), [boxes[:1]], output_size=2)
    assert out.shape == (1, 1, 2, 2)


@pytest.mark.parametrize(
    ("fmt", "codec", "pix_fmt"), [("mp4", "libx264", "yuv420p"), ("webm", "libvpx-vp9", "yuv420p")]
)
def test_pyav_video_codecs_round_trip(fmt, codec, pix_fmt):
    import av

    buf = io.BytesIO()
    with av.open(buf, "w", format=fmt) as out:
        stream = out.add_stream(codec, rate=10)
        stream.width = stream.height = 32
        stream.pix_fmt = "yuv420p"
        for i in range(5):
            frame = av.VideoFrame.from_ndarray(np.full((32, 32, 3), 40 * i, dtype=np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    buf.seek(0)
    with av.open(buf) as inp:
        frames = [f.to_ndarray(format="rgb24") for f in inp.decode(video=0)]
    assert len(frames) == 5 and abs(int(frames[-1].mean()) - 160) < 8


@pytest.mark.parametrize(("fmt", "codec"), [("wav", "pcm_s16le"), ("flac", "flac"), ("ogg", "libopus")])
def test_pyav_audio_codecs_round_trip(fmt, codec):
    import av

    rate = 48_000 if codec == "libopus" else 16_000
    samples = (0.5 * np.sin(2 * np.pi * 440 * np.arange(rate // 2) / rate)).astype(np.float32)
    buf = io.BytesIO()
    with av.open(buf, "w", format=fmt) as out:
        stream = out.add_stream(codec, rate=rate, layout="mono")
        frame = av.AudioFrame.from_ndarray(samples[None], format="flt", layout="mono")
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    buf.seek(0)
    with av.open(buf) as inp:
        decoded = np.concatenate([f.to_ndarray().reshape(-1) for f in inp.decode(audio=0)])
    assert decoded.size >= samples.size * 0.9 and np.abs(decoded).max() > 0.3


def test_transformers_pipeline_with_a_local_tokenizer(tmp_path):
    from transformers import GPT2Config, GPT2LMHeadModel, pipeline

    from multigan.text.tokenizer import TextTokenizer

    tok = TextTokenizer.train(["a small corpus for a small tokenizer"] * 4, vocab_size=280)
    config = GPT2Config(vocab_size=len(tok.hf), n_positions=32, n_embd=16, n_layer=1, n_head=2)
    model = GPT2LMHeadModel(config)
    model.generation_config.pad_token_id = tok.pad_id
    generate = pipeline("text-generation", model=model, tokenizer=tok.hf, device="cpu")
    out = generate("a small", max_new_tokens=3, do_sample=False)
    assert out[0]["generated_text"].startswith("a small")


def test_other_compiled_dependencies():
    import safetensors.torch
    import sklearn.datasets
    import tokenizers
    from einops import rearrange
    from omegaconf import OmegaConf
    from PIL import Image

    assert safetensors.torch.load(safetensors.torch.save({"x": torch.ones(2)}))["x"].sum() == 2
    assert sklearn.datasets.load_digits().images.shape == (1797, 8, 8)
    assert tokenizers.Tokenizer(tokenizers.models.BPE()).get_vocab_size() == 0
    assert rearrange(torch.zeros(2, 3), "a b -> b a").shape == (3, 2)
    assert OmegaConf.create({"a": 1}).a == 1
    assert Image.fromarray(np.zeros((4, 4), dtype=np.uint8)).size == (4, 4)
