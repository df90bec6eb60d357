"""The text recipe end to end, as a user runs it (tiny sizes)."""

import json
import re
from pathlib import Path

import pytest
import torch

from multigan.core.checkpoint import checkpoint_dirs
from multigan.core.logging import read_metrics
from multigan.recipes import text as recipe
from multigan.text.pipeline import TextPipeline
from multigan.text.tokenizer import TextTokenizer

TINY = Path(__file__).resolve().parents[2] / "recipes" / "tiny" / "text.yaml"
ORACLE = [
    "data.path=oracle",
    "data.oracle_vocab=30",
    "data.oracle_sequences=64",
    "data.seq_len=8",
    "model.generator=lstm",
    "seqgan.eval_samples=50",
]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    assert recipe.main(["--config", str(TINY), f"out_dir={out}"]) == 0
    return out


def test_train_writes_a_run_with_every_phase(tiny_run):
    assert (tiny_run / "config.yaml").is_file() and (tiny_run / "tokenizer" / "tokenizer.json").is_file()
    records = [json.loads(line) for line in (tiny_run / "metrics.jsonl").read_text().splitlines()]
    phases = [r["phase"] for r in records]
    assert phases[0] == "mle" and "d_pretrain" in phases and phases[-1] == "adversarial"
    assert {"pg_loss", "reward", "d_loss"} <= set(records[-1])
    assert not any("mle_nll" in r for r in records if r["phase"] != "mle")  # a record never mixes phases
    last = checkpoint_dirs(tiny_run / "checkpoints")[-1]
    assert (last / "rollout_policy.safetensors").is_file()  # the lagged policy is checkpointed
    assert (tiny_run / "samples" / f"{last.name}.txt").read_text(encoding="utf-8").count("\n") == 4


def test_training_again_resumes(tiny_run, capsys):
    steps = int(checkpoint_dirs(tiny_run / "checkpoints")[-1].name.split("_")[1])
    assert recipe.main(["--config", str(TINY), f"out_dir={tiny_run}", "train.steps=3"]) == 0
    assert "Resumed from" in capsys.readouterr().out
    assert checkpoint_dirs(tiny_run / "checkpoints")[-1].name == f"step_{steps + 1:08d}"


def test_generate_prints_prompt_and_continuation(tiny_run, capsys):
    args = ["generate", "--run", str(tiny_run), "--prompt", "The value 春", "--max-new-tokens", "4"]
    assert recipe.main([*args, "--num-samples", "3", "--top-k", "5", "--temperature", "0.8", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    samples = [line for line in out.splitlines() if not line.startswith("--- sample")]
    assert out.count("--- sample") == 3 and all(s.startswith("The value 春") for s in samples)
    assert recipe.main([*args, "--seed", "1", "--temperature", "0"]) == 0
    first = capsys.readouterr().out
    assert recipe.main([*args, "--seed", "2", "--temperature", "0"]) == 0
    assert capsys.readouterr().out == first  # greedy does not depend on the seed
    assert "\ufffd" not in out + first


def test_an_untrained_byte_level_model_prints_valid_utf8(tmp_path, capsys):
    """No MLE epochs: G is nearly untrained, and its byte-level samples would break UTF-8 unmasked."""
    corpus = tmp_path / "poem.txt"
    corpus.write_text("床前明月光，疑是地上霜。举头望明月，低头思故乡。\n" * 6, encoding="utf-8")
    out = tmp_path / "run"
    train = ["--config", str(TINY), f"out_dir={out}", f"data.path={corpus}", "seqgan.mle_epochs=0", "train.steps=1"]
    assert recipe.main(train) == 0
    capsys.readouterr()
    written = "".join(p.read_text(encoding="utf-8") for p in (out / "samples").glob("*.txt"))
    args = ["generate", "--run", str(out), "--prompt", "明月", "--num-samples", "16", "--max-new-tokens", "12"]
    assert recipe.main([*args, "--min-new-tokens", "12"]) == 0
    printed = capsys.readouterr().out
    samples = re.split(r"(?:^|\n)--- sample \d+\n", printed)[1:]  # an untrained model's text may hold newlines
    assert len(samples) == 16 and all(s.startswith("明月") and len(s) > len("明月\n") for s in samples)
    assert "\ufffd" not in printed + written


def test_generate_errors_are_one_line(tiny_run, capsys):
    assert recipe.main(["generate", "--run", str(tiny_run), "--top-p", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: top_p") and "\n" not in err
    assert recipe.main(["generate", "--run", str(tiny_run), "--max-new-tokens", "1000"]) == 2
    assert "positions" in capsys.readouterr().err
    assert recipe.main(["generate", "--run", str(tiny_run / "nope")]) == 2


def test_transformers_directory_loads_and_runs_in_a_pipeline(tiny_run):
    from transformers import AutoModelForCausalLM, AutoTokenizer, pipeline

    hf = tiny_run / "hf"
    model = AutoModelForCausalLM.from_pretrained(hf)
    tok = AutoTokenizer.from_pretrained(hf)
    ids = tok("The value", return_tensors="pt")["input_ids"]
    assert ids[0, 0].item() == tok.bos_token_id == model.config.bos_token_id
    # the exported model is the trained generator: the same next-token logits
    G = TextPipeline.from_folder(tiny_run).G
    with torch.no_grad():
        assert torch.allclose(model(ids).logits[:, -1], G.prefix(ids[:, 1:])[0], atol=1e-5)
    out = pipeline("text-generation", model=model, tokenizer=tok)("The value", max_new_tokens=3, do_sample=False)
    assert out[0]["generated_text"].startswith("The value")


def test_evaluate_reports_every_metric_with_its_count(tiny_run, capsys):
    assert recipe.main(["evaluate", "--run", str(tiny_run), "--num-samples", "12", "--unit", "word"]) == 0
    out = capsys.readouterr().out
    for name in ("nll_heldout", "bleu2", "bleu5", "self_bleu2", "self_bleu5", "distinct1", "distinct4"):
        assert f"{name}=" in out
    assert "samples=12" in out
    report = json.loads((tiny_run / "evaluation.json").read_text())
    assert report["unit"] == "word" and report["self_bleu3"]["samples"] == 12


def test_oracle_run_trains_generates_and_evaluates(tmp_path, capsys):
    out = tmp_path / "oracle"
    assert recipe.main(["--config", str(TINY), f"out_dir={out}", *ORACLE]) == 0
    records = [r for r in read_metrics(out) if "nll_oracle" in r]
    assert [r["phase"] for r in records] == ["mle", "d_pretrain", "adversarial"]  # at the end of each phase
    assert all(r["nll_oracle"] > 0 and r["samples"] == 50 for r in records)
    assert not (out / "oracle.jsonl").exists()
    assert not (out / "hf").exists()
    capsys.readouterr()
    assert recipe.main(["generate", "--run", str(out), "--prompt", "3 4", "--max-new-tokens", "5"]) == 0
    tokens = capsys.readouterr().out.split()
    assert tokens[:2] == ["3", "4"] and len(tokens) == 7
    assert recipe.main(["evaluate", "--run", str(out), "--num-samples", "10", "--oracle-samples", "40"]) == 0
    report = capsys.readouterr().out
    assert "nll_oracle=" in report and "(samples=40)" in report and "nll_test=" in report
    assert recipe.main(["generate", "--run", str(out), "--prompt", "hello"]) == 2


def test_user_text_folder_in_chinese_with_a_bad_file(tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    poem = "床前明月光，疑是地上霜。举头望明月，低头思故乡。\n" * 4
    (data / "poem.txt").write_text(poem, encoding="utf-8")
    (data / "bad.txt").write_bytes(b"\xff\xfe\x00\x81 broken")
    out = tmp_path / "run"
    code = recipe.main(["--config", str(TINY), f"out_dir={out}", f"data.path={data}", "tokenizer.kind=char"])
    assert code == 0
    warning = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning:")]
    assert warning == [f"warning: skipped {data / 'bad.txt'}: not UTF-8 text"]
    tok = TextTokenizer.load(out / "tokenizer")
    assert tok.decode(tok.encode("举头望明月")) == "举头望明月"


def test_bad_config_is_one_line(tmp_path, capsys):
    assert recipe.main([f"out_dir={tmp_path}", "seqgan.rollout_policy=old"]) == 2
    assert capsys.readouterr().err.strip() == "error: seqgan.rollout_policy: 'old' is not one of lagged, G"
    assert recipe.main([f"out_dir={tmp_path}", "data.path=oracle"]) == 2
    assert "model.generator=lstm" in capsys.readouterr().err
    assert recipe.main([f"out_dir={tmp_path}", "seqgan.rolouts=3"]) == 2
    assert capsys.readouterr().err.strip() == "error: unknown config key 'seqgan.rolouts'"


def test_a_local_pretrained_model_trains_with_its_own_tokenizer(tiny_run, tmp_path, capsys):
    out = tmp_path / "finetuned"
    assert recipe.main(["--config", str(TINY), f"out_dir={out}", f"model.pretrained={tiny_run / 'hf'}"]) == 0
    assert (out / "hf" / "config.json").is_file()
    capsys.readouterr()
    assert recipe.main(["generate", "--run", str(out), "--prompt", "The", "--max-new-tokens", "3"]) == 0
    assert capsys.readouterr().out.startswith("The")
    assert recipe.main([f"out_dir={tmp_path / 'x'}", f"model.pretrained={tmp_path / 'missing'}"]) == 2


@pytest.mark.parametrize("fresh", [True, False])
def test_adversarial_g_updates_start_from_a_new_optimizer_state(tmp_path, fresh):
    from multigan.core.config import load_config
    from multigan.core.trainer import Trainer
    from multigan.text.adapter import TextAdapter
    from multigan.text.config import TextConfig

    overrides = [f"out_dir={tmp_path}", *ORACLE, "train.steps=2", f"seqgan.fresh_adv_optimizer={fresh}"]
    cfg = load_config(TextConfig, TINY, overrides)
    adapter = TextAdapter(cfg)
    trainer = Trainer(adapter, cfg)
    trainer.fit()
    mle_updates = adapter.batches_per_epoch * cfg.seqgan.mle_epochs
    g_steps = {int(s["step"]) for s in trainer.opt_G.state.values()}
    assert g_steps == ({2} if fresh else {mle_updates + 2})
    d_steps = {int(s["step"]) for s in trainer.opt_D.state.values()}
    assert d_steps == {trainer.d_updates}  # D's optimizer carries on from its pre-training


def test_resuming_gives_the_same_weights_as_never_stopping(tmp_path):
    from safetensors.torch import load_file

    base = ["--config", str(TINY), *ORACLE, "seqgan.rollout_policy=lagged"]
    assert recipe.main([*base, f"out_dir={tmp_path / 'straight'}", "train.steps=3"]) == 0
    assert recipe.main([*base, f"out_dir={tmp_path / 'resumed'}", "train.steps=1"]) == 0
    assert recipe.main([*base, f"out_dir={tmp_path / 'resumed'}", "train.steps=3"]) == 0
    a = checkpoint_dirs(tmp_path / "straight" / "checkpoints")[-1]
    b = checkpoint_dirs(tmp_path / "resumed" / "checkpoints")[-1]
    assert a.name == b.name
    for name in ("G", "D", "rollout_policy"):
        wa, wb = load_file(a / f"{name}.safetensors"), load_file(b / f"{name}.safetensors")
        assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa), name


def test_mle_checkpoint_is_kept_and_the_quick_metric_is_logged(tmp_path):
    out = tmp_path / "run"
    assert recipe.main(["--config", str(TINY), f"out_dir={out}", *ORACLE, "train.eval_every=3"]) == 0
    mle = out / "checkpoints" / "mle"
    records = read_metrics(out)
    mle_steps = sum(1 for r in records if r["phase"] == "mle")  # log_every=2 over a 1-epoch MLE phase
    assert mle_steps >= 1 and json.loads((mle / "manifest.json").read_text())["step"] == max(
        r["step"] for r in records if r["phase"] == "mle"
    )
    evals = [r for r in records if r["phase"] == "eval"]
    assert evals and all({"eval/nll_oracle", "eval/diversity"} <= r.keys() for r in evals)
    assert all(0 < r["eval/diversity"] <= 1 for r in evals)
    assert (out / "checkpoints" / "best").is_dir()
