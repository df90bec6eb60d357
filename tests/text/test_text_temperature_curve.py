"""`evaluate --temperatures`: the quality-diversity curves of G and of the MLE checkpoint (tiny runs).

A tiny model gives no guarantee about which way a metric moves with the temperature, so these tests
check the structure and the exact relationships: at T = 1 a curve is the plain evaluation."""

import json
import shutil

import pytest

from multigan.recipes import text as recipe
from multigan.text.evaluate import parse_temperatures

from .test_text_recipe import ORACLE, TINY

TEMPERATURES = "0.5,1.0,1.5"


@pytest.fixture(scope="module")
def oracle_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("oracle")
    assert recipe.main(["--config", str(TINY), f"out_dir={out}", *ORACLE]) == 0
    assert (out / "checkpoints" / "mle").is_dir()
    return out


def _evaluate(run, capsys, *extra):
    capsys.readouterr()
    args = ["evaluate", "--run", str(run), "--num-samples", "10", "--oracle-samples", "40", *extra]
    assert recipe.main(args) == 0
    return capsys.readouterr().out, json.loads((run / "evaluation.json").read_text())


def _rows(out: str, model: str) -> list[list[str]]:
    return [line.split() for line in out.splitlines() if line.split()[:1] == [model]]


def test_oracle_curves_of_g_and_mle_are_printed_and_saved(oracle_run, capsys):
    out, report = _evaluate(oracle_run, capsys, "--temperatures", TEMPERATURES)
    curves = report["temperature_curves"]
    assert (curves["quality"], curves["diversity"]) == ("nll_oracle", "nll_test")
    assert curves["temperatures"] == [0.5, 1.0, 1.5] and curves["samples"] == 40 and curves["sequences"] == 6
    assert list(curves["models"]) == ["G", "MLE"] and curves["models"]["MLE"]["checkpoint"] == "mle"
    assert curves["models"]["G"]["checkpoint"].startswith("step_")
    for model in curves["models"].values():
        assert [p["temperature"] for p in model["points"]] == [0.5, 1.0, 1.5]
        assert all(p["nll_oracle"] > 0 and p["nll_test"] > 0 for p in model["points"])
    # one printed row per model and temperature, with the saved values
    for name, model in curves["models"].items():
        rows = _rows(out, name)
        assert [float(r[2]) for r in rows] == [0.5, 1.0, 1.5]
        assert [float(r[3]) for r in rows] == [round(p["nll_oracle"], 4) for p in model["points"]]
    # the keys of a plain evaluation stay, and at T = 1 G's curve is the plain evaluation
    g_at_1 = curves["models"]["G"]["points"][1]
    assert {"unit", "nll_oracle", "nll_test", "bleu4", "self_bleu4", "distinct4"} <= report.keys()
    assert g_at_1["nll_test"] == report["nll_test"]["value"]
    assert g_at_1["nll_oracle"] == report["nll_oracle"]["value"]  # the same samples (same seed)
    assert len({p["nll_test"] for p in curves["models"]["G"]["points"]}) == 3  # T changes NLL-test
    mle_at_1 = curves["models"]["MLE"]["points"][1]
    _, plain_mle = _evaluate(oracle_run, capsys, "--checkpoint", "mle")
    assert mle_at_1["nll_test"] == plain_mle["nll_test"]["value"] and "temperature_curves" not in plain_mle


def test_g_as_the_mle_checkpoint_gives_one_curve(oracle_run, capsys):
    out, report = _evaluate(oracle_run, capsys, "--checkpoint", "mle", "--temperatures", "0.9,1.1")
    assert "G is the MLE checkpoint: one curve" in out
    assert list(report["temperature_curves"]["models"]) == ["G"] and not _rows(out, "MLE")


def test_a_run_without_an_mle_checkpoint_says_so_in_one_line(oracle_run, tmp_path, capsys):
    run = tmp_path / "no_mle"
    shutil.copytree(oracle_run, run)
    shutil.rmtree(run / "checkpoints" / "mle")
    out, report = _evaluate(run, capsys, "--temperatures", "1.0")
    assert [line for line in out.splitlines() if "no checkpoints/mle" in line] == [
        f"{run} has no checkpoints/mle (the end of MLE pre-training): G's curve only"
    ]
    assert list(report["temperature_curves"]["models"]) == ["G"] and len(_rows(out, "G")) == 1


def test_text_curves_are_bleu_against_self_bleu(tmp_path, capsys):
    run = tmp_path / "text"
    assert recipe.main(["--config", str(TINY), f"out_dir={run}"]) == 0
    out, report = _evaluate(run, capsys, "--temperatures", "0.8,1.0")
    curves = report["temperature_curves"]
    assert (curves["quality"], curves["diversity"]) == ("bleu4", "self_bleu4") and curves["samples"] == 10
    assert list(curves["models"]) == ["G", "MLE"] and len(_rows(out, "MLE")) == 2
    g_at_1 = curves["models"]["G"]["points"][1]
    assert g_at_1["bleu4"] == report["bleu4"]["value"] and g_at_1["self_bleu4"] == report["self_bleu4"]["value"]


@pytest.mark.parametrize("bad", ["0,1.0", "1.0,x", "", "-0.5", "0.9,0.9", "nan"])
def test_bad_temperatures_are_a_one_line_error(oracle_run, capsys, bad):
    capsys.readouterr()
    assert recipe.main(["evaluate", "--run", str(oracle_run), f"--temperatures={bad}"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --temperatures:") and "\n" not in err


def test_parse_temperatures_keeps_the_order_given():
    assert parse_temperatures("1.1, 0.7,0.9") == [1.1, 0.7, 0.9]
