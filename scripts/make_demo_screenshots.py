"""Screenshots of the demo page's tabs for the README: assets/demo_<modality>.png.

    python scripts/make_demo_screenshots.py --run runs/video --run runs/image --run runs/text \\
        --run runs/translate --run runs/audio

Serves the runs with `python -m multigan.demo`, drives each tab in headless Chromium (the system's,
through Playwright) with the inputs a newcomer would try, waits for the result and saves the page:
- video: the first held-out clip (truth | generated), or, for a run without data, drawn seed frames;
- image: a grid of 16, and the image halfway between seeds 0 and 1;
- text: the prompt `--prompt` continued;
- translate: a held-out digit of scikit-learn's digits translated (and blended halfway);
- audio: four notes of the run's middle label, their players and spectrograms.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import multigan  # noqa: E402
from multigan.core.export import read_info  # noqa: E402


def wait_for_message(page, tag: str, timeout: float = 120_000) -> str:
    """The tab's message once it is a result or an error (not Gradio's timer)."""
    page.wait_for_function(
        "tag => { const m = document.querySelector(`#${tag}-message`); if (!m) return false;"
        " const t = m.innerText.trim(); return t && !/^[\\d.]+s$/.test(t) && !/^processing/.test(t); }",
        arg=tag,
        timeout=timeout,
    )
    return page.locator(f"#{tag}-message").inner_text().strip()


def wait_for(page, selector: str, timeout: float = 120_000) -> None:
    page.wait_for_selector(selector, timeout=timeout, state="visible")


def digit_png(path: Path) -> Path:
    from sklearn.datasets import load_digits

    digit = load_digits().images[-1]  # the last of the 1,797: a writer of the held-out fifth
    Image.fromarray((digit / 16 * 255).astype(np.uint8)).resize((32, 32), Image.Resampling.BICUBIC).save(path)
    return path


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--run", action="append", required=True)
    p.add_argument("--prompt", default="def ")
    p.add_argument("--out", default=str(ROOT / "assets"))
    args = p.parse_args()
    from playwright.sync_api import sync_playwright

    chromium = os.environ.get("MULTIGAN_CHROMIUM") or shutil.which("chromium")
    if chromium is None:
        print("error: no system Chromium (apt-get install chromium)", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="demo_shots_"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/"
    command = [sys.executable, "-m", "multigan.demo", "--port", str(port), *(a for r in args.run for a in ("--run", r))]
    server = subprocess.Popen(command, stdout=open(work / "server.log", "w"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 300
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                print((work / "server.log").read_text(), file=sys.stderr)
                return 1
            time.sleep(1)
    out = Path(args.out)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(url)
            wait_for(page, "#run0-generate")
            for i, run in enumerate(args.run):
                modality, tag = read_info(run)["modality"], f"run{i}"
                page.locator(f"button[role=tab]:has-text('{modality}: {Path(run).name}')").click()
                wait_for(page, f"#{tag}-generate")
                if modality == "video":
                    page.locator(f"#{tag}-heldout input").click()
                    page.get_by_role("option").nth(1).click()
                    page.click(f"#{tag}-generate")
                    print(modality, wait_for_message(page, tag))
                    page.wait_for_function(
                        f"() => document.querySelector('#{tag}-clip video')?.readyState >= 2", timeout=60_000
                    )
                    page.evaluate(f"() => {{ const v = document.querySelector('#{tag}-clip video'); v.pause(); "
                                  "v.currentTime = v.duration * 0.9; }")  # fmt: skip
                    time.sleep(1)
                elif modality == "image":
                    page.click(f"#{tag}-generate")
                    wait_for(page, f"#{tag}-grid img")
                    page.click(f"#{tag}-interpolate")
                    wait_for(page, f"#{tag}-between img")
                elif modality == "text":
                    page.locator(f"#{tag}-prompt textarea").fill(args.prompt)
                    page.click(f"#{tag}-generate")
                    page.wait_for_function(
                        f"() => document.querySelector('#{tag}-texts textarea').value.length > 0", timeout=120_000
                    )
                elif modality == "translate":
                    page.locator(f"#{tag}-source input[type=file]").set_input_files(str(digit_png(work / "digit.png")))
                    time.sleep(2)
                    page.click(f"#{tag}-generate")
                    wait_for(page, f"#{tag}-result img")
                elif modality == "audio":
                    labels = multigan.load(run).class_names
                    if labels:
                        page.locator(f"#{tag}-label input").click()
                        page.get_by_role("option", name=labels[len(labels) // 2], exact=True).click()
                    page.click(f"#{tag}-generate")
                    wait_for(page, f"#{tag}-spectrograms img")
                time.sleep(1)
                target = out / f"demo_{modality}.png"
                page.screenshot(path=str(target), full_page=True)
                print(f"wrote {target}")
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
