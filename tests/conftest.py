import os

import pytest
import torch

# Two cores: keep intra-op threads modest so parallel pieces of a test do not fight.
torch.set_num_threads(min(2, os.cpu_count() or 1))


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Cached artefacts (the digit classifier) go to one temporary folder per test session."""
    monkeypatch.setenv("MULTIGAN_CACHE", str(tmp_path_factory.getbasetemp() / "multigan-cache"))


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory):
    """A tiny transformers BERT saved to a local folder: a text encoder that needs no network."""
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder = tmp_path_factory.mktemp("tiny_bert")
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "digit", "moves", "up", "down", "left", "right"]
    (folder / "vocab.txt").write_text("\n".join(words + [str(d) for d in range(10)]) + "\n")
    BertTokenizerFast(str(folder / "vocab.txt")).save_pretrained(folder)
    config = BertConfig(
        vocab_size=len(words) + 10, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32
    )
    BertModel(config).save_pretrained(folder)
    return folder


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
