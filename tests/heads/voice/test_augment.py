"""Augmented training copies: what each perturbation does to real audio, and how the copies
enter training (never a held-out clip's copy, never more weight than the clip)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from mmemo.heads.voice.augment import AUGMENTATIONS, augment, clip_seed
from mmemo.heads.voice.learn import VOICE_LABELS, Recipe, VoiceData, fit_voice, loco

SR = 16000


def _tone(f0=200.0, seconds=1.0, amp=0.3):
    t = np.arange(int(SR * seconds)) / SR
    return (amp * np.sin(2 * np.pi * f0 * t)).astype(np.float32)


def _peak_hz(x):
    spec = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    return np.fft.rfftfreq(x.size, 1 / SR)[spec.argmax()]


def test_speed_moves_pitch_and_length_by_the_factor():
    x = _tone(200.0)
    fast, slow = augment(x, "speed_1.1", 0), augment(x, "speed_0.9", 0)
    assert fast.size == pytest.approx(x.size / 1.1, abs=2)
    assert slow.size == pytest.approx(x.size / 0.9, abs=2)
    assert _peak_hz(fast) == pytest.approx(220.0, abs=3)
    assert _peak_hz(slow) == pytest.approx(180.0, abs=3)


def _high_share(x):
    power = np.abs(np.fft.rfft(x)) ** 2
    return power[np.fft.rfftfreq(x.size, 1 / SR) > 4000].sum() / power.sum()


def test_gain_eq_changes_level_and_colour_within_its_range_and_repeats_by_seed():
    rng = np.random.default_rng(0)
    x = (0.2 * rng.standard_normal(SR)).astype(np.float32)
    seen_low = seen_high = False
    for seed in range(40):
        y = augment(x, "gain_eq", seed)
        np.testing.assert_array_equal(y, augment(x, "gain_eq", seed))
        gain_db = 20 * np.log10(np.abs(y).max() / np.abs(x).max())
        assert -12.01 <= gain_db <= 6.01
        # the share of energy above 4 kHz says which filter was drawn
        seen_low |= _high_share(y) < 0.5 * _high_share(x)
        seen_high |= _high_share(y) > 1.2 * _high_share(x)
    assert seen_low and seen_high


def test_noise_lands_within_its_snr_range():
    x = _tone(150.0, amp=0.1)
    for seed in range(20):
        n = augment(x, "noise", seed).astype(np.float64) - x
        snr = 10 * np.log10(np.mean(x.astype(np.float64) ** 2) / np.mean(n**2))
        assert 15 - 0.2 <= snr <= 35 + 0.2


def test_unknown_augmentation_is_named():
    with pytest.raises(ValueError, match="unknown augmentation 'reverb'"):
        augment(_tone(), "reverb", 0)


def test_clip_seed_depends_on_the_augmentation_and_the_file_not_the_data_root():
    a = clip_seed("gain_eq", "/data/ravdess/Actor_01/03-01-05-01-01-01-01.flac")
    assert a == clip_seed("gain_eq", "../other/root/Actor_01/03-01-05-01-01-01-01.flac")
    assert a != clip_seed("noise", "/data/ravdess/Actor_01/03-01-05-01-01-01-01.flac")
    assert a != clip_seed("gain_eq", "/data/ravdess/Actor_02/03-01-05-01-01-01-01.flac")
    assert set(AUGMENTATIONS) >= {"speed_0.9", "speed_1.1", "gain_eq"}


def _voice_data(n_per=30, seed=0):
    """Three toy corpora, two speakers each, four core classes, eGeMAPS columns informative."""
    rng = np.random.default_rng(seed)
    labels = ("angry", "happy", "neutral", "sad")
    rows = []
    for corpus in ("ravdess", "ased", "emodb"):
        for s in range(2):
            for i in range(n_per):
                rows.append((corpus, f"{corpus}/{s}", labels[i % 4]))
    corpus, speaker, label = (np.array(c) for c in zip(*rows, strict=True))
    X = rng.normal(0, 1, (len(rows), 6461)).astype(np.float32)
    X[:, 6373:6377] += 2 * (label[:, None] == np.array(labels)[None, :])
    return VoiceData(X, label, speaker, corpus, np.array(["f"] * len(rows)))


def test_copies_follow_their_rows_and_become_speakers_of_their_own():
    data = _voice_data()
    copy = data.X + 1.0
    copy[0] = np.nan  # no copy of the first clip
    data.augmented = {"speed_1.1": copy}
    sub = data.subset(data.corpus == "ased")
    np.testing.assert_array_equal(sub.augmented["speed_1.1"], copy[data.corpus == "ased"])
    full = data.with_copies(("speed_1.1",))
    assert len(full.X) == 2 * len(data.X) - 1
    assert full.speaker[len(data.X)] == f"{data.speaker[1]}#speed_1.1"
    np.testing.assert_array_equal(full.X[len(data.X)], copy[1])
    with pytest.raises(ValueError, match="noise"):
        data.with_copies(("noise",))


def test_identical_copies_leave_the_fit_unchanged():
    """Copies share their clip's weight: a copy equal to its clip (under another speaker
    name) must give the same classifiers as no copy. Red if the copies add weight."""
    data = _voice_data()
    recipe = Recipe(feature_sets=("eGeMAPSv02",), components=None, drop_shifted=0.1, augment=())
    plain = fit_voice(data, recipe)
    data.augmented = {"speed_0.9": data.X.copy(), "speed_1.1": data.X.copy()}
    aug = fit_voice(data, dataclasses.replace(recipe, augment=("speed_0.9", "speed_1.1")))
    for mode in ("clip", "speaker"):
        np.testing.assert_allclose(aug[mode].weights[0], plain[mode].weights[0], atol=2e-3)
        np.testing.assert_allclose(aug[mode].biases[0], plain[mode].biases[0], atol=2e-3)
    # and copies that differ do change it
    noise = np.random.default_rng(1).normal(0, 1, data.X.shape).astype(np.float32)
    data.augmented = {"speed_0.9": data.X + noise, "speed_1.1": data.X - noise}
    moved = fit_voice(data, dataclasses.replace(recipe, augment=("speed_0.9", "speed_1.1")))
    assert np.abs(moved["clip"].weights[0] - plain["clip"].weights[0]).max() > 1e-2


def test_loco_never_trains_on_the_held_out_corpus_copies():
    data = _voice_data()
    data.augmented = {"gain_eq": data.X + 0.1}
    recipe = Recipe(feature_sets=("eGeMAPSv02",), components=None, augment=("gain_eq",))
    seen = []

    def spy(train, rec):
        full = train.with_copies(rec.augment)
        seen.append(set(full.corpus))
        assert len(full.X) == 2 * len(train.X)
        return fit_voice(train, rec)

    res = loco(data, recipe, fit=spy)
    assert seen == [{"ased", "emodb"}, {"ravdess", "emodb"}, {"ravdess", "ased"}]
    assert set(res) == {"ravdess", "ased", "emodb"}
    assert len(VOICE_LABELS) == res["ased"]["logits"]["clip"].shape[1]


def test_recipe_round_trips_through_its_config_record():
    r = Recipe(augment=("speed_0.9", "gain_eq"))
    assert Recipe.from_dict(r.to_dict()) == r
    assert Recipe.from_dict({k: v for k, v in r.to_dict().items() if k != "augment"}).augment == ()
