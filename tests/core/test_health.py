"""Training health: the collapse guard, checkpoints/best, train.on_collapse, gradient norms."""

import json

import pytest
import torch

from multigan.core.checkpoint import MANIFEST, latest_checkpoint, named_checkpoint
from multigan.core.config import load_config
from multigan.core.errors import ConfigError, MultiganError
from multigan.core.health import DIVERSITY, CollapseGuard, QuickMetric
from multigan.core.logging import read_metrics
from multigan.core.trainer import Trainer
from tests.core.toy import ToyAdapter, ToyConfig


def _cfg(tmp_path, *overrides):
    return load_config(ToyConfig, None, [f"out_dir={tmp_path}", *overrides])


def scripted(scores, diversities=None, lower_is_better=True):
    """A quick metric that returns the given scores (and diversities) one evaluation after another."""
    calls = []

    def measure(G):
        i = len(calls)
        calls.append(i)
        values = {"score": scores[i]}
        if diversities is not None:
            values[DIVERSITY] = diversities[i]
        return values

    return QuickMetric("score", lower_is_better, measure), calls


# ------------------------------------------------------------------------------ the guard alone


def feed(guard, scores, diversities=None):
    flags = []
    for i, score in enumerate(scores):
        _, problem = guard.update(10 * (i + 1), score, None if diversities is None else diversities[i])
        if problem:
            flags.append(10 * (i + 1))
    return flags


def test_guard_is_quiet_on_a_noisy_improving_run():
    scores = [300, 150, 80, 50, 40, 42, 37, 39, 35, 36, 34, 37, 33]
    assert feed(CollapseGuard(), scores) == []
    accuracies = [0.1, 0.4, 0.7, 0.8, 0.78, 0.82, 0.8, 0.83, 0.81]
    assert feed(CollapseGuard(lower_is_better=False), accuracies) == []


def test_guard_flags_the_cliff_and_nothing_before_it():
    scores = [300, 150, 80, 50, 40, 42, 37, 39, 220, 240]
    assert feed(CollapseGuard(), scores) == [90, 100]
    accuracies = [0.1, 0.4, 0.7, 0.8, 0.78, 0.82, 0.2]
    assert feed(CollapseGuard(lower_is_better=False), accuracies) == [70]


def test_guard_flags_a_diversity_drop_even_when_the_score_improves():
    guard = CollapseGuard()
    assert feed(guard, [9.0, 8.5, 8.2, 8.0, 7.9], [0.9, 0.92, 0.91, 0.3, 0.2]) == [40, 50]
    _, problem = CollapseGuard().update(10, float("nan"), None)
    assert problem == "score is nan"


def test_guard_state_round_trips_through_a_weights_only_state_file(tmp_path):
    guard = CollapseGuard()
    feed(guard, [300, 150, 80, 50], [0.5, 0.6, 0.6, 0.6])
    torch.save({"health": guard.state_dict()}, tmp_path / "state.pt")
    copy = CollapseGuard()
    copy.load_state_dict(torch.load(tmp_path / "state.pt", weights_only=True)["health"])
    assert copy == guard and copy.best == 50 and copy.scores == [300, 150, 80, 50]


# ------------------------------------------------------------------------------ in the trainer


def test_best_checkpoint_follows_the_score_and_is_never_pruned(tmp_path):
    cfg = _cfg(tmp_path, "train.steps=12", "train.eval_every=2", "train.checkpoint_every=2", "train.keep_checkpoints=1")
    metric, calls = scripted([5.0, 3.0, 4.0, 3.5, 3.8, 3.9])
    result = Trainer(ToyAdapter(cfg), cfg, quick_metric=metric).fit()
    assert len(calls) == 6 and result.collapse_flags == []
    best = named_checkpoint(tmp_path / "checkpoints", "best")
    assert best is not None and json.loads((best / MANIFEST).read_text())["step"] == 4
    assert latest_checkpoint(tmp_path / "checkpoints").name == "step_00000012"  # resume never takes best
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["best", "step_00000012"]
    evals = [r for r in read_metrics(tmp_path) if r["phase"] == "eval"]
    assert [r["step"] for r in evals] == [2, 4, 6, 8, 10, 12]
    assert [r["eval/score"] for r in evals] == [5.0, 3.0, 4.0, 3.5, 3.8, 3.9]


@pytest.mark.parametrize("action", ["warn", "stop"])
def test_on_collapse_warns_or_stops(tmp_path, capsys, action):
    cfg = _cfg(tmp_path, "train.steps=20", "train.eval_every=2", f"train.on_collapse={action}")
    metric, _ = scripted([9.0, 6.0, 4.0, 3.8, 3.9, 3.7, 3.8, 3.75, 9.5, 9.6])
    result = Trainer(ToyAdapter(cfg), cfg, quick_metric=metric, echo=print).fit()
    out = capsys.readouterr().out
    assert "warning: step 18: training may have collapsed: score 9.5 against its best 3.7 at step 12" in out
    if action == "warn":
        assert result.step == 20 and result.collapse_flags == [18, 20] and not result.stopped_for_collapse
    else:
        assert result.step == 18 and result.collapse_flags == [18] and result.stopped_for_collapse
        assert latest_checkpoint(tmp_path / "checkpoints").name == "step_00000018"
        assert "Stopped at step 18 (train.on_collapse=stop); best checkpoint: " in out


def test_rollback_returns_to_best_once_then_stops(tmp_path, capsys):
    cfg = _cfg(tmp_path, "train.steps=20", "train.eval_every=2", "train.on_collapse=rollback")
    metric, calls = scripted([9.0, 6.0, 4.0, 3.8, 3.9, 3.7, 3.8, 3.75, 9.5, 3.72, 9.6, 9.7])
    result = Trainer(ToyAdapter(cfg), cfg, quick_metric=metric, echo=print).fit()
    out = capsys.readouterr().out
    assert "rolled back from step 18 to " in out and "(step 12)" in out
    # back at step 12: evaluated at 14 (3.72, no flag), then 16 (9.6) is flagged again with no new best
    assert result.collapse_flags == [18, 16] and result.stopped_for_collapse and result.step == 16
    assert len(calls) == 11


def test_eval_every_needs_a_quick_metric_and_valid_settings(tmp_path):
    cfg = _cfg(tmp_path, "train.eval_every=2")
    with pytest.raises(MultiganError, match="train.eval_every"):
        Trainer(ToyAdapter(cfg), cfg)
    with pytest.raises(ConfigError, match="train.on_collapse"):
        _cfg(tmp_path, "train.on_collapse=explode")
    with pytest.raises(ConfigError, match="train.eval_every"):
        _cfg(tmp_path, "train.eval_every=-1")


def test_evaluation_leaves_resume_bit_exact(tmp_path):
    def toy_metric():
        def measure(G):  # draws random numbers: the trainer must keep them off the training RNG
            x = G(torch.randn(64, 4))
            return {"score": float((x.mean(0) - torch.tensor([2.0, -1.0])).norm()), DIVERSITY: float(x.std(0).mean())}

        return QuickMetric("score", True, measure)

    straight_cfg = _cfg(tmp_path / "a", "train.eval_every=3")
    straight = Trainer(ToyAdapter(straight_cfg), straight_cfg, quick_metric=toy_metric())
    straight.fit()
    first = _cfg(tmp_path / "b", "train.steps=4", "train.eval_every=3")
    Trainer(ToyAdapter(first), first, quick_metric=toy_metric()).fit()
    second = _cfg(tmp_path / "b", "train.eval_every=3")
    resumed = Trainer(ToyAdapter(second), second, quick_metric=toy_metric())
    resumed.fit()
    for name, module in straight.modules().items():
        for key, value in module.state_dict().items():
            assert torch.equal(value, resumed.modules()[name].state_dict()[key]), (name, key)
    assert straight.guard.evaluations == 3  # steps 3, 6 and the last, 8
    assert resumed.guard.evaluations == 4  # the 4-step run also evaluated its last step; the guard state resumed


def test_gradient_norms_are_logged_before_clipping(tmp_path):
    cfg = _cfg(tmp_path, "train.grad_clip=1e-4")
    Trainer(ToyAdapter(cfg), cfg).fit()
    rows = read_metrics(tmp_path)
    assert all({"grad_norm_G", "grad_norm_D", "d_real", "d_fake"} <= r.keys() for r in rows)
    assert all(r["grad_norm_D"] > 1e-4 and r["grad_norm_G"] > 1e-4 for r in rows)  # the norm before the clip


def test_generate_and_load_take_the_best_checkpoint(tmp_path, capsys):
    import multigan
    from multigan.recipes import image

    run = tmp_path / "run"
    tiny = ["--config", "recipes/tiny/image.yaml", f"out_dir={run}", "train.steps=8", "train.eval_every=4"]
    assert image.main(tiny) == 0
    assert (run / "checkpoints" / "best").is_dir()
    out = tmp_path / "best.png"
    assert image.main(["generate", "--run", str(run), "--checkpoint", "best", "--num", "4", "--out", str(out)]) == 0
    assert out.is_file()
    best = multigan.load(run, checkpoint="best")
    latest = multigan.load(run)
    step = json.loads((run / "checkpoints" / "best" / MANIFEST).read_text())["step"]
    assert step in (4, 8)
    same = all(torch.equal(a, b) for a, b in zip(best.G.state_dict().values(), latest.G.state_dict().values()))
    assert same == (step == 8)  # the best is the last checkpoint only when the last evaluation was the best
