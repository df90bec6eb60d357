"""What the demo page's buttons run, through the run's own process (no browser, and no Gradio but
for the page-building test): every modality's task, bad input as one line, the time limit, and the
command line's own errors."""

import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from multigan.demo.worker import ModelWorker, RequestError
from multigan.io.video import probe
from multigan.recipes import audio, image, translate, video

TINY = Path(__file__).resolve().parents[2] / "recipes" / "tiny"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo_runs")
    for name, recipe in (("image", image), ("video", video), ("translate", translate), ("audio", audio)):
        assert recipe.main(["--config", str(TINY / f"{name}.yaml"), f"out_dir={root / name}"]) == 0
    return root


@pytest.fixture(scope="module")
def workers(runs):
    made = {name: ModelWorker(runs / name, time_limit=60) for name in ("image", "video", "translate", "audio")}
    yield made
    for worker in made.values():
        worker.close()


def png(path) -> np.ndarray:
    return np.asarray(Image.open(path))


def test_each_run_says_what_its_tab_offers(workers):
    assert workers["image"].info.modality == "image" and workers["image"].info.abilities == {"classes": 0}
    can = workers["video"].info.abilities
    assert can["context"] == 3 and can["keywords"] is False
    assert can["heldout"] == ["held-out clip 0", "held-out clip 1", "held-out clip 2"]
    assert workers["translate"].info.abilities == {"reference": False, "blend": True, "directions": ["a2b", "b2a"]}
    assert workers["audio"].info.abilities["labels"][:2] == ["60", "61"]


def test_image_grid_and_the_point_between_two_seeds(workers, tmp_path):
    grid = png(workers["image"].call("image_grid", out=tmp_path, label=None, count=6, seed=1)["image"])
    assert grid.shape[:2] == (2 + 3 * 18, 2 + 2 * 18)  # 6 images of 16 px, 2 to a row (save_image_grid), 2 px gaps
    (tmp_path / "b").mkdir()
    strip = png(
        workers["image"].call("image_between", out=tmp_path / "b", label=None, seed_a=1, seed_b=2, t=0.5)["image"]
    )
    tiles = [strip[2:18, 2 + 18 * i : 18 + 18 * i] for i in range(3)]
    first = png(workers["image"].call("image_grid", out=tmp_path, label=None, count=1, seed=1)["image"])  # no border
    assert np.array_equal(tiles[0], first)  # t = 0 end is seed a's own image
    assert not np.array_equal(tiles[1], tiles[0]) and not np.array_equal(tiles[1], tiles[2])


def test_video_heldout_clip_is_truth_beside_generated(workers, tmp_path):
    result = workers["video"].call(
        "video_heldout", out=tmp_path, index=1, keywords=None, num_frames=3, samples=2, seed=0
    )
    info = probe(result["video"], exact=True)
    assert info.frames == 6  # 3 context + 3 predicted
    assert (info.width, info.height) == (3 * 16 * 8 + 2 * 2 * 8, 16 * 8)  # truth | 2 samples, 8x nearest


def test_video_bad_requests_are_one_line(workers, tmp_path):
    with pytest.raises(RequestError, match="^upload seed frames or a video, pick a held-out clip$"):
        workers["video"].call("video_continue", out=tmp_path, files=[], keywords=None, num_frames=3, samples=1, seed=0)
    one = tmp_path / "one.png"
    Image.fromarray(np.zeros((16, 16), np.uint8)).save(one)
    with pytest.raises(RequestError, match=r"^the model needs 3 seed frames \(data.context\), got 1$"):
        workers["video"].call(
            "video_continue", out=tmp_path, files=[str(one)], keywords=None, num_frames=3, samples=1, seed=0
        )
    with pytest.raises(RequestError, match="^held-out clip 99 is not there"):
        workers["video"].call("video_heldout", out=tmp_path, index=99, keywords=None, num_frames=3, samples=1, seed=0)


def test_keywords_alone_draw_a_clip_and_the_heldout_clip_brings_its_caption(tmp_path):
    run = tmp_path / "keywords"
    assert video.main(["--config", str(TINY / "video_keywords.yaml"), f"out_dir={run}"]) == 0
    worker = ModelWorker(run, time_limit=60)
    try:
        can = worker.info.abilities
        assert can["keywords"] is True and can["context"] == 1
        assert can["heldout"][0].startswith("held-out clip 0: the digit ")  # its caption, from captions.csv
        drawn = worker.call(
            "video_continue",
            out=tmp_path,
            files=[],
            keywords="the digit 3 moves up and down",
            num_frames=4,
            samples=2,
            seed=0,
        )
        info = probe(drawn["video"], exact=True)
        assert info.frames == 4 and (info.width, info.height) == (2 * 16 * 8 + 2 * 8, 16 * 8)  # 2 samples side by side
        (tmp_path / "h").mkdir()
        heldout = worker.call(
            "video_heldout", out=tmp_path / "h", index=0, keywords="", num_frames=3, samples=1, seed=0
        )
        assert (
            heldout["caption"] == can["heldout"][0].split(": ", 1)[1]
            and probe(heldout["video"], exact=True).frames == 4
        )
    finally:
        worker.close()


def test_translate_keeps_the_source_beside_the_result_and_blends(workers, tmp_path):
    source = tmp_path / "digit.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (20, 30, 3), dtype=np.uint8)).save(source)
    full = png(
        workers["translate"].call(
            "translate_image", out=tmp_path, file=str(source), style=None, blend=1.0, direction="a2b"
        )["image"]
    )
    (tmp_path / "half").mkdir()
    half = png(
        workers["translate"].call(
            "translate_image", out=tmp_path / "half", file=str(source), style=None, blend=0.5, direction="a2b"
        )["image"]
    )
    assert full.shape == half.shape and full.shape[0] > 16 and full.shape[1] > 2 * 16
    assert not np.array_equal(full, half)
    with pytest.raises(RequestError, match="^--style needs a reference-guided run"):
        workers["translate"].call(
            "translate_image", out=tmp_path, file=str(source), style=str(source), blend=1.0, direction="a2b"
        )


def test_audio_sounds_are_not_silent_and_come_with_their_spectrograms(workers, tmp_path):
    result = workers["audio"].call("audio_generate", out=tmp_path, label="64", count=3, seed=0)
    assert len(result["sounds"]) == 3 and all(Path(p).name.endswith("_64.wav") for p in result["sounds"])
    with wave.open(result["sounds"][0]) as w:
        samples = np.frombuffer(w.readframes(w.getnframes()), np.int16)
    assert w.getframerate() == result["rate"] == 16000 and np.abs(samples).max() > 0
    assert png(result["image"]).shape[0] > 0
    with pytest.raises(RequestError, match=r"^--label: 'C4' is not a label of this run \(60, 61, "):
        workers["audio"].call("audio_generate", out=tmp_path, label="C4", count=1, seed=0)


def test_a_request_past_the_time_limit_is_cancelled_and_the_next_one_runs(runs, tmp_path):
    worker = ModelWorker(runs / "video", time_limit=1e-3)
    try:
        kwargs = dict(out=tmp_path, index=0, keywords=None, num_frames=3, samples=1, seed=0)
        with pytest.raises(RequestError, match=r"^the request ran past the time limit \(0.001 s\) and was cancelled"):
            worker.call("video_heldout", **kwargs)
        worker.time_limit = 60
        assert probe(worker.call("video_heldout", **kwargs)["video"], exact=True).frames == 6  # a fresh process
    finally:
        worker.close()


def test_a_run_that_cannot_be_loaded_is_one_line(tmp_path):
    with pytest.raises(Exception, match="is neither a run folder nor an exported model"):
        ModelWorker(tmp_path)


@pytest.mark.parametrize(
    "argv, says",
    [
        (["--run", "/nonexistent/run"], "error: /nonexistent/run does not exist"),
        (["--run", "x", "--port", "0"], "error: --port must be in 1..65535"),
        ([], "error: the following arguments are required: --run"),
    ],
)
def test_the_command_line_errors_are_one_line_and_status_2(argv, says):
    pytest.importorskip("gradio", reason="the demo extra is not installed")
    done = subprocess.run([sys.executable, "-m", "multigan.demo", *argv], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stderr.startswith(says) and done.stderr.count("\n") == 1, done.stderr


def test_the_page_has_a_tab_per_run_and_reads_only_uploads(workers, runs, tmp_path):
    pytest.importorskip("gradio", reason="the demo extra is not installed")
    from multigan.demo.page import Page, describe_run, headline

    page = Page(workers, [describe_run(str(runs / "video"), "video", None)], tmp_path)
    blocks = page.build()
    tabs = [b.label for b in blocks.blocks.values() if type(b).__name__ == "Tab"]
    assert tabs == ["image: image", "video: video", "translate: translate", "audio: audio"]
    with pytest.raises(RequestError, match="^only files uploaded through the page are read$"):
        page.uploaded("/etc/passwd")
    evaluation = {"model": {"mse": {"per_step": [1, 2], "mean": 0.04}, "psnr": {"mean": 14.7}}, "clips": 100}
    assert headline(evaluation) == ["mse 0.04", "psnr 14.7"]


@pytest.mark.gpu
def test_a_run_served_on_cuda_gives_the_same_kind_of_clip(runs, tmp_path):
    worker = ModelWorker(runs / "video", device="cuda", time_limit=120)
    try:
        result = worker.call("video_heldout", out=tmp_path, index=0, keywords=None, num_frames=3, samples=1, seed=0)
        assert probe(result["video"], exact=True).frames == 6
    finally:
        worker.close()
