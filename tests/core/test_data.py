"""BatchStream: epoch arithmetic, sharding across ranks, and resuming mid-epoch; build_folder_once."""

import pytest
import torch
from torch.utils.data import TensorDataset

from multigan.core.data import BatchStream, build_folder_once
from multigan.core.errors import MultiganError


def _stream(n: int, batch: int, *, rank: int = 0, world: int = 1, seed: int = 0) -> BatchStream:
    data = TensorDataset(torch.arange(n))
    return BatchStream(
        data, batch, lambda items: torch.stack([x for (x,) in items]), seed=seed, rank=rank, world_size=world
    )


def test_an_epoch_is_a_permutation_cut_into_whole_batches():
    stream = _stream(10, 3)
    batches = stream.epoch_batches(0)
    assert [len(b) for b in batches] == [3, 3, 3]  # the last partial batch is dropped
    flat = [i for b in batches for i in b]
    assert len(set(flat)) == 9 and set(flat) <= set(range(10))
    assert stream.epoch_batches(1) != batches  # a new permutation each epoch
    assert _stream(10, 3).epoch_batches(1) == stream.epoch_batches(1)  # drawn from (seed, epoch) alone
    assert _stream(10, 3, seed=1).epoch_batches(0) != batches


@pytest.mark.parametrize("world", [2, 3, 4])
def test_ranks_get_disjoint_shards_of_equal_length(world):
    shards = [_stream(24, 2, rank=r, world=world).epoch_batches(5) for r in range(world)]
    assert len({len(s) for s in shards}) == 1  # every rank takes the same number of steps
    seen = [i for s in shards for b in s for i in b]
    assert len(seen) == len(set(seen))  # no example on two ranks in one epoch


def test_tiny_data_is_repeated_to_fill_a_batch():
    batches = _stream(3, 8).epoch_batches(0)
    assert len(batches) == 1 and len(batches[0]) == 8 and set(batches[0]) == {0, 1, 2}


def test_the_stream_crosses_epochs_and_resumes_mid_epoch_exactly():
    straight = _stream(10, 3)
    expected = [next(straight).tolist() for _ in range(7)]  # 3 per epoch: crosses two epoch ends
    assert straight.state_dict() == {"epoch": 2, "offset": 1}
    first = _stream(10, 3)
    head = [next(first).tolist() for _ in range(4)]
    resumed = _stream(10, 3)
    resumed.load_state_dict(first.state_dict())
    assert head + [next(resumed).tolist() for _ in range(3)] == expected


def test_empty_data_is_a_clear_error():
    with pytest.raises(MultiganError, match="empty"):
        _stream(0, 2)


def _writer(text: str, calls: list[str]):
    def build(folder):
        calls.append(folder.name)
        (folder / "data.txt").write_text(text)
        (folder / "done.json").write_text("{}")

    return build


def test_a_folder_is_built_beside_its_place_and_moved_in_whole_once(tmp_path):
    out, calls = tmp_path / "cache" / "set", []
    assert build_folder_once(out, _writer("a", calls)) == out
    assert calls[0] != "set" and calls[0].startswith(".set.")  # never built in place
    assert (out / "data.txt").read_text() == "a"
    assert build_folder_once(out, _writer("b", calls)) == out
    assert len(calls) == 1 and (out / "data.txt").read_text() == "a"
    assert sorted(p.name for p in out.parent.iterdir()) == ["set"]


def test_when_another_process_finishes_first_its_folder_stays_and_ours_is_dropped(tmp_path):
    out, calls = tmp_path / "set", []

    def slower(folder):
        build_folder_once(out, _writer("first", calls))  # the other process, done while we build
        _writer("second", calls)(folder)

    assert build_folder_once(out, slower) == out
    assert (out / "data.txt").read_text() == "first"
    assert len(calls) == 2 and sorted(p.name for p in tmp_path.iterdir()) == ["set"]


def test_a_stale_folder_without_its_marker_is_replaced_and_a_failed_build_leaves_nothing(tmp_path):
    out = tmp_path / "set"
    out.mkdir()
    (out / "half.txt").write_text("interrupted")
    build_folder_once(out, _writer("a", []))
    assert sorted(p.name for p in out.iterdir()) == ["data.txt", "done.json"]

    def failing(folder):
        (folder / "data.txt").write_text("half")
        raise KeyboardInterrupt

    other = tmp_path / "other"
    with pytest.raises(KeyboardInterrupt):
        build_folder_once(other, failing)
    with pytest.raises(RuntimeError, match="no done.json"):
        build_folder_once(other, lambda folder: None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["set"]
