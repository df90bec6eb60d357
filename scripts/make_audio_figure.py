"""The picture in README.md and docs/AUDIO.md: log-mel spectrograms of real notes and of generated ones.

    python scripts/make_audio_figure.py --runs runs/audio runs/audio_waveform --out assets/audio_notes.png

Columns: the pitches 60, 64, 67, 72, 76, 79, 84 (C4 E4 G4 C5 E5 G5 C6). Rows: a real note of the test
split, the same notes through the spectrogram mode's log-mel and Griffin-Lim (the inversion's
ceiling), then one row per run, drawn with --label at
seed 0 and read back through the same log-mel front end (low pitches at the bottom of each tile).
It also prints the f0 each tile's note is heard at, in MIDI.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from torchvision.utils import save_image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import multigan  # noqa: E402
from multigan.audio.config import AudioConfig  # noqa: E402
from multigan.audio.data import load_audio  # noqa: E402
from multigan.audio.spectrogram import LogMel  # noqa: E402
from multigan.metrics.audio import estimate_f0, hz_to_midi  # noqa: E402

PITCHES = (60, 64, 67, 72, 76, 79, 84)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", nargs="+", required=True)
    p.add_argument("--out", default=str(ROOT / "assets" / "audio_notes.png"))
    args = p.parse_args()
    cfg = AudioConfig()
    test = load_audio(cfg.data, "test")
    real = []
    for i, pitch in enumerate(PITCHES):
        rows = (test.labels == test.class_names.index(str(pitch))).nonzero().flatten()
        real.append(test.waveforms[rows[(2 * i) % len(rows)]])
    rows = [("real", torch.stack(real))]
    spectrogram = LogMel(cfg)
    torch.manual_seed(0)  # Griffin-Lim's initial phases
    rows.append(("real, through the spectrogram and Griffin-Lim", spectrogram.invert(spectrogram(rows[0][1]))))
    for run in args.runs:
        model = multigan.load(run)
        waves = torch.cat([model.generate(1, label=str(pitch), seed=0)[0] for pitch in PITCHES])
        rows.append((f"{run} (mode={model.cfg.mode})", waves))
    picture = LogMel(cfg)
    tiles = []
    for name, waves in rows:
        heard = [f"{float(hz_to_midi(estimate_f0(w, cfg.data.sample_rate))):.1f}" for w in waves]
        print(f"{name}: asked {list(PITCHES)}, heard {heard}")
        tiles.append(picture(waves)[..., : cfg.frames].flip(-2))
    save_image(torch.cat(tiles).add(1).div(2), args.out, nrow=len(PITCHES), padding=2, pad_value=1)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
