"""python -m multigan.demo --run RUN [--run RUN2 ...] [--port 7860] [--host 127.0.0.1]

Serves a page with one tab per run, on 127.0.0.1 unless --host says otherwise. Bad arguments, a
run that cannot be loaded, a busy port or a missing Gradio print one `error:` line and exit 2.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import shutil
import sys
import tempfile
from pathlib import Path

from multigan.core.cli import OneLineParser
from multigan.core.errors import MultiganError

PROG = "python -m multigan.demo"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = OneLineParser(prog=PROG, description="A local web page to try trained runs.")
    p.add_argument("--run", action="append", required=True, help="a run or exported folder (repeat for more runs)")
    p.add_argument("--checkpoint", default=None, help="load this checkpoint of every run (best, mle, step_N)")
    p.add_argument("--port", type=int, default=7860)
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default 127.0.0.1: this machine only; 0.0.0.0 lets anyone who can reach it in)",
    )
    p.add_argument("--device", default="auto", help="auto (a GPU when there is one), cpu, cuda or cuda:N")
    p.add_argument("--time-limit", type=float, default=60.0, help="seconds a request may run before it is cancelled")
    p.add_argument("--max-upload-mb", type=float, default=20.0, help="size cap of one uploaded file")
    return p.parse_args(argv)


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not 0 < args.port < 65536 or args.time_limit <= 0 or args.max_upload_mb <= 0:
        print("error: --port must be in 1..65535, --time-limit and --max-upload-mb above 0", file=sys.stderr)
        return 2
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # the page phones nowhere
    try:
        import gradio  # noqa: F401
    except ImportError:
        print('error: the demo page needs Gradio: pip install -e ".[demo]"', file=sys.stderr)
        return 2
    from multigan.demo.page import Page, describe_run
    from multigan.demo.worker import ModelWorker

    workers: dict[str, ModelWorker] = {}
    out_root = Path(tempfile.mkdtemp(prefix="multigan-demo-"))
    try:
        for run in args.run:
            if run in workers:
                continue
            print(f"loading {run} ...", flush=True)
            workers[run] = ModelWorker(run, device=args.device, checkpoint=args.checkpoint, time_limit=args.time_limit)
        headers = [describe_run(run, w.info.modality, args.checkpoint) for run, w in workers.items()]
        page = Page(workers, headers, out_root).build()
        page.queue(max_size=64)
        if not is_loopback(args.host):
            print(
                f"serving on {args.host}: anyone who can reach this machine on port {args.port} can use the page "
                "and its CPU or GPU time; there is no login",
                flush=True,
            )
        page.launch(
            server_name=args.host,
            server_port=args.port,
            max_file_size=int(args.max_upload_mb * 1024 * 1024),  # bytes
            allowed_paths=[str(out_root)],
            ssr_mode=False,
            show_error=False,
            footer_links=[],
        )
    except MultiganError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # e.g. the port is taken
        print(f"error: cannot serve on {args.host}:{args.port}: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    finally:
        for worker in workers.values():
            worker.close()
        shutil.rmtree(out_root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
