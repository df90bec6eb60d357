"""recipes/image.yaml spells out the defaults that `python -m multigan.recipes.image` runs with."""

from pathlib import Path

from multigan.core.config import load_config
from multigan.image.config import ImageConfig

PRESET = Path(__file__).resolve().parents[2] / "recipes" / "image.yaml"


def test_image_yaml_equals_the_dataclass_defaults():
    assert load_config(ImageConfig, PRESET) == ImageConfig()


def test_default_ema_half_life_is_short_next_to_the_run():
    # Weight left on the random initial G after the run: decay ** steps. Keep it negligible.
    train = ImageConfig().train
    assert train.ema_decay**train.steps < 1e-3
