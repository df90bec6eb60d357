import pytest
import torch

from multigan.core.errors import MultiganError
from multigan.text.data import default_corpus, encode_rows, heldout_split, read_corpus, split_examples


def test_sentences_in_english_and_chinese():
    text = "First sentence. Second one?\nstill second.\n\n床前明月光，\n疑是地上霜。举头望明月！"
    assert split_examples(text) == [
        "First sentence.",
        "Second one?",
        "still second.",
        "床前明月光，疑是地上霜。",
        "举头望明月！",
    ]
    assert split_examples("a line\n\nb line\n", "line") == ["a line", "b line"]
    with pytest.raises(MultiganError, match="data.unit"):
        split_examples(text, "word")


def test_folder_reading_skips_and_counts_undecodable_files(tmp_path, capsys):
    (tmp_path / "a.txt").write_text("你好。", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.md").write_text("hello.", encoding="utf-8")
    (tmp_path / "bad.bin").write_bytes(b"\xff\xfe\xfa\x80")
    (tmp_path / ".hidden").write_text("secret", encoding="utf-8")
    (tmp_path / "zeros.dat").write_bytes(b"\x00" * 64)  # decodes as UTF-8, but is binary
    corpus = read_corpus(tmp_path)
    assert capsys.readouterr().err.splitlines() == [
        f"warning: skipped {tmp_path / 'bad.bin'}: not UTF-8 text",
        f"warning: skipped {tmp_path / 'zeros.dat'}: a binary file (it holds NUL bytes)",
    ]
    assert sorted(corpus.texts) == ["hello.", "你好。"]
    assert corpus.files == 4 and len(corpus.skipped) == 2
    assert read_corpus(tmp_path / "a.txt").texts == ["你好。"]
    with pytest.raises(MultiganError, match="neither a file nor a folder"):
        read_corpus(tmp_path / "missing")


def test_default_corpus_is_prose_from_the_python_reference():
    examples = default_corpus()
    assert len(examples) > 1000
    assert all(len(e) >= 10 for e in examples)
    assert not any(e.startswith("***") for e in examples)


def test_rows_end_with_eos_padding_and_long_examples_continue():
    encode = lambda s: [ord(c) - 96 for c in s]  # a..z -> 1..26
    rows = encode_rows(["ab", "abcdefg"], encode, 4, eos_id=0)
    assert rows.tolist() == [[1, 2, 0, 0], [1, 2, 3, 4], [5, 6, 7, 0]]
    assert rows.dtype == torch.long


def test_heldout_split_is_seeded_disjoint_and_complete():
    examples = [f"s{i}" for i in range(50)]
    train, held = heldout_split(examples, 0.1, seed=0)
    assert len(held) == 5 and not set(train) & set(held) and set(train) | set(held) == set(examples)
    assert (train, held) == heldout_split(examples, 0.1, seed=0)
    assert heldout_split(examples, 0.1, seed=1)[1] != held
    assert len(heldout_split(["a", "b"], 0.01, seed=0)[1]) == 1
