"""The command line every recipe shares.

    python -m multigan.recipes.<name> [train] [--config FILE.yaml] [key=value ...]
    python -m multigan.recipes.<name> generate --run RUN_DIR [options]
    python -m multigan.recipes.<name> evaluate --run RUN_DIR [options]

Errors caused by input print as one line (`error: ...`) and exit with status 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn, TypeVar

from multigan.core.config import load_config, to_yaml
from multigan.core.errors import MultiganError

T = TypeVar("T")


class OneLineParser(argparse.ArgumentParser):
    """argparse that reports a bad flag as one `error:` line (status 2), like every other input error."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


@dataclass
class Command:
    """A subcommand besides `train`: `add_arguments` fills its parser, `run` gets the parsed args."""

    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], Any]


def add_checkpoint_argument(parser: argparse.ArgumentParser) -> None:
    """`--checkpoint NAME` beside `--run`: which of a run's checkpoints to load."""
    parser.add_argument(
        "--checkpoint",
        default=None,
        help="a checkpoint of the run by name: best (kept by train.eval_every), mle (text), step_XXXXXXXX "
        "(default: the newest intact one)",
    )


def parse_train_args(argv: list[str], prog: str, config_cls: type) -> tuple[str | None, list[str]] | None:
    """Split `[--config FILE] [key=value ...]`; None after printing help."""
    config_file, overrides = None, []
    args = list(argv)
    while args:
        arg = args.pop(0)
        if arg in ("-h", "--help"):
            print(f"usage: {prog} [train] [--config FILE.yaml] [key=value ...]\n\ndefaults:\n")
            print(to_yaml(config_cls()))
            return None
        if arg == "--config":
            if not args:
                raise MultiganError("--config needs a file")
            config_file = args.pop(0)
        elif arg.startswith("--config="):
            config_file = arg.split("=", 1)[1]
        elif arg.startswith("-"):
            raise MultiganError(f"unknown option {arg!r}; train takes --config FILE and key=value overrides")
        else:
            overrides.append(arg)
    return config_file, overrides


def run_recipe(
    argv: list[str] | None,
    *,
    prog: str,
    config_cls: type[T],
    train: Callable[[T], Any],
    commands: dict[str, Command],
) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if int(os.environ.get("RANK", "0")) != 0:  # under torchrun only rank 0 talks; errors still reach stderr
        sys.stdout = open(os.devnull, "w")
    try:
        if argv and argv[0] in commands:
            name = argv.pop(0)
            command = commands[name]
            parser = OneLineParser(prog=f"{prog} {name}", description=command.help)
            command.add_arguments(parser)
            command.run(parser.parse_args(argv))
            return 0
        if argv and argv[0] == "train":
            argv.pop(0)
        parsed = parse_train_args(argv, prog, config_cls)
        if parsed is None:
            return 0
        train(load_config(config_cls, *parsed))
        return 0
    except MultiganError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
