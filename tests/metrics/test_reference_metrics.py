"""SSIM, BLEU and Self-BLEU pinned against scikit-image 0.26.0 and nltk 3.10.4, as constants computed
once by scripts/pin_reference_metrics.py (which says how), so that a refactor cannot drift from them."""

import importlib.util
from pathlib import Path

import pytest
import torch

from multigan.metrics.text import bleu, self_bleu
from multigan.metrics.video import ssim

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "pin_reference_metrics.py"
spec = importlib.util.spec_from_file_location("pin_reference_metrics", SCRIPT)
reference = importlib.util.module_from_spec(spec)
spec.loader.exec_module(reference)

# printed by `python scripts/pin_reference_metrics.py` (scikit-image 0.26.0, nltk 3.10.4, numpy 2.4.6)
SSIM = [[0.8820317471856131, 0.87791767242381], [0.8911051789313013, 0.8810184636589508]]
BLEU = {2: 0.7886275276820492, 3: 0.3471387013043214, 4: 0.18804653464589624, 5: 0.1324330366434214}
SELF_BLEU = {2: 0.743863369077252, 3: 0.32984326022948274, 4: 0.16711756000316344, 5: 0.12197518260790279}


def test_ssim_matches_scikit_image():
    pred, target = (torch.tensor(v, dtype=torch.float64).view(reference.FRAME_SHAPE) for v in reference.frames())
    pinned = [v for row in SSIM for v in row]
    assert ssim(pred, target).flatten().tolist() == pytest.approx(pinned, abs=1e-15)


def test_bleu_and_self_bleu_match_nltk_with_smoothing_method_1():
    hyps, refs = reference.hypotheses(), reference.references()
    assert bleu(hyps, refs, reference.ORDERS) == pytest.approx(BLEU, abs=1e-15)
    assert self_bleu(hyps, reference.ORDERS) == pytest.approx(SELF_BLEU, abs=1e-15)


def test_the_inputs_are_not_degenerate():
    assert 0.5 < min(min(row) for row in SSIM) < 0.99  # frames that differ, but not wholly
    assert len({len(s) for s in reference.hypotheses()}) > 3  # hypotheses of several lengths
    assert all(0 < v < 1 for v in BLEU.values())
