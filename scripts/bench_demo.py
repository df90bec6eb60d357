"""Load on the demo page: sequential and concurrent requests through Gradio's own client.

    python scripts/bench_demo.py                       # tiny video + text runs, 40 sequential, 8 concurrent
    python scripts/bench_demo.py --runs runs/video runs/text --sequential 100 --concurrent 16

Starts `python -m multigan.demo` on the runs (by default a tiny video and a tiny text run trained
here), then sends, through gradio_client as a second program would:
1. `--sequential` requests one after another, alternating seed frames -> clip and prompt -> text;
2. `--concurrent` requests at once from as many clients, a third of them bad uploads (a text file
   as a seed frame) and one asking for a file on the server by path;
and checks that every request came back (a clip, a text or the one-line error), that the path was
refused, and that the server still answers. Latencies are wall times on this machine. Appends the
figures under "## Demo" in docs/BENCHMARKS.md unless --no-write.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from machine import append_to_section, machine_lines  # noqa: E402

from multigan.recipes import text, video  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(url: str, proc: subprocess.Popen, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("error: the demo server did not come up") from None
            time.sleep(0.5)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", nargs=2, metavar=("VIDEO_RUN", "TEXT_RUN"), default=None)
    p.add_argument("--sequential", type=int, default=40)
    p.add_argument("--concurrent", type=int, default=8)
    p.add_argument("--no-write", action="store_true")
    p.add_argument("--out", default=str(ROOT / "docs" / "BENCHMARKS.md"))
    args = p.parse_args(argv)
    from gradio_client import Client, handle_file

    work = Path(tempfile.mkdtemp(prefix="bench_demo_"))
    if args.runs:
        video_run, text_run = map(Path, args.runs)
    else:
        video_run, text_run = work / "video", work / "text"
        tiny = ROOT / "recipes" / "tiny"
        assert video.main(["--config", str(tiny / "video.yaml"), f"out_dir={video_run}"]) == 0
        assert text.main(["--config", str(tiny / "text.yaml"), f"out_dir={text_run}"]) == 0
    k = 3 if not args.runs else 10
    frames = []
    for i in range(k):
        frame = np.zeros((16, 16), np.uint8)
        frame[2 + i % 10 : 8 + i % 10, 5:11] = 255
        Image.fromarray(frame).save(work / f"frame_{i}.png")
        frames.append(str(work / f"frame_{i}.png"))
    (work / "notes.txt").write_text("not a picture\n")

    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    log = open(work / "server.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "multigan.demo", "--run", str(video_run), "--run", str(text_run), "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    started = datetime.now(UTC)
    lines_machine = machine_lines()
    try:
        wait_up(url, server)

        def video_request(client: Client, files: list[str]) -> tuple[bool, str]:
            clip, message = client.predict(
                [handle_file(f) for f in files], "(none)", "", 5, 1, 0, api_name="/run0_generate"
            )
            return bool(clip) and message == f"{k + 5} frames", message

        def text_request(client: Client) -> tuple[bool, str]:
            texts, message = client.predict("The value", 24, 1.0, 0, 1.0, 2, 0, api_name="/run1_generate")
            return texts.startswith("The value") and message == "", message or texts[:40]

        def bad_request(client: Client) -> tuple[bool, str]:
            clip, message = client.predict(
                [handle_file(str(work / "notes.txt")), *map(handle_file, frames[1:])],
                "(none)",
                "",
                5,
                1,
                0,
                api_name="/run0_generate",
            )
            return clip is None and message.startswith("error: cannot read seed frame 'notes.txt'"), message

        def path_request(client: Client) -> tuple[bool, str]:
            """Seed frames named by server paths (real images there), sent as raw API JSON, the way a
            visitor could try without uploading: the server must not open them."""
            files = [{"path": f, "meta": {"_type": "gradio.FileData"}} for f in frames]
            body = json.dumps({"data": [files, "(none)", "", 5, 1, 0]}).encode()
            call = f"{url}gradio_api/call/run0_generate"
            request = urllib.request.Request(call, body, {"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(request, timeout=60) as response:
                    event = json.loads(response.read())["event_id"]
                with urllib.request.urlopen(f"{call}/{event}", timeout=60) as response:
                    stream = response.read().decode()
            except urllib.error.HTTPError as err:
                return True, f"refused with HTTP {err.code}"
            made_clip = "clip.mp4" in stream
            events = [line.removeprefix("event: ") for line in stream.splitlines() if line.startswith("event:")]
            return (
                not made_clip,
                f"server paths sent as seed frames: answered with event(s) {', '.join(events)}, no clip",
            )

        client = Client(url, verbose=False)
        sequential: list[tuple[str, bool, float, str]] = []
        for i in tqdm(range(args.sequential), desc="sequential requests", unit="req"):
            kind = "video" if i % 2 == 0 else "text"
            t0 = time.perf_counter()
            ok, message = video_request(client, frames) if kind == "video" else text_request(client)
            sequential.append((kind, ok, time.perf_counter() - t0, message))

        kinds = ["path"] + [
            "bad" if i % 3 == 2 else ("video" if i % 3 == 0 else "text") for i in range(args.concurrent - 1)
        ]

        def one(kind: str) -> tuple[str, bool, float, str]:
            c = Client(url, verbose=False)
            t0 = time.perf_counter()
            if kind == "video":
                ok, message = video_request(c, frames)
            elif kind == "text":
                ok, message = text_request(c)
            elif kind == "bad":
                ok, message = bad_request(c)
            else:
                ok, message = path_request(c)
            return kind, ok, time.perf_counter() - t0, message

        t0 = time.perf_counter()
        with ThreadPoolExecutor(len(kinds)) as pool:
            concurrent = list(pool.map(one, kinds))
        concurrent_wall = time.perf_counter() - t0
        urllib.request.urlopen(url, timeout=5)
        alive = server.poll() is None
        after_ok, _ = video_request(client, frames)
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()

    def latencies(rows, kind):
        xs = [r[2] for r in rows if r[0] == kind]
        return f"median {statistics.median(xs):.2f} s, max {max(xs):.2f} s over {len(xs)}" if xs else "none"

    failed = [r for r in sequential + concurrent if not r[1]]
    entry = [
        f"### {started:%Y-%m-%d %H:%M} UTC",
        "",
        f"`python scripts/bench_demo.py {' '.join(argv if argv is not None else sys.argv[1:])}`".replace(" `", "`"),
        "",
        *lines_machine,
        f"- runs: {video_run.name} (video, {k} seed frames -> 5 frames) and {text_run.name} (text, 24 new tokens x 2)",
        "",
        f"- sequential: {len(sequential)} requests, {sum(r[1] for r in sequential)} answered right; "
        f"video {latencies(sequential, 'video')}; text {latencies(sequential, 'text')}",
        f"- concurrent: {len(concurrent)} clients at once ({', '.join(sorted(set(kinds)))}: "
        + ", ".join(f"{kinds.count(x)} {x}" for x in sorted(set(kinds)))
        + f"), {sum(r[1] for r in concurrent)} answered right, all back in {concurrent_wall:.1f} s",
        *(f"  - {r[0]}: {r[3]}" for r in concurrent if r[0] in ("bad", "path")),
        f"- afterwards: the server {'still answers' if alive else 'is DOWN'}; a further request "
        f"{'came back right' if after_ok else 'FAILED'}",
    ]
    if failed:
        entry.append("- wrong answers: " + "; ".join(f"{r[0]}: {r[3]}" for r in failed[:5]))
    report = "\n".join(entry) + "\n"
    print(report)
    if not args.no_write:
        append_to_section(Path(args.out), "## Demo", report)
    return 0 if not failed and alive and after_ok else 1


if __name__ == "__main__":
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    sys.exit(main())
