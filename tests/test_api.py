"""multigan.load: every recipe's run folder and exported folder, without the training data, and the
same outputs for the same seed in fresh processes."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import multigan
from multigan.core.errors import MultiganError
from multigan.recipes import image, text, video

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "recipes" / "tiny"

SCRIPT = """
import hashlib, json, sys
import numpy as np, torch
import multigan

out = {}
for name in ("image", "video", "text"):
    for where in ("run", "export"):
        model = multigan.load(f"{sys.argv[1]}/{name}_{where}")
        if name == "image":
            result = model.generate(6, seed=3).numpy().tobytes()
        elif name == "video":
            seed = np.random.default_rng(0).integers(0, 255, (3, 20, 20, 1), dtype=np.uint8)
            result = model.generate(seed, num_frames=4, samples=2, seed=3).numpy().tobytes()
        else:
            result = "\\n".join(model.generate("The value", max_new_tokens=6, num_samples=3, seed=3)).encode()
        out[f"{name}_{where}"] = hashlib.sha256(result).hexdigest()
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A tiny trained run of each recipe and its export; the training data is gone afterwards."""
    root = tmp_path_factory.mktemp("api")
    cache = root / "cache"
    for name, recipe in (("image", image), ("video", video), ("text", text)):
        args = ["--config", str(TINY / f"{name}.yaml"), f"out_dir={root / (name + '_run')}"]
        if name == "video":
            args.append(f"data.cache_dir={cache}")
        assert recipe.main(args) == 0
        multigan.load(root / f"{name}_run").save_pretrained(root / f"{name}_export")
    shutil.rmtree(cache)  # the moving digits: sampling must not need them
    return root


def test_outputs_follow_the_documented_shapes(runs):
    images = multigan.load(runs / "image_run").generate(5, seed=0)
    assert images.dtype == torch.uint8 and images.shape == (5, 1, 16, 16)
    model = multigan.load(runs / "video_export")
    frames = np.zeros((4, 30, 40, 3), dtype=np.uint8)  # any size and channels: cut and resized
    clips = model.generate(frames, num_frames=5, samples=2)
    assert clips.dtype == torch.uint8 and clips.shape == (2, 5, 1, 16, 16)
    texts = multigan.load(runs / "text_run").generate("The value", max_new_tokens=4, num_samples=2)
    assert len(texts) == 2 and all(t.startswith("The value") and "\ufffd" not in t for t in texts)


def test_video_seed_frames_as_image_files(runs, tmp_path):
    paths = []
    for i in range(3):
        paths.append(tmp_path / f"f{i}.png")
        Image.fromarray(np.full((24, 24), 40 * i, dtype=np.uint8)).save(paths[-1])
    model = multigan.load(runs / "video_run")
    from_files = model.generate(paths, num_frames=3, seed=1)
    array = np.stack([np.asarray(Image.open(p))[:, :, None] for p in paths])
    assert torch.equal(from_files, model.generate(array, num_frames=3, seed=1))


def test_an_export_is_self_contained(runs, tmp_path):
    for name in ("image", "video", "text"):
        moved = tmp_path / name
        shutil.copytree(runs / f"{name}_export", moved)
        info = json.loads((moved / "multigan.json").read_text())
        assert info["modality"] == name and info["kind"] == "export"
        assert (moved / "generator.safetensors").is_file() and (moved / "README.md").is_file()
        assert not (moved / "checkpoints").exists()
        assert multigan.load(moved) is not None
    assert (tmp_path / "text" / "tokenizer" / "tokenizer.json").is_file()
    card = (runs / "video_export" / "README.md").read_text()
    assert "evaluation.json" in card and '"mse"' in card  # the run's figures


def test_same_seed_same_output_in_fresh_processes_from_run_and_export(runs):
    def run_once() -> dict[str, str]:
        proc = subprocess.run([sys.executable, "-c", SCRIPT, str(runs)], capture_output=True, text=True, check=True)
        return json.loads(proc.stdout.strip().splitlines()[-1])

    first, second = run_once(), run_once()
    assert first == second
    for name in ("image", "video", "text"):
        assert first[f"{name}_run"] == first[f"{name}_export"], name


def test_bad_paths_are_one_line_errors(runs, tmp_path):
    with pytest.raises(MultiganError, match="does not exist"):
        multigan.load(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(MultiganError, match="neither a run folder nor an exported model"):
        multigan.load(tmp_path / "empty")
