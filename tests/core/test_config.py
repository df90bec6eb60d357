from dataclasses import dataclass, field

import pytest

from multigan.core.config import ConfigError, RunConfig, TrainConfig, load_config


@dataclass
class DataCfg:
    path: str = ""


@dataclass
class Cfg(RunConfig):
    data: DataCfg = field(default_factory=DataCfg)
    train: TrainConfig = field(default_factory=lambda: TrainConfig(steps=7))


def test_defaults_yaml_then_overrides(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("train:\n  steps: 3\n  batch_size: 5\nseed: 4\n")
    cfg = load_config(Cfg, f, ["train.steps=9", "data.path=x"])
    assert (cfg.train.steps, cfg.train.batch_size, cfg.seed, cfg.data.path) == (9, 5, 4, "x")
    assert load_config(Cfg).train.steps == 7


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["train.stepz=3"], "unknown config key 'train.stepz'"),
        (["train.steps=abc"], "train.steps"),
        (["loss.kind=fancy"], "loss.kind"),
        (["train.batch_size=0"], "train.batch_size"),
        (["train.precision=fp8"], "train.precision"),
        (["novalue"], "key=value"),
    ],
)
def test_errors_name_the_key(overrides, message):
    with pytest.raises(ConfigError, match=message):
        load_config(Cfg, None, overrides)


def test_unknown_key_in_yaml(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("train:\n  stepz: 3\n")
    with pytest.raises(ConfigError, match="train.stepz"):
        load_config(Cfg, f)


def test_missing_file():
    with pytest.raises(ConfigError, match="not found"):
        load_config(Cfg, "/nonexistent.yaml")
