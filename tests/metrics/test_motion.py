"""multigan.metrics.motion on small synthetic clips of bright squares with known centres."""

import numpy as np
import pytest
import torch

from multigan.metrics.motion import HORIZONTAL, VERTICAL, digit_centres, digit_crops, majority, motion_axis

SIZE, SIDE, T = 32, 6, 8


def bounce(start: int, step: int, t: int = T, hi: int = SIZE - SIDE) -> list[int]:
    """Top-left positions moving `step` px per frame, reflecting at 0 and hi."""
    out, p = [], start
    for _ in range(t):
        out.append(p)
        if not 0 <= p + step <= hi:
            step = -step
        p += step
    return out


def squares(*tracks: tuple[list[int], list[int]], size: int = SIZE, side: int = SIDE) -> torch.Tensor:
    """One clip (1, t, size, size) of side x side squares at top-left corners (xs[i], ys[i])."""
    t = len(tracks[0][0])
    clip = np.zeros((1, t, size, size), dtype=np.float32)
    for xs, ys in tracks:
        for i in range(t):
            clip[0, i, ys[i] : ys[i] + side, xs[i] : xs[i] + side] = 1.0
    return torch.from_numpy(clip)


def centres_of(xs: list[int], ys: list[int], side: int = SIDE) -> torch.Tensor:
    """(t, 2) analytic centres (x, y) of squares with top-left corners (xs, ys)."""
    return torch.tensor([[x + (side - 1) / 2, y + (side - 1) / 2] for x, y in zip(xs, ys)], dtype=torch.float64)


HORIZONTAL_TRACK = (bounce(14, 3), [5] * T)  # 14, 17, 20, 23, 26, 23, 20, 17: bounces at the right edge
VERTICAL_TRACK = ([20] * T, bounce(12, -3))  # 12, 9, 6, 3, 0, 3, 6, 9: bounces at the top
# two digits that never overlap: in frame 0 |dx| = 18 >= |dy| = 10, so the left (horizontal) one is track 0
PAIR = ((bounce(2, 3, hi=12), [2] * T), ([20] * T, bounce(12, 3)))  # x 2, 5, 8, 11, 8, ... / y 12 .. 24, 21, 18


# ---------------------------------------------------------------------------------------- one digit


@pytest.mark.parametrize("track, axis", [(HORIZONTAL_TRACK, HORIZONTAL), (VERTICAL_TRACK, VERTICAL)])
def test_one_digit_gives_its_centre_and_axis(track, axis):
    centres = digit_centres(squares(track))
    assert centres.shape == (1, 1, T, 2) and centres.dtype == torch.float64
    torch.testing.assert_close(centres[0, 0], centres_of(*track), rtol=0, atol=1e-12)
    axes = motion_axis(centres)
    assert axes.shape == (1, 1) and axes.dtype == torch.long and axes.item() == axis


def test_intensity_weights_the_centre():
    clip = torch.zeros(1, 1, 8, 10)
    clip[0, 0, 2, 1] = 1.0
    clip[0, 0, 6, 7] = 0.5
    torch.testing.assert_close(digit_centres(clip)[0, 0, 0], torch.tensor([3.0, 10 / 3], dtype=torch.float64))


def test_a_blank_frame_gives_the_frame_centre():
    clip = torch.zeros(2, 3, 20, 30)
    clip[0, 1, 4:10, 2:8] = 1.0
    centres = digit_centres(clip)
    middle = torch.tensor([14.5, 9.5], dtype=torch.float64)
    torch.testing.assert_close(centres[0, 0, 0], middle)
    torch.testing.assert_close(centres[0, 0, 1], torch.tensor([4.5, 6.5], dtype=torch.float64))
    torch.testing.assert_close(centres[1, 0], middle.expand(3, 2))
    assert torch.isfinite(centres).all()


def test_shapes_of_empty_batches_and_clips():
    for k in (1, 2):
        assert digit_centres(torch.zeros(0, 3, 8, 8), num_digits=k).shape == (0, k, 3, 2)
        assert digit_centres(torch.zeros(2, 0, 8, 8), num_digits=k).shape == (2, k, 0, 2)


def test_batched_clips_match_one_by_one():
    clips = torch.cat([squares(HORIZONTAL_TRACK), squares(VERTICAL_TRACK), squares(*PAIR)])
    for k in (1, 2):
        batched = digit_centres(clips, num_digits=k)
        assert batched.shape == (3, k, T, 2)
        for i in range(3):
            torch.testing.assert_close(batched[i], digit_centres(clips[i : i + 1], num_digits=k)[0])


# --------------------------------------------------------------------------------------- two digits


def overlap(a, b) -> list[int]:
    """Pixels shared by the squares of tracks a and b, per frame."""
    return [max(0, SIDE - abs(xa - xb)) * max(0, SIDE - abs(ya - yb)) for xa, ya, xb, yb in zip(*a, *b)]


def check_two(first, second):
    """first is the track that the identity rule puts in slot 0; the two never overlap."""
    assert not any(overlap(first, second))
    centres = digit_centres(squares(second, first), num_digits=2)  # drawing order must not matter
    assert centres.shape == (1, 2, T, 2) and centres.dtype == torch.float64
    torch.testing.assert_close(centres[0, 0], centres_of(*first), rtol=0, atol=1e-9)
    torch.testing.assert_close(centres[0, 1], centres_of(*second), rtol=0, atol=1e-9)
    return motion_axis(centres)[0].tolist()


def test_two_digits_in_different_quadrants_keep_their_tracks_and_axes():
    top_left_horizontal = (bounce(1, 3, hi=10), [2] * T)  # x 1 .. 10, rows 2..7
    bottom_right_vertical = ([22] * T, bounce(16, 3))  # cols 22..27, y 16 .. 25 .. 13
    # frame 0: |dx| = 21 >= |dy| = 14, so the left digit (the horizontal one) is track 0
    assert check_two(top_left_horizontal, bottom_right_vertical) == [HORIZONTAL, VERTICAL]


def test_the_left_digit_is_track_zero_whatever_its_motion():
    bottom_left_vertical = ([1] * T, bounce(20, -3))  # x 1, y 20 .. 5
    top_right_horizontal = (bounce(24, -2), [3] * T)  # x 24 .. 10, y 3
    # frame 0: |dx| = 23 >= |dy| = 17: the left digit (now the vertical one) is track 0
    assert check_two(bottom_left_vertical, top_right_horizontal) == [VERTICAL, HORIZONTAL]


def test_the_upper_digit_is_track_zero_when_they_are_stacked():
    upper = (bounce(16, -3), [1] * T)  # x 16 .. 1, y 1
    lower = ([12] * T, bounce(24, -2))  # x 12, y 24 .. 10
    # frame 0: |dx| = 4 < |dy| = 23: the upper digit is track 0, although it is on the right
    assert check_two(upper, lower) == [HORIZONTAL, VERTICAL]


def test_two_digits_passing_one_pixel_apart_keep_their_tracks():
    horizontal = (bounce(0, 3, hi=12), [10] * T)  # cols up to 12..17, rows 10..15
    vertical = ([19] * T, bounce(0, 3))  # cols 19..24, sliding past the horizontal digit's right edge
    # frame 4: the horizontal digit ends at column 17, the vertical one starts at 19, rows overlapping
    assert horizontal[0][4] + SIDE == vertical[0][4] - 1 and abs(horizontal[1][4] - vertical[1][4]) < SIDE
    assert check_two(horizontal, vertical) == [HORIZONTAL, VERTICAL]


def test_a_brief_corner_overlap_pulls_the_centres_only_in_the_overlapping_frames():
    horizontal = (bounce(6, 3), [8] * T)  # rows 8..13, x 6 .. 26 .. 23
    vertical = ([20] * T, bounce(0, 3))  # cols 20..25, y 0 .. 21
    assert overlap(horizontal, vertical) == [0, 0, 0, 5, 8, 0, 0, 0]  # of 36 pixels
    centres = digit_centres(squares(horizontal, vertical), num_digits=2)
    err = (centres[0] - torch.stack([centres_of(*horizontal), centres_of(*vertical)])).norm(dim=-1)
    assert err[:, 3:5].max() < 0.5
    assert err[:, :3].max() < 1e-9 and err[:, 5:].max() < 1e-9
    assert motion_axis(centres)[0].tolist() == [HORIZONTAL, VERTICAL]


def test_a_blank_frame_keeps_both_centres_and_a_blank_start_waits_for_the_digits():
    clip = squares(*PAIR)
    clip[0, 0] = 0
    clip[0, 3] = 0
    centres = digit_centres(clip, num_digits=2)
    truth = torch.stack([centres_of(*PAIR[0]), centres_of(*PAIR[1])])
    torch.testing.assert_close(centres[0, :, 0], torch.tensor([[15.5, 15.5]] * 2, dtype=torch.float64))
    torch.testing.assert_close(centres[0, :, 1:3], truth[:, 1:3])  # frame 1 is seeded as frame 0 would be
    torch.testing.assert_close(centres[0, :, 3], truth[:, 2])
    torch.testing.assert_close(centres[0, :, 4:], truth[:, 4:])


def test_iters_bounds_the_lloyd_iterations():
    clip = squares(*PAIR)
    one = digit_centres(clip, num_digits=2, iters=1)
    assert one.shape == (1, 2, T, 2) and torch.isfinite(one).all()


# --------------------------------------------------------------------------------------- motion axis


def test_motion_axis_compares_ranges_and_ties_go_vertical():
    tracks = torch.tensor(
        [
            [[0.0, 5.0], [4.0, 3.0], [1.0, 4.0]],  # x range 4 > y range 2
            [[2.0, 0.0], [3.0, 6.0], [2.0, 1.0]],  # x range 1 < y range 6
            [[1.0, 1.0], [3.0, 3.0], [2.0, 2.0]],  # equal ranges
            [[7.0, 7.0], [7.0, 7.0], [7.0, 7.0]],  # still
        ],
        dtype=torch.float64,
    )
    assert motion_axis(tracks).tolist() == [HORIZONTAL, VERTICAL, VERTICAL, VERTICAL]
    assert motion_axis(tracks.view(2, 2, 3, 2)).shape == (2, 2)


# --------------------------------------------------------------------------------------------- crops


@pytest.mark.parametrize("box", [5, 6])
def test_crops_return_the_sprite_at_its_centre(box):
    g = torch.Generator().manual_seed(box)
    sprite = torch.rand(box, box, generator=g) + 0.1
    clip = torch.zeros(1, 2, 20, 24)
    clip[0, 0, 3 : 3 + box, 11 : 11 + box] = sprite  # top-left (x, y) = (11, 3)
    clip[0, 1, 9 : 9 + box, 2 : 2 + box] = sprite.flip(0)  # top-left (2, 9)
    half = (box - 1) / 2
    centres = torch.tensor([[[[11 + half, 3 + half], [2 + half, 9 + half]]]], dtype=torch.float64)
    crops = digit_crops(clip, centres, box)
    assert crops.shape == (1, 1, 2, box, box) and crops.dtype == clip.dtype
    assert torch.equal(crops[0, 0, 0], sprite) and torch.equal(crops[0, 0, 1], sprite.flip(0))


def test_crops_of_tracked_centres_are_the_sprites():
    clip = squares(*PAIR)  # uniform squares on 0: a crop off by one pixel would hold zeros
    crops = digit_crops(clip, digit_centres(clip, num_digits=2), SIDE)
    assert crops.shape == (1, 2, T, SIDE, SIDE)
    assert torch.equal(crops, torch.ones_like(crops))
    for k, (xs, ys) in enumerate(PAIR):
        for i in range(T):
            assert torch.equal(crops[0, k, i], clip[0, i, ys[i] : ys[i] + SIDE, xs[i] : xs[i] + SIDE])


def test_crop_rounding_takes_the_nearest_window_and_halves_round_up():
    clip = torch.arange(12 * 12, dtype=torch.float32).view(1, 1, 12, 12)

    def start(x: float, box: int) -> int:
        crop = digit_crops(clip, torch.tensor([[[[x, 5.0]]]]), box)[0, 0, 0]
        return int(crop[0, 0].item()) % 12  # the first column of the window

    # even box 6: the window starting at a is centred on a + 2.5
    assert [start(x, 6) for x in (4.5, 4.9, 5.0, 5.49, 5.5)] == [2, 2, 3, 3, 3]
    # odd box 5: the window starting at a is centred on a + 2
    assert [start(x, 5) for x in (4.0, 4.49, 4.5, 5.0)] == [2, 2, 3, 3]


def test_crops_are_clamped_inside_the_frame():
    clip = torch.rand(1, 1, 16, 20, generator=torch.Generator().manual_seed(0))
    centres = torch.tensor([[[[0.0, 0.0]], [[-7.0, 3.0]], [[25.0, 40.0]], [[19.0, 6.0]]]], dtype=torch.float64)
    crops = digit_crops(clip, centres, 6)
    frame = clip[0, 0]
    assert crops.shape == (1, 4, 1, 6, 6)
    assert torch.equal(crops[0, 0, 0], frame[:6, :6])
    assert torch.equal(crops[0, 1, 0], frame[1:7, :6])  # y 3 -> rows 1..6 (floor(3 - 2.5 + 0.5) = 1)
    assert torch.equal(crops[0, 2, 0], frame[10:, 14:])
    assert torch.equal(crops[0, 3, 0], frame[4:10, 14:])


# ------------------------------------------------------------------------------------------ majority


def test_majority_takes_the_most_frequent_label_and_the_smallest_on_ties():
    labels = torch.tensor([[1, 2, 2, 3], [3, 1, 1, 3], [7, 7, 0, 7], [4, 4, 4, 4]])
    result = majority(labels)
    assert result.dtype == torch.long and result.tolist() == [2, 1, 7, 4]
    assert majority(labels.view(2, 2, 4)).tolist() == [[2, 1], [7, 4]]
    assert majority(torch.tensor([9])).item() == 9


# --------------------------------------------------------------------------------------- bad input


def test_bad_input_is_refused():
    clip = torch.zeros(1, 2, 8, 8)
    with pytest.raises(ValueError):
        digit_centres(torch.zeros(2, 8, 8))
    with pytest.raises(ValueError):
        digit_centres(clip, num_digits=3)
    with pytest.raises(ValueError):
        digit_centres(clip, iters=0)
    with pytest.raises(ValueError):
        digit_crops(clip, torch.zeros(1, 1, 2, 2), 9)
    with pytest.raises(ValueError):
        digit_crops(clip, torch.zeros(1, 1, 3, 2), 4)
    with pytest.raises(ValueError):
        motion_axis(torch.zeros(3, 3))
    with pytest.raises(ValueError):
        majority(torch.tensor([1, -1]))
    with pytest.raises(ValueError):
        majority(torch.tensor([0.5, 1.0]))
