"""Tiny text models shared by the text tests (vocabularies of tens, a few hidden units)."""

import pytest
import torch

from multigan.text.generators import HFGenerator, LSTMGenerator, TransformerSize


@pytest.fixture(autouse=True, scope="module")
def _one_intra_op_thread():
    """The text tests use tiny models: on a busy CPU a second intra-op thread only adds waiting
    (an op on a few hundred numbers took milliseconds with two threads under load)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def tiny_lstm(vocab: int = 12, *, eos_id: int | None = None, seed: int = 0, std: float = 1.0) -> LSTMGenerator:
    torch.manual_seed(seed)
    return LSTMGenerator(vocab, 8, 8, eos_id=eos_id, init_std=std).eval()


def tiny_gpt(vocab: int = 12, *, eos_id: int | None = None, seed: int = 0) -> HFGenerator:
    torch.manual_seed(seed)
    size = TransformerSize(n_layer=2, n_head=2, n_embd=16, n_positions=64)
    return HFGenerator.from_config(vocab, size, bos_id=0, eos_id=eos_id).eval()


@pytest.fixture(params=["lstm", "gpt"])
def make_generator(request):
    return tiny_lstm if request.param == "lstm" else tiny_gpt


@pytest.fixture
def lstm_factory():
    return tiny_lstm
