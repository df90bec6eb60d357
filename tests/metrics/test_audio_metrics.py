"""multigan.metrics.audio on constructed inputs whose scores follow by hand from the definitions."""

import math
import warnings

import pytest
import torch

from multigan.core.errors import MultiganError
from multigan.metrics.audio import (
    clipped_share,
    estimate_f0,
    hz_to_midi,
    inception_score,
    midi_to_hz,
    number_of_different_bins,
    pitch_accuracy,
    silent_share,
    spectral_convergence,
)

SR = 16000
NOTES = (48, 60, 61, 72, 84)
HARMONIC = (1.0, 0.5, 0.33, 0.25, 0.2, 0.16)
WEAK_FUNDAMENTAL = (0.2, 1.0, 0.8, 0.4, 0.3)  # the fundamental quieter than the 2nd and 3rd harmonics
NO_FUNDAMENTAL = (0.0, 1.0, 0.8, 0.4)
SAWTOOTH = tuple(1 / k for k in range(1, 40))


def sine(hz: float, amplitude: float = 1.0, seconds: float = 1.0) -> torch.Tensor:
    t = torch.arange(round(seconds * SR), dtype=torch.float64) / SR
    return (amplitude * torch.sin(2 * math.pi * hz * t)).float()


def tone(midi: float, amplitudes: tuple[float, ...], seconds: float = 1.0) -> torch.Tensor:
    """Harmonics k = 1, 2, ... of midi's frequency (those below Nyquist) with the given amplitudes and
    fixed, unequal phases, peak-normalised to 0.8."""
    f0 = midi_to_hz(float(midi))
    t = torch.arange(round(seconds * SR), dtype=torch.float64) / SR
    x = torch.zeros_like(t)
    for k, a in enumerate(amplitudes, start=1):
        if k * f0 < SR / 2:
            x += a * torch.sin(2 * math.pi * k * f0 * t + 0.7 * k * k)
    return (0.8 * x / x.abs().max()).float()


def semitones_off(x: torch.Tensor, midi: float) -> float:
    return abs(hz_to_midi(estimate_f0(x, SR)) - midi)


# ------------------------------------------------------------------------------- inception score


def test_inception_score_of_one_hot_rows_over_k_equally_used_classes_is_k():
    probs = torch.eye(10).repeat(3, 1)  # 30 rows, each class 3 times: KL of each row = log 10
    assert inception_score(probs) == pytest.approx(10.0, rel=1e-12)


def test_inception_score_of_identical_rows_is_one():
    probs = torch.tensor([[0.2, 0.3, 0.5]]).repeat(7, 1)  # p(y|x) = p(y): every KL is 0
    assert inception_score(probs) == 1.0


def test_inception_score_of_a_two_by_two_case():
    # p(y) = (0.75, 0.25); KL_1 = log(1/0.75) = log(4/3); KL_2 = 0.5 log(0.5/0.75) + 0.5 log(0.5/0.25)
    # = 0.5 log(4/3); IS = exp((1.5/2) log(4/3)) = (4/3)^0.75 = 1.24080...
    probs = torch.tensor([[1.0, 0.0], [0.5, 0.5]])
    assert inception_score(probs) == pytest.approx((4 / 3) ** 0.75, rel=1e-12)
    assert inception_score(probs) == pytest.approx(1.2408064788027997, rel=1e-12)


def test_inception_score_of_one_hot_rows_over_unequally_used_classes_is_exp_entropy():
    # classes used 3:1: KL of a class-0 row = log(1/0.75), of a class-1 row = log(1/0.25);
    # mean = 0.75 log(4/3) + 0.25 log 4, IS = (4/3)^0.75 * 4^0.25 = 1.75476...
    probs = torch.tensor([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    assert inception_score(probs) == pytest.approx((4 / 3) ** 0.75 * 4**0.25, rel=1e-12)


@pytest.mark.parametrize(
    "probs",
    [torch.zeros(0, 10), torch.tensor([[0.5, 0.51]]), torch.tensor([[1.5, -0.5]]), torch.ones(4)],
    ids=["no rows", "row sums to 1.01", "negative", "1-d"],
)
def test_inception_score_rejects_bad_probabilities(probs):
    with pytest.raises(MultiganError):
        inception_score(probs)


def test_inception_score_accepts_rows_summing_to_one_within_1e_3():
    assert inception_score(torch.tensor([[0.5, 0.5009]])) == pytest.approx(1.0, abs=1e-12)


# ------------------------------------------------------------------------------- NDB


def blobs(n: int, seed: int) -> torch.Tensor:
    """n rows of 4-d features around four well separated centres."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.tensor([[0.0, 0, 0, 0], [6, 0, 0, 0], [0, 6, 0, 0], [0, 0, 6, 0]])
    return centres[torch.arange(n) % 4] + torch.randn(n, 4, generator=g)


def test_ndb_of_identical_sets_is_zero():
    real = blobs(1000, seed=0)
    assert number_of_different_bins(real, real.clone()) == (0, 20)


def test_ndb_of_fakes_all_in_one_far_cluster_counts_every_bin():
    # every bin holds >= ~1% of the real rows and either none or all of the fakes: z >= ~3 everywhere
    real = blobs(1000, seed=0)
    fake = torch.full((1000, 4), 100.0)
    assert number_of_different_bins(real, fake) == (20, 20)


def test_ndb_z_test_by_hand():
    # three clusters at 0, 10, 20; real counts (40, 30, 30) of 100, fake counts (20, 40, 40) of 100
    real = torch.tensor([0.0] * 40 + [10.0] * 30 + [20.0] * 30).unsqueeze(1)
    fake = torch.tensor([1.0] * 20 + [9.0] * 40 + [21.0] * 40).unsqueeze(1)  # nearest centroids 0, 10, 20
    # bin 0: p_r = .4, p_f = .2, pooled .3, se = sqrt(.3 * .7 * (1/100 + 1/100)) = sqrt(.0042) = .064807,
    #   z = .2 / .064807 = 3.0861, p-value = erfc(3.0861 / sqrt 2) = .00203
    # bins 1, 2: p_r = .3, p_f = .4, pooled .35, se = sqrt(.35 * .65 * .02) = sqrt(.00455) = .067454,
    #   z = .1 / .067454 = 1.4825, p-value = .1382
    assert math.erfc(0.2 / math.sqrt(0.0042) / math.sqrt(2)) == pytest.approx(0.00203, abs=1e-5)
    assert math.erfc(0.1 / math.sqrt(0.00455) / math.sqrt(2)) == pytest.approx(0.1382, abs=1e-4)
    counts = {alpha: number_of_different_bins(real, fake, bins=3, alpha=alpha) for alpha in (0.001, 0.05, 0.2)}
    assert counts == {0.001: (0, 3), 0.05: (1, 3), 0.2: (3, 3)}


def test_ndb_bin_with_zero_standard_error_is_not_different():
    # one bin holds every row on both sides: pooled share 1, standard error 0 (and no 0/0 warning)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert number_of_different_bins(blobs(50, seed=0), torch.full((50, 4), 100.0), bins=1) == (0, 1)


@pytest.mark.parametrize(
    "real, fake, kwargs",
    [
        (torch.zeros(30, 4), torch.zeros(30, 3), {}),
        (torch.randn(10, 4), torch.randn(30, 4), {"bins": 20}),
        (torch.randn(30, 4), torch.randn(0, 4), {"bins": 3}),
        (torch.randn(30, 4), torch.randn(30, 4), {"bins": 3, "alpha": 1.5}),
        (torch.randn(30, 4), torch.full((30, 4), float("nan")), {"bins": 3}),
    ],
    ids=["widths differ", "fewer real rows than bins", "no fake rows", "alpha > 1", "NaN"],
)
def test_ndb_rejects_bad_input(real, fake, kwargs):
    with pytest.raises(MultiganError):
        number_of_different_bins(real, fake, **kwargs)


# ------------------------------------------------------------------------------- silent and clipped


def level_rows() -> torch.Tensor:
    """Zeros; a sine at -40 dB (rms 0.01); a sine at -60 dB (rms 0.001); a full-scale square (0 dB)."""
    square = torch.sign(sine(440.0) + 1e-9)
    return torch.stack([torch.zeros(SR), sine(440.0, 0.01 * math.sqrt(2)), sine(440.0, 0.001 * math.sqrt(2)), square])


def test_silent_share_of_constructed_rows():
    rows = level_rows()
    assert silent_share(rows) == 0.5  # zeros and the -60 dB sine
    assert silent_share(rows, threshold_db=-30.0) == 0.75  # and the -40 dB sine
    assert silent_share(rows, threshold_db=-70.0) == 0.25  # zeros only
    assert silent_share(rows, threshold_db=-300.0) == 0.25  # zeros are -inf dB


def test_silent_share_reads_a_full_scale_sine_at_minus_3_db():
    full = sine(440.0).unsqueeze(0)  # 20 log10(1 / sqrt 2) = -3.0103 dB
    assert silent_share(full, threshold_db=-3.0) == 1.0
    assert silent_share(full, threshold_db=-3.02) == 0.0


def test_clipped_share_of_constructed_rows():
    ten, eleven = torch.zeros(10000), torch.zeros(10000)
    ten[:5], ten[5:10] = 1.0, -1.0  # 10 of 10000 = exactly max_fraction: not more than it
    eleven[:11] = -1.0
    square = torch.sign(sine(440.0, seconds=10000 / SR) + 1e-9)
    rows = torch.stack([square, sine(440.0, 0.5, seconds=10000 / SR), torch.zeros(10000), ten, eleven])
    assert clipped_share(rows) == 0.4  # the square and `eleven`
    assert clipped_share(rows, max_fraction=0.0005) == 0.6  # and `ten`
    assert clipped_share(rows, level=0.4) == 0.6  # and the half-scale sine


def test_clipped_share_counts_a_full_scale_sine_by_default():
    # 440/16000 = 11/400: the sine takes 400 equally spaced phases, 10 of them (2.5%) with |sin| >= 0.999
    full = sine(440.0).unsqueeze(0)
    assert clipped_share(full) == 1.0
    assert clipped_share(full, max_fraction=0.02) == 1.0
    assert clipped_share(full, max_fraction=0.03) == 0.0


@pytest.mark.parametrize("fn", [silent_share, clipped_share])
@pytest.mark.parametrize(
    "bad", [torch.zeros(SR), torch.zeros(0, SR), torch.full((2, 8), float("nan"))], ids=["1-d", "no rows", "NaN"]
)
def test_level_shares_reject_bad_waveforms(fn, bad):
    with pytest.raises(MultiganError):
        fn(bad)


# ------------------------------------------------------------------------------- pitch


def test_estimate_f0_of_a_440_hz_sine():
    assert estimate_f0(sine(440.0), SR) == pytest.approx(440.0, rel=0.005)


@pytest.mark.parametrize("midi", NOTES)
@pytest.mark.parametrize(
    "amplitudes",
    [(1.0,), HARMONIC, WEAK_FUNDAMENTAL, NO_FUNDAMENTAL],
    ids=["sine", "harmonic", "weak fundamental", "no fundamental"],
)
def test_estimate_f0_of_tones(midi, amplitudes):
    assert semitones_off(tone(midi, amplitudes), midi) < 0.3


def test_estimate_f0_of_every_note_from_48_to_84():
    off = {midi: semitones_off(tone(midi, SAWTOOTH), midi) for midi in range(48, 85)}
    assert max(off.values()) < 0.3, off


def test_estimate_f0_listens_to_the_loudest_half_second():
    # 0.6 s of a quiet G4 (-20 dB), then a decaying C4: the C4 is the note
    quiet = 0.1 * tone(67, HARMONIC, seconds=0.6)
    note = tone(60, HARMONIC, seconds=1.4) * torch.exp(-3 * torch.arange(round(1.4 * SR)) / SR)
    assert semitones_off(torch.cat([quiet, note]), 60) < 0.3
    assert semitones_off(quiet, 67) < 0.3


def test_estimate_f0_of_a_clip_shorter_than_half_a_second():
    assert estimate_f0(sine(440.0, seconds=0.05), SR) == pytest.approx(440.0, rel=0.005)


def test_estimate_f0_of_silence_is_nan():
    assert math.isnan(estimate_f0(torch.zeros(SR), SR))
    assert math.isnan(estimate_f0(torch.full((SR,), 0.1), SR))  # a constant offset is silent too
    assert math.isnan(estimate_f0(1e-10 * sine(440.0).double(), SR))  # RMS below 1e-9 (-180 dB)
    assert estimate_f0(1e-6 * sine(440.0), SR) == pytest.approx(440.0, rel=0.005)  # -123 dB: still a note


@pytest.mark.parametrize(
    "waveform, kwargs",
    [
        (torch.zeros(2, SR), {}),
        (sine(440.0), {"fmax": 9000.0}),
        (sine(440.0), {"fmin": 500.0, "fmax": 400.0}),
        (sine(440.0, seconds=0.0005), {}),
        (torch.full((SR,), float("nan")), {}),
    ],
    ids=["2-d", "fmax above Nyquist", "fmin above fmax", "8 samples", "NaN"],
)
def test_estimate_f0_rejects_bad_input(waveform, kwargs):
    with pytest.raises(MultiganError):
        estimate_f0(waveform, SR, **kwargs)


def test_hz_to_midi_and_back():
    assert hz_to_midi(440.0) == 69
    assert hz_to_midi(880.0) == 81
    assert midi_to_hz(69.0) == 440
    assert midi_to_hz(60.0) == pytest.approx(261.6256, abs=1e-4)
    assert hz_to_midi(0.0) == float("-inf")
    assert hz_to_midi(torch.tensor([220.0, 440.0, 880.0])).tolist() == [57.0, 69.0, 81.0]
    assert midi_to_hz(torch.tensor([57.0, 69.0, 81.0])).tolist() == [220.0, 440.0, 880.0]
    midi = torch.arange(21, 109, dtype=torch.float64)
    assert torch.allclose(hz_to_midi(midi_to_hz(midi)), midi, rtol=0, atol=1e-12)


def test_pitch_accuracy_with_three_of_four_right():
    waveforms = torch.stack([tone(m, HARMONIC) for m in (60, 64, 67, 72)])
    assert pitch_accuracy(waveforms, torch.tensor([60, 64, 67, 73]), SR) == 0.75


def test_pitch_accuracy_counts_silence_as_wrong_and_honours_tolerance():
    assert pitch_accuracy(torch.stack([tone(60, HARMONIC), torch.zeros(SR)]), torch.tensor([60, 60]), SR) == 0.5
    rows = tone(60, HARMONIC).unsqueeze(0)
    assert pitch_accuracy(rows, torch.tensor([60.4]), SR) == 1.0
    assert pitch_accuracy(rows, torch.tensor([60.4]), SR, tolerance=0.3) == 0.0


def test_pitch_accuracy_needs_one_target_per_row():
    with pytest.raises(MultiganError):
        pitch_accuracy(torch.zeros(3, SR), torch.tensor([60, 61]), SR)


# ------------------------------------------------------------------------------- spectral convergence


def test_spectral_convergence_by_hand():
    s = torch.rand(2, 257, 63, generator=torch.Generator().manual_seed(0)) + 0.1
    assert spectral_convergence(s, s) == 0.0
    assert spectral_convergence(s, torch.zeros_like(s)) == 1.0
    assert spectral_convergence(s, 0.5 * s) == pytest.approx(0.5, rel=1e-12)
    # ||(0, 4)|| / ||(3, 4)|| = 4 / 5
    assert spectral_convergence(torch.tensor([[3.0, 0.0], [0.0, 4.0]]), torch.tensor([[3.0, 0.0], [0.0, 0.0]])) == (
        pytest.approx(0.8, rel=1e-12)
    )


def test_spectral_convergence_of_a_round_trip_with_the_true_phase_is_zero():
    x, window = tone(60, HARMONIC).double(), torch.hann_window(512, dtype=torch.float64)
    stft = torch.stft(x, 512, 128, window=window, return_complex=True)
    y = torch.istft(stft, 512, 128, window=window, length=x.shape[0])
    again = torch.stft(y, 512, 128, window=window, return_complex=True)
    assert spectral_convergence(stft.abs(), again.abs()) < 1e-9


@pytest.mark.parametrize(
    "reference, estimate",
    [(torch.ones(3, 4), torch.ones(4, 3)), (torch.zeros(3, 4), torch.ones(3, 4)), (torch.ones(3, 4) + 0j,) * 2],
    ids=["shapes differ", "zero reference", "complex"],
)
def test_spectral_convergence_rejects_bad_input(reference, estimate):
    with pytest.raises(MultiganError):
        spectral_convergence(reference, estimate)
