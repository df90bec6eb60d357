"""The collapse guard on a real image run: a learning rate raised 100x mid-run is flagged within a few evaluations."""

from multigan.core.callbacks import Callback
from multigan.core.config import load_config
from multigan.core.trainer import Trainer
from multigan.image.adapter import ImageAdapter
from multigan.image.config import ImageConfig
from multigan.image.evaluate import quick_metric


class RaiseLearningRate(Callback):
    """Multiplies both learning rates by `factor` after step `at`, as a user editing the config would."""

    def __init__(self, at: int, factor: float) -> None:
        self.at, self.factor = at, factor

    def on_step_end(self, trainer, phase, phase_step):
        if trainer.step == self.at:
            trainer.cfg.train.lr_g *= self.factor
            trainer.cfg.train.lr_d *= self.factor


def test_learning_rate_raised_100x_is_flagged_within_three_evaluations(tmp_path):
    overrides = [f"out_dir={tmp_path}", "train.steps=120", "train.eval_every=10", "train.checkpoint_every=0"]
    cfg = load_config(ImageConfig, "recipes/tiny/image.yaml", overrides)
    adapter = ImageAdapter(cfg)
    trainer = Trainer(adapter, cfg, callbacks=[RaiseLearningRate(80, 100.0)], quick_metric=quick_metric(adapter, 200))
    result = trainer.fit()
    assert result.collapse_flags, "the 100x learning rate went unflagged"
    assert min(result.collapse_flags) > 80  # nothing before the raise
    assert min(result.collapse_flags) <= 80 + 3 * 10
    assert trainer.guard.best_step <= 80 and (tmp_path / "checkpoints" / "best").is_dir()
