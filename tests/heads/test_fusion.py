"""Fusion of the heads: golden values of the pool, disagreement, tempering and capping."""

from __future__ import annotations

import math

import pytest

from mmemo.heads.fusion import (
    STRONG_DISAGREEMENT,
    cap_confidence,
    contributions,
    disagreement,
    fuse,
    kappa,
    reliability_weights,
    temper,
)


def test_fuse_golden_weighted_geometric_mean():
    out = fuse({"a": {"x": 0.8, "y": 0.2}, "b": {"x": 0.5, "y": 0.5}}, {"a": 1.0, "b": 2.0})
    # x: 0.8 * 0.5^2 = 0.2, y: 0.2 * 0.5^2 = 0.05 -> 0.8 / 0.2
    assert out == pytest.approx({"x": 0.8, "y": 0.2})
    half = fuse({"a": {"x": 0.8, "y": 0.2}}, {"a": 0.5})
    assert half["x"] == pytest.approx(math.sqrt(0.8) / (math.sqrt(0.8) + math.sqrt(0.2)))


def test_disagreement_golden():
    assert disagreement({"x": 1.0, "y": 0.0}, {"x": 0.0, "y": 1.0}) == pytest.approx(1.0)
    assert disagreement({"x": 0.5, "y": 0.5}, {"x": 0.5, "y": 0.5}) == pytest.approx(0.0)
    # 0.5 * (0.9 log2(0.9/0.5) + 0.1 log2(0.1/0.5)) * 2 for the mirrored pair
    expected = 0.9 * math.log2(0.9 / 0.5) + 0.1 * math.log2(0.1 / 0.5)
    assert disagreement({"x": 0.9, "y": 0.1}, {"x": 0.1, "y": 0.9}) == pytest.approx(expected)
    # only shared labels count, each side renormalised over them
    assert disagreement({"x": 0.5, "z": 0.5}, {"x": 1.0}) == pytest.approx(0.0)


def test_a_neutral_face_against_a_sure_voice_is_a_strong_disagreement():
    face = {"neutral": 0.56, "fearful": 0.06, "happy": 0.1, "sad": 0.14, "angry": 0.14}
    voice = {"neutral": 0.001, "fearful": 0.99, "happy": 0.003, "sad": 0.003, "angry": 0.003}
    assert disagreement(face, voice) >= STRONG_DISAGREEMENT
    agree = {"neutral": 0.9, "fearful": 0.02, "happy": 0.02, "sad": 0.03, "angry": 0.03}
    assert disagreement(face, agree) < STRONG_DISAGREEMENT


def test_temper_keeps_the_argmax_and_flattens():
    p = {"x": 0.9, "y": 0.09, "z": 0.01}
    t = temper(p, 0.5)
    assert max(t, key=t.get) == "x"
    assert t["x"] < 0.9
    assert sum(t.values()) == pytest.approx(1.0)
    assert temper(p, 1.0) == pytest.approx(p)


def test_cap_confidence_golden():
    p = {"x": 0.97, "y": 0.02, "z": 0.01}
    c = cap_confidence(p, 0.6)
    assert c["x"] == pytest.approx(0.6)
    assert max(c, key=c.get) == "x"
    assert sum(c.values()) == pytest.approx(1.0)
    assert cap_confidence({"x": 0.5, "y": 0.5}, 0.6) == {"x": 0.5, "y": 0.5}


def test_contributions_name_the_head_that_pushed_the_label():
    probs = {"face": {"x": 0.3, "y": 0.7}, "voice": {"x": 0.99, "y": 0.01}}
    push = contributions(probs, {"face": 1.0, "voice": 1.0}, "x")
    assert max(push, key=push.get) == "voice"
    assert push["face"] < 0


def test_reliability_weights_are_relative_skill():
    assert kappa(0.5, 0.25) == pytest.approx(1 / 3)
    assert kappa(0.1, 0.25) == 0.0
    w = reliability_weights({"voice": 0.2, "face": 0.5, "text": None})
    assert w == pytest.approx({"voice": 0.4, "face": 1.0, "text": 1.0})
    with pytest.raises(ValueError):
        kappa(0.5, 1.0)


def test_shipped_heads_record_their_reliability_and_the_predictor_uses_it():
    import json

    from mmemo.heads.bundle import default_dir
    from mmemo.predict import Predictor

    skills = {}
    for key, name in (("voice", "speech"), ("face", "face"), ("text", "text")):
        cfg = json.loads((default_dir() / f"{name}.json").read_text())
        rel = cfg["reliability"]
        assert 0 < rel["skill"] < 1 and rel["measure"]
        skills[key] = rel["skill"]
    pred = Predictor.from_pretrained("default", modalities=("voice", "face"))
    expected = reliability_weights({k: skills[k] for k in ("voice", "face")})
    assert pred.weights["voice"] == pytest.approx(expected["voice"])
    assert pred.weights["face"] == pytest.approx(1.0)
    assert pred.weights["voice"] < 1.0  # the voice is less reliable out of corpus than the face
