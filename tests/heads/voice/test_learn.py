"""The voice head's learner: masked LR, corpus masks and the leave-one-corpus-out protocol."""

from __future__ import annotations

import numpy as np
import pytest

from mmemo.heads.voice.corpora import CORE_LABELS, CORPUS_LABELS
from mmemo.heads.voice.learn import (
    FEATURE_COLUMNS,
    VOICE_LABELS,
    Recipe,
    VoiceData,
    class_mask,
    corpus_shift,
    fit_masked_lr,
    loco,
    restricted_scores,
    sample_weights,
    shared_classes,
    stable_columns,
)


def _toy(n=300, d=5, k=3, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 2, (k, d))
    y = rng.integers(0, k, n)
    return centres[y] + rng.normal(0, 1, (n, d)), y


def test_unmasked_fit_matches_sklearn():
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    X, y = _toy()
    mine = fit_masked_lr(X, y, np.ones((len(y), 3), bool), C=0.5)
    sc = StandardScaler().fit(X)
    ref = LogisticRegression(C=0.5, max_iter=5000, tol=1e-10).fit(sc.transform(X), y)
    p_ref = ref.predict_proba(sc.transform(X))
    np.testing.assert_allclose(mine.predict_proba(X), p_ref, atol=2e-3)


def test_a_masked_class_is_not_taught_as_absent():
    # rows of "corpus B" never see class 2: with the mask, B's rows must not push class 2 down,
    # so class 2's logit for B-like inputs stays where corpus A put it
    X, y = _toy(n=600, seed=1)
    b_rows = np.arange(len(y)) >= 300
    y_b = y.copy()
    y_b[b_rows & (y == 2)] = 0  # B relabels its class-2 rows: B has no class 2
    mask = np.ones((len(y), 3), bool)
    mask[b_rows, 2] = False
    masked = fit_masked_lr(X, y_b, mask, C=1.0)
    plain = fit_masked_lr(X, y_b, np.ones_like(mask), C=1.0)
    cls2 = X[(y == 2) & ~b_rows]
    assert masked.predict_proba(cls2)[:, 2].mean() > plain.predict_proba(cls2)[:, 2].mean() + 0.05


def test_a_label_outside_its_mask_is_an_error():
    X, y = _toy(n=20)
    mask = np.ones((20, 3), bool)
    mask[0, y[0]] = False
    with pytest.raises(ValueError, match="outside"):
        fit_masked_lr(X, y, mask, C=1.0)


def _two_corpora(seed=0):
    """Corpus A mostly class 0, corpus B mostly class 1. Feature 0 carries the emotion,
    feature 1 the corpus (an offset between A and B), feature 2 is noise."""
    rng = np.random.default_rng(seed)
    y = np.concatenate([rng.choice(2, 400, p=[0.8, 0.2]), rng.choice(2, 400, p=[0.2, 0.8])])
    corpus = np.repeat(["a", "b"], 400)
    X = rng.normal(0, 1, (800, 3))
    X[:, 0] += 3 * y
    X[:, 1] += 3 * (corpus == "b")
    return X, np.array(["sad", "angry"])[y], corpus


def test_corpus_shift_flags_the_corpus_feature_not_the_emotion_one():
    X, labels, corpus = _two_corpora()
    score = corpus_shift(X, labels, corpus)
    assert score.argmax() == 1
    # the corpora's class mixes differ (80/20 vs 20/80), so the plain corpus means of the
    # emotion feature differ by ~1.8 SD; the class-balanced centroids do not
    assert score[0] < 0.05 < score[1]
    keep = stable_columns(X, labels, corpus, drop=1 / 3)
    assert keep.tolist() == [True, False, True]
    assert stable_columns(X, labels, corpus, drop=0.0) is None
    assert stable_columns(X, labels, np.repeat("a", 800), drop=0.5) is None


def test_columns_left_out_get_zero_weight_and_match_a_fit_without_them():
    X, y = _toy(d=6)
    mask = np.ones((len(y), 3), bool)
    keep = np.array([True, False, True, True, False, True])
    m = fit_masked_lr(X, y, mask, C=0.5, columns=keep)
    ref = fit_masked_lr(X[:, keep], y, mask, C=0.5)
    assert m.weights[0].shape == (6, 3)
    assert not m.weights[0][~keep].any()
    np.testing.assert_allclose(m.predict_proba(X), ref.predict_proba(X[:, keep]), atol=1e-5)


def test_class_mask_and_weights_follow_the_corpora():
    m = class_mask(np.array(["ased", "ravdess"]))
    assert m[0].sum() == len(CORPUS_LABELS["ased"]) == 5
    assert not m[0, VOICE_LABELS.index("disgust")]
    assert m[1].all()
    w = sample_weights(np.array(["a", "a", "a", "b"]), balance=True)
    assert w[:3].sum() == pytest.approx(w[3])
    assert w.mean() == pytest.approx(1.0)


def test_restricted_scores_golden():
    logits = np.zeros((4, len(VOICE_LABELS)))
    for i, lab in enumerate(("angry", "happy", "disgust", "sad")):
        logits[i, VOICE_LABELS.index(lab)] = 5
    labels = np.array(["angry", "happy", "neutral", "calm"])
    s = restricted_scores(logits, labels, CORE_LABELS)
    assert s["n"] == 3  # calm is not a core class
    assert s["acc"] == pytest.approx(2 / 3)
    assert s["uar"] == pytest.approx(2 / 3)


def test_shared_classes_of_each_held_out_corpus():
    assert shared_classes("emodb", ("ravdess", "ased")) == (
        "neutral", "happy", "sad", "angry", "fearful", "disgust",
    )  # fmt: skip
    assert shared_classes("ravdess", ("ased", "emodb")) == (
        "neutral", "happy", "sad", "angry", "fearful", "disgust",
    )  # fmt: skip
    assert set(CORE_LABELS) <= set(shared_classes("ased", ("ravdess", "emodb")))


def test_loco_on_real_corpus_features_beats_chance(shared_data):
    """A small real LOCO run: 40 clips per corpus, eGeMAPS, each held-out corpus scored."""
    from mmemo.heads.voice.corpora import corpus_clips
    from mmemo.heads.voice.features import speech_features
    from mmemo.media import read_audio

    clips = corpus_clips(shared_data)
    rng = np.random.default_rng(0)
    pick = []
    for corpus in ("ravdess", "ased", "emodb"):
        idx = [i for i, c in enumerate(clips) if c.corpus == corpus and c.label in CORE_LABELS]
        pick += list(rng.choice(idx, 40, replace=False))
    feats = []
    for i in pick:
        a = read_audio(clips[i].path, sample_rate=16000, mono=True)
        feats.append(speech_features(a.samples, 16000, ("eGeMAPSv02",), trim=True))
    X = np.zeros((len(pick), 6461), np.float32)
    X[:, FEATURE_COLUMNS["eGeMAPSv02"]] = np.stack(feats)
    data = VoiceData(
        X,
        np.array([clips[i].label for i in pick]),
        np.array([clips[i].speaker for i in pick]),
        np.array([clips[i].corpus for i in pick]),
        np.array([clips[i].gender for i in pick]),
    )
    recipe = Recipe(feature_sets=("eGeMAPSv02",), C_clip=0.01, C_speaker=0.01, augment=())
    res = loco(data, recipe)
    assert set(res) == {"ravdess", "ased", "emodb"}
    for r in res.values():
        s = r["scores"]["clip"]["core"]
        assert s["n"] == 40
        assert 0.0 <= s["uar"] <= 1.0
    mean_uar = np.mean([r["scores"]["speaker"]["core"]["uar"] for r in res.values()])
    assert mean_uar > 0.3  # chance is 0.25 on the four core classes
    # calibration pools held-out corpora whose shared classes differ (5 vs 6 columns)
    from mmemo.heads.voice.calibrate import calibrate_from_loco

    cal = calibrate_from_loco(res, data, recipe)
    assert 0.05 <= cal["temperature"] <= 20 and 0.05 <= cal["temperature_speaker"] <= 20
    per = cal["record"]["clip"]["per_corpus"]
    assert set(per) == {"ravdess", "ased", "emodb"}
    assert all(0 <= v["ece_after"] <= 1 for v in per.values())
    assert 0 <= cal["outlier_gate"]["ok"] < cal["outlier_gate"]["max"] <= 1
    assert 0 <= cal["reliability"]["skill"] <= 1
