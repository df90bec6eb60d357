"""The core's conditioning: caption vocabulary, encoders, FiLM, projection, dropout, mismatches."""

import pytest
import torch

from multigan.core.conditioning import (
    CaptionVocabulary,
    FiLM,
    LabelEncoder,
    PretrainedCaptionEncoder,
    PretrainedCaptionTokenizer,
    WordCaptionEncoder,
    drop_condition,
    drop_words,
    mismatched,
    projection,
)
from multigan.core.errors import ConfigError, MultiganError
from multigan.core.losses import fake_loss

CAPTIONS = [f"the digit {d} moves {m}" for d in range(4) for m in ("up and down", "left and right")]


def test_words_in_every_caption_are_filler_so_keywords_and_captions_encode_alike():
    vocab = CaptionVocabulary.fit(CAPTIONS)
    assert vocab.filler == {"the", "digit", "moves", "and"}
    assert vocab.ids("3 up and down") == vocab.ids("The digit 3 moves UP and down.") != []
    assert vocab.ids("3 up and down") != vocab.ids("3 left and right")
    assert vocab.known_words() == ["0", "1", "2", "3", "down", "left", "right", "up"]


def test_unknown_keywords_are_named_in_one_line_with_known_words():
    vocab = CaptionVocabulary.fit(CAPTIONS)
    with pytest.raises(ConfigError) as err:
        vocab.check("7 zigzags up")
    message = str(err.value)
    assert "'7'" in message and "'zigzags'" in message and "'up'" not in message.split(";")[0]
    assert "0, 1, 2, 3, down" in message and "\n" not in message
    with pytest.raises(ConfigError, match="names nothing"):
        vocab.check("the digit moves")
    vocab.check("2 left and right")  # known: no error


def test_one_caption_repeated_has_no_filler():
    assert CaptionVocabulary.fit(["a cat", "a cat"]).filler == frozenset()


def test_vocabulary_round_trips_through_its_file(tmp_path):
    vocab = CaptionVocabulary.fit(CAPTIONS)
    vocab.save(tmp_path / "vocabulary.json")
    again = CaptionVocabulary.load(tmp_path / "vocabulary.json")
    assert again.filler == vocab.filler and again.size == vocab.size
    assert again.ids("1 left and right") == vocab.ids("1 left and right")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(MultiganError, match="cannot read the caption vocabulary"):
        CaptionVocabulary.load(tmp_path / "bad.json")


def test_encode_pads_and_marks_missing_captions():
    vocab = CaptionVocabulary.fit(CAPTIONS)
    tokens = vocab.encode(["the digit 1 moves up and down", None, "2 left"])
    assert tokens.ids.shape == (3, 3)
    assert tokens.mask.tolist() == [[True, True, True], [False, False, False], [True, True, False]]
    assert tokens.present.tolist() == [True, False, True]


def test_word_encoder_reads_order_and_gives_the_null_vector_without_a_condition():
    torch.manual_seed(0)
    vocab = CaptionVocabulary.fit(
        ["digit 1 moves up and digit 2 moves left", "digit 2 moves up and digit 1 moves left"]
    )
    encoder = WordCaptionEncoder(vocab.size, 8)
    a, b = encoder(vocab.encode(["1 up 2 left", "2 up 1 left"]))
    assert not torch.allclose(a, b)  # same words, other order: another condition
    null = encoder(vocab.encode([None, None]))
    assert torch.equal(null, encoder.null.expand(2, -1))


def test_the_bag_of_words_part_reads_each_word_the_same_beside_any_other():
    torch.manual_seed(0)
    vocab = CaptionVocabulary.fit(CAPTIONS)
    encoder = WordCaptionEncoder(vocab.size, 8, bag_of_words=True)
    seen_a, seen_b, unseen_a, unseen_b = encoder(
        vocab.encode(["1 up and down", "2 left and right", "1 left and right", "2 up and down"])
    )
    assert not torch.allclose(seen_a + seen_b, unseen_a + unseen_b)  # the GRU's part binds words to their order
    with torch.no_grad():
        encoder.out.weight.zero_()
        encoder.out.bias.zero_()
    seen_a, seen_b, unseen_a, unseen_b = encoder(
        vocab.encode(["1 up and down", "2 left and right", "1 left and right", "2 up and down"])
    )
    assert torch.allclose(seen_a + seen_b, unseen_a + unseen_b, atol=1e-6)  # the bag's part: a sum of its words
    assert not torch.allclose(seen_a, unseen_a)
    plain = WordCaptionEncoder(vocab.size, 8)
    with torch.no_grad():
        plain.out.weight.zero_()
        plain.out.bias.zero_()
    assert torch.count_nonzero(plain(vocab.encode(["1 up and down"]))) == 0  # without the bag, the GRU alone


def test_label_encoder_maps_minus_one_to_its_null_class():
    encoder = LabelEncoder(3, 4)
    out = encoder(torch.tensor([0, -1, 2]))
    assert torch.equal(out[1], encoder.embed.weight[3])


def test_film_starts_as_the_identity_and_learns_a_scale_and_shift():
    film = FiLM(4, 3)
    x, cond = torch.randn(2, 3, 5, 5), torch.randn(2, 4)
    assert torch.equal(film(x, cond), x)
    film(x, cond).square().sum().backward()
    assert film.linear.weight.grad is not None and film.linear.weight.grad.abs().sum() > 0


def test_projection_is_the_inner_product():
    e, h = torch.tensor([[1.0, 2.0]]), torch.tensor([[3.0, -1.0]])
    assert projection(e, h).tolist() == [1.0]


def test_drop_condition_hides_about_the_asked_share():
    vocab = CaptionVocabulary.fit(CAPTIONS)
    tokens = vocab.encode(CAPTIONS * 500)
    assert drop_condition(tokens, 0.0) is tokens
    torch.manual_seed(0)
    kept = drop_condition(tokens, 0.25).present.float().mean().item()
    assert 0.72 < kept < 0.78


def test_drop_words_keeps_the_rest_in_order_and_a_caption_without_words_has_no_condition():
    vocab = CaptionVocabulary.fit(CAPTIONS)
    tokens = vocab.encode(CAPTIONS * 500)
    assert drop_words(tokens, 0.0) is tokens
    torch.manual_seed(0)
    dropped = drop_words(tokens, 0.3)
    kept = dropped.mask.sum() / tokens.mask.sum()
    assert 0.67 < kept.item() < 0.73
    assert torch.equal(dropped.present, dropped.mask.any(1)) and not dropped.present.all()
    assert (dropped.ids[~dropped.mask] == 0).all()
    for row in range(len(tokens)):
        words, left = tokens.ids[row][tokens.mask[row]].tolist(), dropped.ids[row][dropped.mask[row]].tolist()
        assert dropped.mask[row].tolist() == sorted(dropped.mask[row].tolist(), reverse=True)  # no gaps
        it = iter(words)
        assert all(w in it for w in left)  # a subsequence: the kept words in their order
    encoded = WordCaptionEncoder(vocab.size, 8, bag_of_words=True)(dropped)
    assert torch.isfinite(encoded).all()
    assert torch.equal(
        encoded[~dropped.present], encoded[~dropped.present][:1].expand(int((~dropped.present).sum()), -1)
    )


def test_mismatched_rolls_captions_and_masks_the_rows_that_really_differ():
    vocab = CaptionVocabulary.fit(CAPTIONS)
    tokens = vocab.encode(["0 up and down", "0 up and down", "1 left and right", None])
    wrong, rows = mismatched(tokens)
    assert torch.equal(wrong.ids[0], tokens.ids[1]) and torch.equal(wrong.ids[3], tokens.ids[0])
    assert rows.tolist() == [False, True, False, False]  # same caption; differ; next has none; has none


def test_fake_loss_averages_over_the_chosen_rows_only():
    logits = torch.tensor([0.0, 1.0, 3.0])
    assert fake_loss("hinge", logits).item() == pytest.approx((1 + 2 + 4) / 3)
    assert fake_loss("hinge", logits, torch.tensor([False, True, True])).item() == pytest.approx(3.0)
    assert fake_loss("hinge", logits, torch.tensor([False, False, False])).item() == 0.0


def test_a_local_transformers_encoder_is_frozen_and_kept_out_of_checkpoints(tiny_bert):
    tokenizer = PretrainedCaptionTokenizer(str(tiny_bert))
    encoder = PretrainedCaptionEncoder(str(tiny_bert), 8)
    tokens = tokenizer.encode(["the digit 3 moves up and down", None])
    out = encoder(tokens)
    assert out.shape == (2, 8) and torch.equal(out[1], encoder.null)
    assert set(encoder.state_dict()) == {"out.weight", "out.bias", "null"}
    assert all(p.requires_grad for p in encoder.parameters())  # only the projection and null train


def test_a_missing_text_encoder_folder_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="not a folder"):
        PretrainedCaptionTokenizer(str(tmp_path / "nothing"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="cannot load"):
        PretrainedCaptionEncoder(str(tmp_path / "empty"), 8)
