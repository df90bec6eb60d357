import numpy as np
import pytest
import torch
from PIL import Image

from multigan.core.errors import MultiganError
from multigan.image.data import load_digits_images, load_image_folder


def test_digits():
    data = load_digits_images(32)
    assert len(data) == 1797 and data.images.shape == (1797, 1, 32, 32) and data.num_classes == 10
    image, label = data[0]
    assert image.dtype == torch.uint8 and 0 <= label < 10


def _png(path, color):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((20, 30, 3), color, np.uint8)).save(path)


def test_folder_with_classes_and_a_corrupt_file(tmp_path, capsys):
    _png(tmp_path / "cats" / "a.png", 10)
    _png(tmp_path / "cats" / "b.png", 20)
    _png(tmp_path / "dogs" / "nested" / "c.png", 30)
    (tmp_path / "dogs" / "broken.jpg").write_bytes(b"not an image at all")
    data = load_image_folder(tmp_path, 16)
    broken = tmp_path / "dogs" / "broken.jpg"
    assert capsys.readouterr().err.splitlines() == [f"warning: skipped {broken}: not an image Pillow can decode"]
    assert len(data) == 3 and data.skipped == 1
    assert data.class_names == ["cats", "dogs"]
    assert data.images.shape == (3, 3, 16, 16)
    assert sorted(data.labels.tolist()) == [0, 0, 1]


def test_decompression_bomb_is_refused(tmp_path, monkeypatch, capsys):
    _png(tmp_path / "big.png", 50)
    _png(tmp_path / "small.png", 60)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # 20x30 = 600 pixels > 100: a "bomb"
    with pytest.raises(MultiganError, match="none of the 2 images"):
        load_image_folder(tmp_path, 16)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2 and all("decompression-bomb limit" in line for line in lines)


def test_past_ten_skipped_files_are_counted_not_listed(tmp_path, capsys):
    _png(tmp_path / "good.png", 10)
    for i in range(13):
        (tmp_path / f"bad{i:02d}.png").write_bytes(b"not a png")
    data = load_image_folder(tmp_path, 16)
    lines = capsys.readouterr().err.splitlines()
    assert data.skipped == 13 and len(data) == 1
    assert lines[:10] == [
        f"warning: skipped {tmp_path / f'bad{i:02d}.png'}: not an image Pillow can decode" for i in range(10)
    ]
    assert lines[10:] == ["warning: skipped 3 more images (13 in all)"]


def test_empty_or_missing_folder(tmp_path):
    with pytest.raises(MultiganError, match="no images"):
        load_image_folder(tmp_path, 16)
    with pytest.raises(MultiganError, match="not a folder"):
        load_image_folder(tmp_path / "nope", 16)


class _FakeSplitDataset:
    """Stands in for a torchvision dataset that takes split= (like SVHN) and yields (PIL image, target)."""

    def __init__(self, root, split, download):
        assert split == "train" and download
        self.items = [(Image.fromarray(np.full((12, 12, 3), 40 * i, np.uint8)), i % 2) for i in range(4)]
        self.classes = ["even", "odd"]

    def __len__(self):
        return len(self.items)

    def __getitem__(self, index):
        return self.items[index]


class _FakeAttributeDataset(_FakeSplitDataset):
    def __getitem__(self, index):
        image, _ = self.items[index]
        return image, torch.tensor([1, 0, 1])  # a vector of attributes, like CelebA's default target


def test_torchvision_dataset_with_a_split_argument(monkeypatch, tmp_path):
    import torchvision

    from multigan.image.data import load_torchvision

    monkeypatch.setattr(torchvision.datasets, "FakeSplit", _FakeSplitDataset, raising=False)
    data = load_torchvision("FakeSplit", str(tmp_path), 16, 3)
    assert data.images.shape == (4, 3, 16, 16) and data.labels.tolist() == [0, 1, 0, 1]
    assert data.class_names == ["even", "odd"]
    monkeypatch.setattr(torchvision.datasets, "FakeAttributes", _FakeAttributeDataset, raising=False)
    data = load_torchvision("FakeAttributes", str(tmp_path), 16, 1)
    assert data.images.shape == (4, 1, 16, 16) and data.labels.tolist() == [0, 0, 0, 0]


def test_unknown_torchvision_dataset_is_one_line(tmp_path):
    from multigan.image.data import load_torchvision

    with pytest.raises(MultiganError, match="torchvision has no dataset 'NoSuchSet'"):
        load_torchvision("NoSuchSet", str(tmp_path), 16, 3)
