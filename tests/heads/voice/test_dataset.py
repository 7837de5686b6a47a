"""The voice feature cache: found whatever form the data path takes, copies aligned by file."""

from __future__ import annotations

import os

import numpy as np
import pytest

from mmemo.heads.voice.corpora import corpus_clips
from mmemo.heads.voice.dataset import _cache_name, corpus_features

pytestmark = pytest.mark.data


def _fake_cache(shared_data, cache, rng):
    clips = corpus_clips(shared_data.resolve())
    X = rng.normal(0, 1, (len(clips), 6461)).astype(np.float32)
    cache.mkdir(parents=True, exist_ok=True)
    np.savez(cache / _cache_name(True), X=X, label=np.array([c.label for c in clips]),
             speaker=np.array([c.speaker for c in clips]),
             corpus=np.array([c.corpus for c in clips]),
             gender=np.array([c.gender for c in clips]),
             path=np.array([str(c.path) for c in clips]))  # fmt: skip
    return clips, X


def _no_measuring(monkeypatch):
    def fail(paths, trim, augmentation, workers):
        raise AssertionError(f"cache missed: measuring {len(paths)} clips ({augmentation})")

    monkeypatch.setattr("mmemo.heads.voice.dataset._features", fail)


def test_a_relative_data_path_finds_the_cache_of_the_absolute_one(
    shared_data, tmp_path, monkeypatch
):
    """Red before the fix: ``--data ../shared/data`` missed the cache written with the
    absolute path and measured all 4,127 clips again."""
    clips, X = _fake_cache(shared_data, tmp_path / "cache", np.random.default_rng(0))
    _no_measuring(monkeypatch)
    rel = os.path.relpath(shared_data.resolve(), os.getcwd())
    data = corpus_features(rel, tmp_path / "cache", trim=True)
    np.testing.assert_array_equal(data.X, X)
    assert data.path[0] == str(clips[0].path)


def test_augmented_copies_are_read_row_for_row_by_file(shared_data, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    clips, X = _fake_cache(shared_data, cache, np.random.default_rng(0))
    order = np.random.default_rng(1).permutation(len(clips))  # the copy cache in another order
    copies = X[order] + 100.0
    np.savez(cache / _cache_name(True, "gain_eq"), X=copies,
             path=np.array([str(clips[i].path) for i in order]))  # fmt: skip
    _no_measuring(monkeypatch)
    data = corpus_features(shared_data, cache, trim=True, augment=("gain_eq",))
    np.testing.assert_array_equal(data.augmented["gain_eq"], X + 100.0)
    sub = data.subset(data.corpus == "emodb")
    np.testing.assert_array_equal(sub.augmented["gain_eq"], sub.X + 100.0)


def test_a_real_clip_copy_is_measured_through_the_same_features(shared_data):
    """The copy the training run measures (``_clip_features`` with an augmentation) of a real
    RAVDESS clip: 10 % faster raises eGeMAPS's mean F0 by 12 * log2(1.1) = 1.65 semitones."""
    from mmemo.heads.voice.dataset import _clip_features

    clip = str(shared_data / "ravdess" / "Actor_18" / "03-01-03-02-01-01-18.flac")
    plain, fast = _clip_features(clip, True), _clip_features(clip, True, "speed_1.1")
    f0 = 6373  # eGeMAPSv02's first functional: F0semitoneFrom27.5Hz_sma3nz_amean
    assert fast[f0] - plain[f0] == pytest.approx(1.65, abs=0.3)
    coloured = _clip_features(clip, True, "gain_eq")
    assert coloured.shape == plain.shape and not np.allclose(coloured, plain)
    np.testing.assert_array_equal(coloured, _clip_features(clip, True, "gain_eq"))
