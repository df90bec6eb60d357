import numpy as np
import pytest
import torch
from PIL import Image

import multigan.translate.data as data_module
from multigan.core.errors import MultiganError
from multigan.translate.config import TranslateDataConfig
from multigan.translate.data import Domains, TrainPairs, blend_digits, colour_patches, digits_m, load_domains


def _png(path, color, shape=(20, 20)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((*shape, 3), color, np.uint8)).save(path)


def _colours(images):
    """The colour at each image's centre, as a tuple."""
    s = images.shape[-1] // 2
    return [tuple(c) for c in images[:, :, s, s].tolist()]


def test_blend_digits_is_the_absolute_difference():
    digits = torch.tensor([[[[0, 255], [100, 30]]]], dtype=torch.uint8)  # (1, 1, 2, 2)
    patches = torch.tensor([[[[10, 10], [10, 10]], [[200, 0], [50, 255]], [[255, 255], [100, 31]]]], dtype=torch.uint8)
    expected = [[[10, 245], [90, 20]], [[200, 255], [50, 225]], [[255, 0], [0, 1]]]
    out = blend_digits(digits, patches)
    assert out.dtype == torch.uint8 and out.tolist() == [expected]
    assert blend_digits(digits.expand(-1, 3, -1, -1), patches).tolist() == [expected]


def test_colour_patches_are_seeded_privately():
    state = torch.get_rng_state()
    first = colour_patches(6, 16, seed=3)
    assert torch.equal(torch.get_rng_state(), state)
    assert first.shape == (6, 3, 16, 16) and first.dtype == torch.uint8
    assert torch.equal(first, colour_patches(6, 16, seed=3))
    assert not torch.equal(first, colour_patches(6, 16, seed=4))


def test_digits_m():
    data = digits_m(16)
    assert data.paired and data.skipped == 0
    assert data.train_a.shape == data.train_b.shape == (1437, 3, 16, 16)
    assert data.test_a.shape == data.test_b.shape == data.test_patches.shape == (360, 3, 16, 16)
    assert data.train_a.dtype == data.train_b.dtype == torch.uint8
    assert torch.equal(data.test_b, blend_digits(data.test_a, data.test_patches))
    for a in (data.train_a, data.test_a):
        assert torch.equal(a[:, :1].expand(-1, 3, -1, -1), a)
    assert data.labels_test.shape == (360,) and data.labels_train_a.dtype == torch.int64
    assert torch.equal(data.labels_train_a, data.labels_train_b)
    from multigan.core.digits import digit_images

    digits, labels = digit_images(16)
    held = torch.arange(1797) % 5 == 0
    assert torch.equal(data.test_a[:, :1], digits[held]) and torch.equal(data.labels_test, labels[held])
    assert torch.equal(data.train_a[:, :1], digits[~held]) and torch.equal(data.labels_train_a, labels[~held])


def _paired_folder(root, n):
    """n pairs: A/i.png is gray 10*i, B/i.png has the colour (10*i, 0, 200)."""
    for i in range(n):
        _png(root / "A" / f"{i:02d}.png", 10 * i)
        _png(root / "B" / f"{i:02d}.png", (10 * i, 0, 200), shape=(24, 16))


def _pairs(data):
    return list(zip(_colours(data.train_a), _colours(data.train_b))) + list(
        zip(_colours(data.test_a), _colours(data.test_b))
    )


def test_paired_folder_matches_names_and_counts_the_rest(tmp_path, capsys):
    _paired_folder(tmp_path, 10)
    _png(tmp_path / "A" / "only_a1.png", 1)
    _png(tmp_path / "A" / "only_a2.png", 2)
    _png(tmp_path / "B" / "only_b.png", 3)
    _png(tmp_path / "B" / "03.jpg", 4)  # a different extension is a different name
    data = load_domains(TranslateDataConfig(path=str(tmp_path), size=16, heldout=0.2))
    assert capsys.readouterr().err.splitlines() == [
        f"warning: 2 file(s) in {tmp_path / 'A'} and 2 in {tmp_path / 'B'} have no partner of the same name; "
        "they are not used"
    ]
    assert data.paired and data.skipped == 4
    assert len(data.train_a) == len(data.train_b) == 8 and len(data.test_a) == len(data.test_b) == 2
    assert data.train_a.shape[1:] == data.test_b.shape[1:] == (3, 16, 16)
    assert data.labels_test is None and data.test_patches is None
    assert sorted(_pairs(data)) == [((10 * i,) * 3, (10 * i, 0, 200)) for i in range(10)]


def test_paired_folder_drops_the_pair_of_a_corrupt_file(tmp_path, capsys):
    _paired_folder(tmp_path, 5)
    bad = tmp_path / "B" / "02.png"
    bad.write_bytes(b"not a png")
    data = load_domains(TranslateDataConfig(path=str(tmp_path), size=16))
    assert capsys.readouterr().err.splitlines() == [
        f"warning: skipped {bad}: not an image Pillow can decode (its pair is not used)"
    ]
    assert data.skipped == 1 and len(data.train_a) + len(data.test_a) == 4
    assert sorted(_pairs(data)) == [((10 * i,) * 3, (10 * i, 0, 200)) for i in (0, 1, 3, 4)]


def test_paired_folder_errors_are_one_line(tmp_path):
    (tmp_path / "A").mkdir()
    with pytest.raises(MultiganError, match=r"^data\.path: .* has no B/ folder") as err:
        load_domains(TranslateDataConfig(path=str(tmp_path)))
    assert "\n" not in str(err.value)
    with pytest.raises(MultiganError, match=r"^data\.path: .* is not a folder"):
        load_domains(TranslateDataConfig(path=str(tmp_path / "nope")))
    _paired_folder(tmp_path, 1)
    with pytest.raises(MultiganError, match=r"^data\.path: 1 pair\(s\) .* at least 2"):
        load_domains(TranslateDataConfig(path=str(tmp_path)))


def test_unpaired_folders(tmp_path):
    shapes = [(20, 20), (40, 17), (13, 50), (64, 64), (30, 31)]
    for i, shape in enumerate(shapes):
        _png(tmp_path / "a" / f"{i}.png", 20 * i, shape)
    for i in range(12):
        _png(tmp_path / "b" / "nested" / f"{i}.jpg", (0, 10 * i, 0), shapes[i % 5])
    cfg = TranslateDataConfig(path_a=str(tmp_path / "a"), path_b=str(tmp_path / "b"), size=16, heldout=0.25)
    data = load_domains(cfg)
    assert not data.paired and data.skipped == 0
    assert data.train_a.shape == (4, 3, 16, 16) and data.test_a.shape == (1, 3, 16, 16)
    assert data.train_b.shape == (9, 3, 16, 16) and data.test_b.shape == (3, 3, 16, 16)
    assert sorted(_colours(torch.cat([data.train_a, data.test_a]))) == [(20 * i,) * 3 for i in range(5)]
    again = load_domains(cfg)
    assert torch.equal(again.test_b, data.test_b) and torch.equal(again.train_a, data.train_a)


def test_unpaired_folder_with_too_few_images(tmp_path, capsys):
    _png(tmp_path / "a" / "0.png", 0)
    _png(tmp_path / "a" / "1.png", 1)
    _png(tmp_path / "b" / "0.png", 0)
    (tmp_path / "b" / "1.png").write_bytes(b"broken")
    cfg = TranslateDataConfig(path_a=str(tmp_path / "a"), path_b=str(tmp_path / "b"), size=16)
    with pytest.raises(MultiganError, match=r"^data\.path_b: 1 of the 2 images under .* at least 2$"):
        load_domains(cfg)
    assert len(capsys.readouterr().err.splitlines()) == 1
    (tmp_path / "c").mkdir()
    with pytest.raises(MultiganError, match=r"^data\.path_a: no images"):
        load_domains(TranslateDataConfig(path_a=str(tmp_path / "c"), path_b=str(tmp_path / "b"), size=16))


def _domains(n_a, n_b, paired):
    a = torch.arange(n_a, dtype=torch.uint8).view(-1, 1, 1, 1).expand(-1, 3, 4, 4)
    b = 100 + torch.arange(n_b, dtype=torch.uint8).view(-1, 1, 1, 1).expand(-1, 3, 4, 4)
    return Domains(a, b, a[:1], b[:1], paired=paired)


def test_train_pairs():
    paired = TrainPairs(_domains(5, 5, True), unpaired=False)
    assert len(paired) == 5 and [(int(a[0, 0, 0]), int(b[0, 0, 0])) for a, b in paired] == [
        (k, 100 + k) for k in range(5)
    ]
    unpaired = TrainPairs(_domains(3, 4, False), unpaired=True)
    items = [(int(a[0, 0, 0]), int(b[0, 0, 0])) for a, b in (unpaired[k] for k in range(len(unpaired)))]
    assert len(unpaired) == 12 and items == [(k % 3, 100 + (k // 3 + 7919 * (k % 3)) % 4) for k in range(12)]
    assert sorted(items) == [(i, 100 + j) for i in range(3) for j in range(4)]  # every combination once
    assert len(TrainPairs(_domains(5, 5, True), unpaired=True)) == 25


def test_past_the_cap_each_a_meets_a_stretch_of_the_b(monkeypatch):
    monkeypatch.setattr(data_module, "MAX_COMBINATIONS", 6)
    unpaired = TrainPairs(_domains(3, 4, False), unpaired=True)
    items = [(int(a[0, 0, 0]), int(b[0, 0, 0]) - 100) for a, b in (unpaired[k] for k in range(len(unpaired)))]
    assert len(unpaired) == 6 and sorted({a for a, _ in items}) == [0, 1, 2]
    assert len(set(items)) == 6 and {b for _, b in items} == {0, 1, 2, 3}
    with pytest.raises(ValueError):
        TrainPairs(_domains(3, 4, False), unpaired=False)
