"""Sampled byte-level text is valid UTF-8: untrained models, Chinese and English, sampling and rollouts."""

import codecs

import pytest
import torch

from multigan.text import data as textdata
from multigan.text.rollout import mc_rewards, mc_rewards_loop
from multigan.text.tokenizer import TextTokenizer
from multigan.text.utf8 import BOUNDARY, Utf8Constraint, byte_decoder

from .conftest import tiny_gpt, tiny_lstm

CHINESE = [
    "生成对抗网络由生成器和判别器组成。",
    "判别器区分真实样本与生成样本，生成器学习骗过判别器。",
    "训练交替进行，直到两者达到平衡。",
    "中文文本没有空格，每个汉字占三个字节。",
] * 8
ENGLISH = textdata.default_corpus()[:200]


@pytest.fixture(scope="module", params=["chinese", "english"])
def tokenizer(request):
    texts = CHINESE if request.param == "chinese" else ENGLISH
    return TextTokenizer.train(texts, kind="bpe", vocab_size=400)


def _strict(tok: TextTokenizer, row: list[int], *, final: bool = True) -> str:
    """Decode the sampled bytes (up to EOS) strictly: raises on any invalid byte sequence. With
    final=False a last character cut short by the length limit is allowed, and nothing else."""
    ids = row[: row.index(tok.eos_id)] if tok.eos_id in row else row
    data = b"".join(tok.pieces[i] or b"" for i in ids)
    return codecs.getincrementaldecoder("utf-8")("strict").decode(data, final=final)


def test_byte_alphabet_is_the_tokenizers():
    from tokenizers import pre_tokenizers

    assert sorted(byte_decoder()) == sorted(pre_tokenizers.ByteLevel.alphabet())
    assert sorted(byte_decoder().values()) == list(range(256))


def test_constraint_states_follow_python_utf8_decoder():
    pieces = [bytes([b]) for b in range(256)]
    c = Utf8Constraint(pieces, 256)
    for text in ["a", "é", "你", "😀", "\U0010ffff"]:
        raw = text.encode()
        states = c.states(torch.tensor([list(raw)]))[0].tolist()
        assert states[-1] == BOUNDARY and all(s != BOUNDARY for s in states[1:-1])
    allowed, _ = c.tables(torch.device("cpu"))
    for bad in [b"\x80", b"\xc0\x80", b"\xe0\x80\x80", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xf5"]:
        state, ok = torch.tensor([BOUNDARY]), True
        for b in bad:
            ok &= bool(allowed[state, b])
            state = c.step(state, torch.tensor([b]))
        with pytest.raises(UnicodeDecodeError):
            bad.decode("utf-8")
        assert not ok, bad


@pytest.mark.parametrize("make", [tiny_lstm, tiny_gpt])
def test_untrained_samples_are_valid_utf8(tokenizer, make):
    G = make(len(tokenizer.hf), eos_id=tokenizer.eos_id, seed=3, **({"std": 1.0} if make is tiny_lstm else {}))
    unconstrained = G.sample(64, 24, rng=torch.Generator().manual_seed(0))
    broken = 0
    for row in unconstrained.tolist():
        try:
            _strict(tokenizer, row)
        except UnicodeDecodeError:
            broken += 1
    assert broken > 0  # the failure this guards against happens without the constraint

    G.constrain_to(tokenizer.constraint(G.vocab_size))
    samples = G.sample(64, 24, rng=torch.Generator().manual_seed(0))
    for row in samples.tolist():
        _strict(tokenizer, row, final=tokenizer.eos_id in row)  # an EOS only comes between characters
        assert "\ufffd" not in tokenizer.decode(row)


def test_prompted_greedy_and_top_k_samples_are_valid(tokenizer):
    G = tiny_gpt(len(tokenizer.hf), eos_id=tokenizer.eos_id, seed=1)
    G.constrain_to(tokenizer.constraint(G.vocab_size))
    prompt = torch.tensor(tokenizer.encode("生成 the"))
    from multigan.text.generators import SamplingConfig

    for sampling in (SamplingConfig(temperature=0), SamplingConfig(top_k=5), SamplingConfig(top_p=0.5)):
        rows = G.sample(8, 16, rng=torch.Generator().manual_seed(2), prompt=prompt, sampling=sampling)
        for row in rows.tolist():
            assert "\ufffd" not in tokenizer.decode(tokenizer.encode("生成 the") + row)


@pytest.mark.parametrize("rewards", [mc_rewards, mc_rewards_loop])
def test_rollouts_stay_valid_utf8(tokenizer, rewards):
    G = tiny_lstm(len(tokenizer.hf), eos_id=tokenizer.eos_id, seed=5)
    G.constrain_to(tokenizer.constraint(G.vocab_size))
    tokens = G.sample(4, 10, rng=torch.Generator().manual_seed(0))
    seen = []

    def score(x):
        seen.append(x.clone())
        return torch.zeros(x.shape[0])

    rewards(G, tokens, score, 3, rng=torch.Generator().manual_seed(1))
    rollouts = torch.cat(seen)
    assert rollouts.shape[0] > tokens.shape[0]
    for row in rollouts.tolist():
        _strict(tokenizer, row, final=tokenizer.eos_id in row)


def test_min_tokens_holds_back_eos():
    G = tiny_lstm(12, eos_id=3, seed=0)
    with torch.no_grad():
        G.out.bias[3] = 50.0  # EOS first, almost surely
    rows = G.sample(16, 6, rng=torch.Generator().manual_seed(0))
    assert (rows[:, 0] == 3).all()
    rows = G.sample(16, 6, rng=torch.Generator().manual_seed(0), min_tokens=4)
    assert not (rows[:, :4] == 3).any() and (rows[:, 4] == 3).all()


def test_decode_drops_only_a_character_cut_short():
    tok = TextTokenizer.train(CHINESE, kind="bpe", vocab_size=300)
    lead_byte_of_hao = tok.hf.convert_tokens_to_ids("å")  # 好 is E5 A5 BD; byte E5 is the token "å"
    assert tok.decode(tok.encode("你好")) == "你好"
    assert tok.decode([*tok.encode("你"), lead_byte_of_hao]) == "你"


def test_the_table_agrees_with_every_utf8_encoding():
    """Walk the trie of every valid encoding (U+0000..U+10FFFF, no surrogates): after each proper
    prefix of a character every byte must lead to "complete", "still a prefix" or "reject" exactly
    as the set of encodings says."""
    from multigan.text.utf8 import _REJECT, _transitions

    table = _transitions()
    complete, prefixes = set(), {b""}
    for cp in range(0x110000):
        if not 0xD800 <= cp <= 0xDFFF:
            raw = chr(cp).encode()
            complete.add(raw)
            prefixes.update(raw[:k] for k in range(1, len(raw)))
    for prefix in prefixes:
        state = BOUNDARY
        for b in prefix:
            state = table[state, b]
        assert state != _REJECT and (state != BOUNDARY or prefix == b""), prefix
        for b in range(256):
            after = table[state, b]
            longer = prefix + bytes([b])
            if longer in complete:
                assert after == BOUNDARY, longer
            elif longer in prefixes:
                assert after not in (BOUNDARY, _REJECT), longer
            else:
                assert after == _REJECT, longer
