"""recipes/video.yaml spells out the defaults that `python -m multigan.recipes.video` runs with."""

from pathlib import Path

import pytest

from multigan.core.config import load_config
from multigan.core.errors import ConfigError
from multigan.video.adapter import VideoAdapter
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


def test_the_keywords_presets_keep_the_settings_they_were_measured_with():
    for name in ("video_keywords.yaml", "video_keywords_two.yaml", "tiny/video_keywords.yaml"):
        assert load_config(VideoConfig, PRESETS / name).model.core == "gru", name
    for name in ("video_keywords.yaml", "video_keywords_two.yaml"):
        cfg = load_config(VideoConfig, PRESETS / name)
        assert (cfg.model.hidden, cfg.loss.recon, cfg.loss.adv_weight) == (64, "l1", 0.3), name
        assert not cfg.loss.first_frame_adv and cfg.model.first_frame_steps == 3000, name
    noise = {
        name: load_config(VideoConfig, PRESETS / name).model.first_frame_noise
        for name in ("video_keywords.yaml", "video_keywords_two.yaml")
    }
    assert noise == {"video_keywords.yaml": 4, "video_keywords_two.yaml": 8}
    one, two = (
        load_config(VideoConfig, PRESETS / name).model for name in ("video_keywords.yaml", "video_keywords_two.yaml")
    )
    assert (one.first_frame_sprites, one.caption_bag, one.first_frame_caption, one.coords) == (1, True, "own", True)
    assert (two.first_frame_sprites, two.caption_bag, two.coords) == (0, False, False)
    preset = load_config(VideoConfig, PRESETS / "video_keywords.yaml")
    assert (preset.train.steps, preset.model.first_frame_word_dropout) == (1200, 0.3)
    assert load_config(VideoConfig, PRESETS / "tiny/video_keywords.yaml").model.coords


def test_pass_frames_sets_the_translator_pass_and_defaults_to_data_predict():
    from multigan.video.pipeline import build_generator

    default = build_generator(load_config(VideoConfig, PRESETS / "tiny" / "video.yaml"))
    shorter = build_generator(load_config(VideoConfig, PRESETS / "tiny" / "video.yaml", ["model.pass_frames=1"]))
    assert default.simvp is not None and shorter.simvp is not None
    assert (default.simvp.pass_frames, shorter.simvp.pass_frames) == (2, 1)


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
        ("model.pass_frames=-1", "model.pass_frames"),
        ("model.core=gru model.pass_frames=2", "model.pass_frames: only with model.core=simvp"),
        ("data.memory_mb=0", None),
        ("data.memory_mb=-1", r"data.memory_mb: must be 0 \(off\) or more"),
    ],
)
def test_config_checks(override, message):
    if message is None:
        load_config(VideoConfig, None, override.split())
        return
    with pytest.raises(ConfigError, match=message):
        load_config(VideoConfig, None, override.split())


def test_nothing_to_train_is_refused():
    with pytest.raises(ConfigError, match="both are 0"):
        load_config(VideoConfig, None, ["loss.recon_weight=0", "loss.adv_weight=0"])


def test_the_training_videos_stay_decoded_in_memory_and_the_heldout_ones_do_not(tmp_path):
    overrides = [f"out_dir={tmp_path / 'run'}", f"data.cache_dir={tmp_path}", "data.memory_mb=1"]
    adapter = VideoAdapter(load_config(VideoConfig, PRESETS / "tiny" / "video.yaml", overrides))
    train, heldout = adapter.clips, adapter.heldout()
    assert (train.memory_left, heldout.memory_left) == (2**20, 0)
    train[0], heldout[0]
    assert list(train.in_memory) == [0] and train.memory_left == 2**20 - train.decoded_bytes[0]
    assert heldout.in_memory == {}
