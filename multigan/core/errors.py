"""Errors and warnings a user can act on.

Errors caused by input are `MultiganError`s: the command line prints them as one line, without a
traceback, and exits with status 2. Warnings are one line each on stderr, `warning: ...`, printed
around any progress bar; under torchrun only rank 0 prints them.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from tqdm.auto import tqdm

MAX_LISTED = 10  # skipped files named one per line; past this, a count


class MultiganError(Exception):
    """Base class for errors caused by input (config, data, files, arguments)."""


class ConfigError(MultiganError):
    """An unknown key, a wrong type or a bad value in a config or an override."""


def warn(message: str) -> None:
    """`warning: <message>` as one line on stderr (rank 0 only under torchrun)."""
    if int(os.environ.get("RANK", "0")) == 0:
        tqdm.write(f"warning: {' '.join(message.split())}", file=sys.stderr)


def warn_skipped(skipped: Sequence[tuple[str, str]], what: str = "files") -> None:
    """`warning: skipped PATH: reason` for the first MAX_LISTED (path, reason) pairs, then a count."""
    for path, reason in skipped[:MAX_LISTED]:
        warn(f"skipped {path}: {reason}")
    if len(skipped) > MAX_LISTED:
        warn(f"skipped {len(skipped) - MAX_LISTED} more {what} ({len(skipped)} in all)")
