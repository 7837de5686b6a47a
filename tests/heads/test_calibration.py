"""Temperature calibration: NLL fit, ECE, the ship-or-not rule, and the JSON update."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mmemo.heads.calibration import (
    choose_temperature,
    ece,
    fit_temperature,
    nll,
    softmax_t,
    write_temperature,
)


def _sampled(n: int, true_t: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Logits and labels drawn from ``softmax(logits / true_t)``: calibrated at ``true_t``."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=3.0, size=(n, 5))
    p = softmax_t(logits, true_t)
    y = (p.cumsum(1) > rng.random((n, 1))).argmax(1)
    return logits, y


@pytest.mark.parametrize("true_t", [0.5, 2.0])
def test_fit_temperature_recovers_the_generating_temperature(true_t):
    logits, y = _sampled(20000, true_t)
    assert fit_temperature(logits, y) == pytest.approx(true_t, rel=0.08)
    t_nll, t = choose_temperature(logits, y)
    assert t == t_nll  # here the NLL fit also lowers the ECE, so it is shipped
    assert ece(softmax_t(logits, t), y) < ece(softmax_t(logits), y)


def test_nll_and_ece_golden():
    probs = np.array([[0.9, 0.1], [0.6, 0.4]])
    # bin of 0.9: right (|0.9 - 1|); bin of 0.6: wrong (|0.6 - 0|) -> (0.1 + 0.6) / 2
    assert ece(probs, np.array([0, 1])) == pytest.approx(0.35)
    logits = np.log(probs)
    assert nll(logits, np.array([0, 1])) == pytest.approx(-(np.log(0.9) + np.log(0.4)) / 2)
    assert nll(logits * 2, np.array([0, 1]), temperature=2.0) == pytest.approx(
        nll(logits, np.array([0, 1]))
    )
    with pytest.raises(ValueError, match="no predictions"):
        fit_temperature(np.zeros((0, 3)), np.zeros(0, int))


def test_outliers_do_not_buy_a_temperature_that_miscalibrates_the_bulk():
    logits, y = _sampled(3000, 1.0)
    logits[:15] = 0.0
    logits[np.arange(15), (y[:15] + 1) % 5] = 1000.0  # a few absurdly confident errors
    t_nll, t = choose_temperature(logits, y)
    assert t_nll > 1.5 and t == 1.0


def test_write_temperature_keeps_weights_and_sha(tmp_path):
    cfg = {"head": "text", "weights": "text.safetensors", "sha256": "ab" * 32, "metrics": {}}
    (tmp_path / "text.json").write_text(json.dumps(cfg))
    write_temperature(tmp_path, "text", {"temperature": 1.3, "calibration": {"n": 5}})
    out = json.loads((tmp_path / "text.json").read_text())
    assert out == {**cfg, "temperature": 1.3, "calibration": {"n": 5}}
