import pytest

from multigan.core.errors import ConfigError
from multigan.text.tokenizer import TextTokenizer

TEXTS = [
    "The quick brown fox jumps over the lazy dog.",
    "春眠不觉晓，处处闻啼鸟。",
    "夜来风雨声，花落知多少。",
    "Tabs\tand  double spaces survive; so does ünïcödé.",
]


@pytest.mark.parametrize("kind", ["bpe", "char"])
def test_round_trip_including_chinese_and_after_saving(kind, tmp_path):
    tok = TextTokenizer.train(TEXTS * 2, kind=kind, vocab_size=300)
    for text in TEXTS:
        assert tok.decode(tok.encode(text)) == text
    tok.save(tmp_path)
    again = TextTokenizer.load(tmp_path)
    for text in TEXTS:
        assert again.encode(text) == tok.encode(text)
        assert again.decode(again.encode(text)) == text
    assert (again.bos_id, again.eos_id, again.pad_id) == (tok.bos_id, tok.eos_id, tok.pad_id)


def test_byte_level_bpe_round_trips_text_it_never_saw():
    tok = TextTokenizer.train(TEXTS, vocab_size=300)
    unseen = "秋水共长天一色 — and emoji 🙂"
    assert tok.decode(tok.encode(unseen)) == unseen


def test_decode_stops_at_eos_and_transformers_encoding_starts_with_bos(tmp_path):
    from transformers import AutoTokenizer

    tok = TextTokenizer.train(TEXTS, vocab_size=300)
    ids = tok.encode("fox")
    assert tok.decode(ids + [tok.eos_id] + tok.encode("dog")) == "fox"
    tok.save(tmp_path)
    hf = AutoTokenizer.from_pretrained(str(tmp_path))
    assert hf("fox")["input_ids"] == [tok.bos_id] + ids


def test_unknown_kind_is_a_config_error():
    with pytest.raises(ConfigError, match="tokenizer.kind"):
        TextTokenizer.train(TEXTS, kind="words")
