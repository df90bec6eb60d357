"""recipes/video.yaml spells out the defaults that `python -m multigan.recipes.video` runs with."""

from pathlib import Path

import pytest

from multigan.core.config import load_config
from multigan.core.errors import ConfigError
from multigan.video.config import VideoConfig

PRESETS = Path(__file__).resolve().parents[2] / "recipes"


def test_video_yaml_equals_the_dataclass_defaults():
    assert load_config(VideoConfig, PRESETS / "video.yaml") == VideoConfig()


def test_default_ema_forgets_the_random_start():
    train = VideoConfig().train
    assert train.ema_decay**train.steps < 1e-3


def test_the_gpu_preset_is_the_10_to_10_protocol_at_64_pixels():
    cfg = load_config(VideoConfig, PRESETS / "video_64_10to10_gpu.yaml")
    assert (cfg.data.size, cfg.data.context, cfg.data.predict, cfg.data.eval_predict) == (64, 10, 10, 10)


def test_the_simvp_preset_is_the_default_with_its_core_and_loss():
    from dataclasses import replace

    cfg = load_config(VideoConfig, PRESETS / "video_simvp.yaml")
    default = VideoConfig()
    model = replace(default.model, core="simvp", hidden=128)
    assert cfg == replace(default, out_dir="runs/video_simvp", model=model, loss=replace(default.loss, recon="l1+mse"))


@pytest.mark.parametrize(
    "override, message",
    [
        ("data.context=15", "exceeds data.digits_frames"),
        ("loss.recon_weight=0", None),  # a pure GAN is allowed
        ("model.image_d=false", None),
        ("data.channels=2", "data.channels"),
        ("loss.recon=mse", None),
        ("loss.recon=l2", r"loss.recon: must be one of 'l1', 'mse', 'l1\+mse'"),
        ("loss.feature_weight=-1", "loss.feature_weight"),
        ("model.core=simvp", None),
        ("model.core=lstm", r"model.core: must be one of 'gru', 'simvp'"),
        ("model.blocks=0", "model.blocks"),
    ],
)
def test_config_checks(override, message):
    if message is None:
        load_config(VideoConfig, None, [override])
        return
    with pytest.raises(ConfigError, match=message):
        load_config(VideoConfig, None, [override])


def test_nothing_to_train_is_refused():
    with pytest.raises(ConfigError, match="both are 0"):
        load_config(VideoConfig, None, ["loss.recon_weight=0", "loss.adv_weight=0"])
