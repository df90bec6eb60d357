"""Bad input gets one clear line and exit status 2, never a traceback, in every recipe and verb."""

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from multigan.core.config import save_config
from multigan.io.audio import write_audio
from multigan.recipes import audio, image, text, translate, video

ROOT = Path(__file__).resolve().parents[1]
TINY_VIDEO = ROOT / "recipes" / "tiny" / "video.yaml"
TINY_TRANSLATE = ROOT / "recipes" / "tiny" / "translate.yaml"
RECIPES = {"video": video, "image": image, "text": text, "translate": translate, "audio": audio}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """Files a user might pass by mistake, an untrained run folder per recipe, a trained video run and
    a copy of it whose only checkpoint is damaged, a trained translate run and an image to translate."""
    root = tmp_path_factory.mktemp("bad")
    (root / "notes.txt").write_text("these are not video frames\n")
    (root / "notes.mp4").write_text("a text file with a video's name\n")
    (root / "empty_folder").mkdir()
    (root / "not_yaml.yaml").write_text("train: {steps: [1, 2\n  batch_size: }\n")
    (root / "empty.txt").write_text("")
    (root / "binary.bin").write_bytes(bytes(range(256)) * 16)
    (root / "nul.txt").write_bytes(b"\x00" * 512)
    for name, module in RECIPES.items():
        run = root / f"untrained_{name}"
        (run / "checkpoints").mkdir(parents=True)
        save_config(module.CONFIG_CLASS(), run / "config.yaml")
    trained = root / "video_run"
    assert video.main(["--config", str(TINY_VIDEO), f"out_dir={trained}", "train.steps=2"]) == 0
    translated = root / "translate_run"
    assert translate.main(["--config", str(TINY_TRANSLATE), f"out_dir={translated}", "train.steps=2"]) == 0
    Image.fromarray(np.zeros((16, 16), np.uint8)).save(root / "digit.png")
    (root / "sounds").mkdir()  # one corrupt file and one silent one: nothing to train on
    (root / "sounds" / "broken.wav").write_bytes(b"RIFF" + bytes(range(100)))
    write_audio(root / "sounds" / "silence.wav", np.zeros(16000, np.float32), 16000)
    damaged = root / "video_damaged"
    shutil.copytree(trained, damaged)
    for weights in damaged.glob("checkpoints/step_*/G_ema.safetensors"):
        weights.write_bytes(weights.read_bytes()[:100])
    return root


def _fingerprint(run: Path) -> dict[str, str]:
    return {str(p.relative_to(run)): hashlib.sha256(p.read_bytes()).hexdigest() for p in run.rglob("*") if p.is_file()}


GENERATE = {
    "video": ["generate", "--seed-frames", "a.png"],
    "image": ["generate"],
    "text": ["generate"],
    "translate": ["generate", "--input", "a.png"],
    "audio": ["generate"],
}

# (recipe, argv with {root} for the inputs folder, what the one line must say)
CASES = [
    *[(name, [*GENERATE[name], "--run", "{root}/no_such_run"], "does not exist") for name in RECIPES],
    *[(name, ["evaluate", "--run", "{root}/no_such_run"], "does not exist") for name in RECIPES],
    *[(name, [*GENERATE[name], "--run", "{root}/untrained_" + name], "no checkpoint") for name in RECIPES],
    *[(name, ["evaluate", "--run", "{root}/untrained_" + name], "no checkpoint") for name in RECIPES],
    *[(name, ["--config", "{root}/not_yaml.yaml"], "invalid YAML at line") for name in RECIPES],
    ("image", ["--config", "{root}/binary.bin"], "not a YAML file"),
    *[(name, ["--config", "{root}/missing.yaml"], "config file not found") for name in RECIPES],
    *[(name, ["train.no_such_key=1"], "unknown config key 'train.no_such_key'") for name in RECIPES],
    *[(name, ["train.steps=many"], "train.steps") for name in RECIPES],
    *[
        (name, [*GENERATE[name], "--run", "{root}/video_run", "--no-such-flag"], "unrecognized arguments")
        for name in RECIPES
    ],
    ("video", ["generate", "--run", "{root}/video_run", "--seed-frames", *["{root}/notes.txt"] * 3], "not an image"),
    ("video", ["generate", "--run", "{root}/video_run", "--seed-video", "{root}/notes.mp4"], "cannot decode video"),
    ("video", ["generate", "--run", "{root}/video_run", "--seed-video", "{root}/none.mp4"], "no such file"),
    ("video", ["generate", "--run", "{root}/video_run", "--seed-frames", "a.png", "--num-frames", "0"], "at least 1"),
    ("video", ["generate", "--run", "{root}/video_run", "--seed-frames", "a.png", "--out", "x.doc"], "--out must"),
    ("video", ["generate", "--run", "{root}/video_damaged", "--seed-frames", "a.png"], "is intact"),
    ("video", ["evaluate", "--run", "{root}/video_run", "--predict", "0"], "--predict must be at least 1"),
    ("video", ["evaluate", "--run", "{root}/video_run", "--checkpoint", "best"], "kept by train.eval_every=N"),
    ("video", ["evaluate", "--run", "{root}/video_run", "--checkpoint", "../x"], "is not a checkpoint name"),
    ("video", ["train.on_collapse=explode"], "train.on_collapse: 'explode' is not one of warn, stop, rollback"),
    ("video", ["data.path={root}/no_such_folder"], "no_such_folder"),
    ("video", ["data.path={root}/notes.txt"], "no clips"),
    ("video", ["generate", "--run", "{root}/video_run", "--keywords", "3 up and down"], "trained without keywords"),
    ("video", ["generate", "--run", "{root}/video_run"], "give --seed-frames, --seed-video or --keywords"),
    ("video", ["model.keywords=true"], "data.grammar=single or two"),
    ("video", ["data.grammar=three"], "data.grammar: must be one of"),
    ("video", ["model.keywords=true", "data.grammar=single", "model.text_encoder={root}/no_such"], "not a folder"),
    ("image", ["generate", "--run", "{root}/untrained_image", "--num", "-1"], "--num must be at least 1"),
    ("image", ["data.path={root}/no_such_folder"], "no_such_folder"),
    ("image", ["data.path={root}/empty_folder"], "no images"),
    ("text", ["generate", "--run", "{root}/untrained_text", "--max-new-tokens", "-3"], "--max-new-tokens"),
    ("text", ["generate", "--run", "{root}/untrained_text", "--min-new-tokens", "99"], "--min-new-tokens"),
    ("text", ["generate", "--run", "{root}/untrained_text", "--top-p", "0"], "top_p"),
    ("text", ["evaluate", "--run", "{root}/untrained_text", "--num-samples", "1"], "--num-samples"),
    ("text", ["data.path={root}/empty.txt"], "found 0 example(s)"),
    ("text", ["data.path={root}/binary.bin"], "no readable UTF-8 text"),
    ("text", ["data.path={root}/nul.txt"], "no readable UTF-8 text"),
    ("text", ["data.path={root}/no_such_file.txt"], "neither a file nor a folder"),
    ("translate", ["mode=sideways"], "mode: 'sideways' is not one of"),
    ("translate", ["data.size=18"], "data.size: must be a multiple of 4"),
    ("translate", ["data.path_a={root}/empty_folder"], "give both domains' folders"),
    ("translate", ["data.path_a={root}/empty_folder", "data.path_b={root}/empty_folder"], "no images"),
    ("translate", ["data.path={root}/empty_folder"], "data.path"),
    ("translate", ["data.path_a={root}/no_such", "data.path_b={root}/no_such"], "is not a folder"),
    ("translate", ["mode=paired", "data.path_a={root}/a", "data.path_b={root}/b"], "mode=paired: data.path must"),
    ("translate", ["mode=paired", "loss.nce_weight=1", "loss.cycle_weight=0"], "mode=unpaired setting"),
    ("audio", ["mode=sideways"], "mode: 'sideways' is not one of"),
    ("audio", ["model.n_mels=100"], "model.n_mels: must be a power of two"),
    ("audio", ["model.n_mels=256", "model.n_fft=256"], "mel bands are empty"),
    ("audio", ["data.sample_rate=8000"], "the embedded notes are 1 s at 16000 Hz"),
    ("audio", ["data.seconds=0.01"], "at least 1024 samples"),
    ("audio", ["data.path={root}/empty_folder"], "no audio or video files"),
    ("audio", ["data.path={root}/no_such_folder"], "is not a folder"),
    ("audio", ["data.path={root}/sounds"], "no usable sound"),
    ("audio", ["generate", "--run", "{root}/untrained_audio", "--num", "0"], "--num must be at least 1"),
    *[
        ("translate", ["generate", "--run", "{root}/translate_run", *extra], says)
        for extra, says in [
            (["--input", "{root}/notes.txt"], "not an image Pillow can decode"),
            (["--input", "{root}/no_such.png"], "does not exist"),
            (["--input", "{root}/empty_folder"], "no images under"),
            (["--input", "{root}/digit.png", "--style", "{root}/digit.png"], "--style needs a reference-guided run"),
            (["--input", "{root}/digit.png", "--style", "{root}/no_such.png"], "--style: "),
            (["--input", "{root}/digit.png", "--blend", "1.5"], "every alpha must be between 0 and 1"),
            (["--input", "{root}/digit.png", "--blend", "half"], "invalid float value"),
            (["--input", "{root}/digit.png", "--direction", "c2d"], "invalid choice"),
            (["--input", "{root}/digit.png", "--size", "2"], "--size must be at least 8"),
        ]
    ],
]


@pytest.mark.parametrize(("recipe", "argv", "says"), CASES, ids=[f"{c[0]}:{' '.join(c[1])}" for c in CASES])
def test_bad_input_is_one_line_and_status_2(inputs, recipe, argv, says, capsys, tmp_path):
    before = {run: _fingerprint(inputs / run) for run in ("video_run", "translate_run")}
    args = [a.replace("{root}", str(inputs)) for a in argv]
    if args[0] not in ("generate", "evaluate"):
        args.append(f"out_dir={tmp_path / 'out'}")
    try:
        status = RECIPES[recipe].main(args)
    except SystemExit as exit_:  # argparse
        status = exit_.code
    out, err = capsys.readouterr()
    lines = [line for line in err.splitlines() if line.strip()]
    assert status == 2, (out, err)
    assert "Traceback" not in out + err
    assert 1 <= len(lines) <= 3, err
    assert lines[-1].startswith("error: ") and says in lines[-1], lines
    assert not lines[-1].startswith("error: ("), lines  # a message, not an exception's args tuple
    assert "weights_only=False" not in out + err
    assert {run: _fingerprint(inputs / run) for run in before} == before  # bad input loses nothing


@pytest.mark.parametrize(
    ("recipe", "argv"),
    [("video", ["--config", "{root}/not_yaml.yaml"]), ("text", ["generate", "--run", "{root}/no_such_run"])],
)
def test_the_command_line_itself_prints_one_line(inputs, recipe, argv):
    args = [a.replace("{root}", str(inputs)) for a in argv]
    proc = subprocess.run(
        [sys.executable, "-m", f"multigan.recipes.{recipe}", *args], capture_output=True, text=True, cwd=inputs
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert proc.stderr.startswith("error: ")
