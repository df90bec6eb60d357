"""One process per run: it loads the run with `multigan.load` and runs the page's requests one at a time.

A process, not a thread, so that a request over the time limit can really be stopped: the page
kills the process, answers with a message, and the next request starts a fresh one (the model
loads again in a few seconds). A crash in one run's process leaves the server and the other runs
serving.
"""

from __future__ import annotations

import multiprocessing as mp
import threading
import traceback
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from multigan.core.errors import MultiganError


class RequestError(MultiganError):
    """A request the page answers with one line (the CLI's `error: ...` line for bad input)."""


@dataclass
class RunInfo:
    """What the page needs to know of a run before it builds the run's tab."""

    modality: str
    abilities: dict[str, Any]


def _serve(run: str, device: str, checkpoint: str | None, conn: Connection) -> None:
    from multigan import load
    from multigan.demo import tasks

    try:
        model = load(run, device, checkpoint)
        conn.send(("ok", RunInfo(model.modality, tasks.abilities(model))))
    except MultiganError as err:
        conn.send(("error", str(err)))
        return
    while True:
        try:
            name, kwargs = conn.recv()
        except EOFError:  # the page went away
            return
        try:
            conn.send(("ok", tasks.TASKS[name](model, **kwargs)))
        except MultiganError as err:
            conn.send(("error", str(err)))
        except Exception as err:  # noqa: BLE001 -- one bad request must not end the run's process
            traceback.print_exc()
            conn.send(("error", f"internal error: {type(err).__name__}: {err}"))


class ModelWorker:
    """The page's handle on one run's process: `call(task, **kwargs)` runs `tasks.TASKS[task]` on the
    loaded model, one request at a time, and raises RequestError for an error or a request that ran
    past `time_limit` seconds (the process is then killed and restarted on the next call)."""

    def __init__(self, run: str | Path, *, device: str = "cpu", checkpoint: str | None = None, time_limit: float = 60):
        self.run, self.device, self.checkpoint, self.time_limit = str(run), device, checkpoint, time_limit
        self._lock = threading.Lock()
        self._process: Any = None
        self._conn: Connection | None = None
        self.info = self._start()

    def _start(self) -> RunInfo:
        ctx = mp.get_context("spawn")  # a clean interpreter: no forked torch threads, no copied server state
        parent, child = ctx.Pipe()
        self._process = ctx.Process(target=_serve, args=(self.run, self.device, self.checkpoint, child), daemon=True)
        self._process.start()
        child.close()
        self._conn = parent
        try:
            status, value = parent.recv()
        except EOFError:
            raise MultiganError(f"{self.run}: the process loading it ended before it was ready") from None
        if status != "ok":
            self.close()
            raise MultiganError(value)
        return value

    def call(self, task: str, **kwargs: Any) -> Any:
        with self._lock:
            if self._process is None or not self._process.is_alive():
                self.close()
                self._start()
            assert self._conn is not None
            self._conn.send((task, kwargs))
            if not self._conn.poll(self.time_limit):
                self.close()
                raise RequestError(
                    f"the request ran past the time limit ({self.time_limit:g} s) and was cancelled; "
                    "ask for fewer frames, samples or tokens"
                )
            try:
                status, value = self._conn.recv()
            except EOFError:
                self.close()
                raise RequestError("the run's process ended during the request; it restarts on the next one") from None
        if status != "ok":
            raise RequestError(value)
        return value

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._process is not None:
            if self._process.is_alive():
                self._process.kill()
            self._process.join(timeout=10)
            self._process = None
