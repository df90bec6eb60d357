"""The demo page in a real browser: headless Chromium (the system's, no browser download) driven by
Playwright against `python -m multigan.demo` serving a tiny trained video run and a tiny text run."""

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from multigan.io.video import probe
from multigan.recipes import text, video

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "recipes" / "tiny"
CHROMIUM = os.environ.get("MULTIGAN_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")

pytest.importorskip("gradio", reason='the demo extra is not installed (pip install -e ".[demo]")')
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (the dev extra has it)")
if CHROMIUM is None:
    pytest.skip(
        "no system Chromium (Debian: apt-get install chromium; or set MULTIGAN_CHROMIUM)", allow_module_level=True
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The page on a free port, over a tiny video run (3 seed frames) and a tiny text run."""
    root = tmp_path_factory.mktemp("demo")
    assert video.main(["--config", str(TINY / "video.yaml"), f"out_dir={root / 'video'}"]) == 0
    assert text.main(["--config", str(TINY / "text.yaml"), f"out_dir={root / 'text'}"]) == 0
    port = free_port()
    log = open(root / "server.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "multigan.demo", "--run", str(root / "video"), "--run", str(root / "text")]
        + ["--port", str(port), "--time-limit", "30", "--max-upload-mb", "1"],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=os.environ | {"GRADIO_TEMP_DIR": str(root / "gradio")},
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail("the demo server did not come up:\n" + (root / "server.log").read_text())
            time.sleep(0.5)
    yield {"url": url, "root": root, "proc": proc}
    proc.terminate()
    proc.wait(timeout=20)
    log.close()


@pytest.fixture(scope="module")
def page(server):
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        tab = browser.new_page(viewport={"width": 1280, "height": 900})
        tab.goto(server["url"])
        tab.wait_for_selector("#run0-generate")
        yield tab
        browser.close()


def seed_frames(folder: Path, n: int = 3) -> list[str]:
    folder.mkdir(exist_ok=True)
    paths = []
    for i in range(n):
        frame = np.zeros((16, 16), np.uint8)
        frame[4 + i : 10 + i, 5:11] = 255  # a square moving down
        Image.fromarray(frame).save(folder / f"frame_{i}.png")
        paths.append(str(folder / f"frame_{i}.png"))
    return paths


def generate_clip(page, files: list[str], frames: int) -> str:
    """Upload `files` as seed frames, ask for `frames` frames, and return the page's message."""
    page.locator("#run0-files input[type=file]").set_input_files(files)
    page.wait_for_selector("#run0-files .file-preview", timeout=20_000)
    number = page.locator("#run0-frames input[type=number]")
    number.fill(str(frames))
    number.press("Enter")
    before = page.locator("#run0-message").inner_text()
    page.click("#run0-generate")
    page.wait_for_function(  # the message, not Gradio's timer, which the component shows meanwhile
        "before => { const m = document.querySelector('#run0-message'); if (!m) return false;"
        " const t = m.innerText.trim(); return t !== before && /^(error: .+|\\d+ frames)$/.test(t); }",
        arg=before,
        timeout=60_000,
    )
    return page.locator("#run0-message").inner_text().strip()


def clear_files(page) -> None:
    clear = page.locator("#run0-files button[aria-label='Clear']")
    if clear.count():
        clear.first.click()


def test_seed_frames_give_a_playable_clip_of_the_right_length(page, server, tmp_path):
    message = generate_clip(page, seed_frames(tmp_path), frames=7)
    assert message == "10 frames"  # 3 seed frames + 7 generated
    player = page.locator("#run0-clip video")
    player.wait_for(timeout=20_000)
    page.wait_for_function("() => document.querySelector('#run0-clip video').readyState >= 2", timeout=20_000)
    assert page.evaluate("() => document.querySelector('#run0-clip video').duration") > 0
    with urllib.request.urlopen(player.get_attribute("src")) as response:  # what the download button fetches
        (tmp_path / "clip.mp4").write_bytes(response.read())
    assert probe(tmp_path / "clip.mp4", exact=True).frames == 10
    clear_files(page)


def test_a_text_file_as_a_seed_frame_is_one_line_and_the_next_request_works(page, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("not a picture\n")
    frames = seed_frames(tmp_path)
    message = generate_clip(page, [notes, *frames[1:]], frames=4)
    assert message == "error: cannot read seed frame 'notes.txt': not an image Pillow can decode"
    clear_files(page)
    assert generate_clip(page, frames, frames=4) == "7 frames"
    clear_files(page)


def test_a_prompt_is_continued(page):
    page.get_by_role("tab", name="text: text").click()
    page.locator("#run1-prompt textarea").fill("The value")
    page.click("#run1-generate")
    page.wait_for_function("() => document.querySelector('#run1-texts textarea').value.length > 0", timeout=60_000)
    samples = page.locator("#run1-texts textarea").input_value().split("\n\n----\n\n")
    assert len(samples) == 2 and all(s.startswith("The value") and len(s) > len("The value") for s in samples)
    assert "\ufffd" not in "".join(samples)
    page.get_by_role("tab", name="video: video").click()


def test_the_header_names_each_run_its_step_and_its_figures(page):
    header = page.locator("#header").inner_text()
    assert re.search(r"video\s+video: step 4; evaluation: mse 0\.\d+, psnr \d+", header), header
    assert re.search(r"text\s+text: step \d+; not evaluated yet", header), header


def test_an_upload_over_the_cap_is_refused_and_the_server_keeps_serving(server, tmp_path):
    big = tmp_path / "big.png"
    big.write_bytes(b"\0" * (1024 * 1024 + 1))
    boundary = "multigan-boundary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="big.png"\r\n\r\n'.encode()
        + big.read_bytes()
        + f"\r\n--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(
        server["url"] + "gradio_api/upload", body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 413 and b"maximum allowed size" in refused.value.read()
    assert urllib.request.urlopen(server["url"], timeout=10).status == 200
