"""The shared command line: train's `[--config FILE] [key=value ...]`, subcommands, one-line errors."""

import argparse

import pytest

from multigan.core.cli import Command, parse_train_args, run_recipe
from multigan.core.config import RunConfig
from multigan.core.errors import MultiganError


def test_train_arguments_split_into_a_config_file_and_overrides():
    assert parse_train_args(["--config", "a.yaml", "seed=3", "train.steps=2"], "prog", RunConfig) == (
        "a.yaml",
        ["seed=3", "train.steps=2"],
    )
    assert parse_train_args(["--config=b.yaml"], "prog", RunConfig) == ("b.yaml", [])
    assert parse_train_args([], "prog", RunConfig) == (None, [])
    with pytest.raises(MultiganError, match="--config needs a file"):
        parse_train_args(["--config"], "prog", RunConfig)
    with pytest.raises(MultiganError, match="unknown option '--steps'"):
        parse_train_args(["--steps", "3"], "prog", RunConfig)


def test_help_prints_every_key_with_its_default(capsys):
    assert parse_train_args(["--help"], "prog", RunConfig) is None
    out = capsys.readouterr().out
    assert out.startswith("usage: prog [train]") and "batch_size: 64" in out and "out_dir: runs/run" in out


def _recipe(argv, calls):
    def train(cfg):
        calls.append(("train", cfg.seed))

    def add_arguments(p: argparse.ArgumentParser) -> None:
        p.add_argument("--num", type=int, required=True)

    def run(args):
        calls.append(("sample", args.num))

    commands = {"sample": Command("Sample.", add_arguments, run)}
    return run_recipe(argv, prog="prog", config_cls=RunConfig, train=train, commands=commands)


def test_verbs_dispatch_and_train_is_the_default(tmp_path):
    calls = []
    assert _recipe(["seed=4"], calls) == 0
    assert _recipe(["train", "seed=5"], calls) == 0
    assert _recipe(["sample", "--num", "2"], calls) == 0
    assert calls == [("train", 4), ("train", 5), ("sample", 2)]


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["seed=x"], "seed"),
        (["nokey=1"], "unknown config key 'nokey'"),
        (["=1"], "not of the form key=value"),
        (["sample"], "the following arguments are required: --num"),
        (["sample", "--num", "two"], "invalid int value: 'two'"),
    ],
)
def test_mistakes_are_one_line_and_status_2(argv, says, capsys):
    try:
        status = _recipe(argv, [])
    except SystemExit as exit_:  # argparse exits itself
        status = exit_.code
    err = capsys.readouterr().err
    assert status == 2 and err.startswith("error: ") and says in err and err.count("\n") == 1, err
