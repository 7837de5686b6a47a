"""The shipped voice head: trimming at inference, the outlier gate, calibration records."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mmemo.heads.bundle import MLP, HeadError, save_bundle
from mmemo.heads.voice.features import trim_silence
from mmemo.heads.voice.model import SpeechHead


def _bundle(tmp_path, **extra):
    rng = np.random.default_rng(0)
    mlp = MLP(np.zeros(4, np.float32), np.ones(4, np.float32),
              [rng.normal(size=(4, 8)).astype(np.float32)], [np.zeros(8, np.float32)])  # fmt: skip
    config = {
        "head": "speech",
        "labels": ["neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised"],
        "input": {"feature_sets": ["eGeMAPSv02"], "trim_silence": True},
        **extra,
    }
    save_bundle(tmp_path, "speech", config, {**mlp.to_tensors("clip"), **mlp.to_tensors("speaker")})
    return SpeechHead.load(tmp_path)


def test_weight_gate_golden(tmp_path):
    head = _bundle(tmp_path, outlier_gate={"ok": 0.1, "max": 0.3, "floor": 0.05})
    assert head.weight_gate(0.05) == 1.0
    assert head.weight_gate(0.2) == pytest.approx(0.5)
    assert head.weight_gate(0.9) == 0.05
    assert head.trim


def test_bad_gate_names_the_file(tmp_path):
    with pytest.raises(HeadError, match="outlier_gate") as err:
        _bundle(tmp_path, outlier_gate={"ok": 0.5, "max": 0.2, "floor": 0.05})
    assert err.value.path.endswith("speech.json")


def test_trim_silence_cuts_the_silent_ends():
    sr = 16000
    t = np.arange(sr) / sr
    tone = 0.5 * np.sin(2 * np.pi * 200 * t).astype(np.float32)
    x = np.concatenate([np.zeros(sr, np.float32), tone, np.zeros(sr // 2, np.float32)])
    y = trim_silence(x, sr)
    assert 0.95 * sr < len(y) < 1.2 * sr  # 1 s of tone plus the 50 ms pads
    assert trim_silence(np.zeros(sr, np.float32), sr).size == sr  # all silence: unchanged


@pytest.mark.data
def test_shipped_head_reads_trimmed_features_and_records_its_calibration(shared_data):
    from mmemo.heads.voice.features import speech_features
    from mmemo.media import read_audio

    head = SpeechHead.load()
    cfg = head.config
    assert {"ravdess", "ased", "emodb"} <= set(cfg["metrics"]["leave_one_corpus_out"])
    assert 0 < head.reliability < 1
    assert cfg["calibration"]["fit_on"].startswith("out-of-corpus")
    assert head.gate["ok"] < head.gate["max"]
    clip = shared_data / "ravdess" / "Actor_18" / "03-01-03-02-01-01-18.flac"
    a = read_audio(clip, sample_rate=16000, mono=True)
    trimmed = speech_features(a.samples, 16000, head.feature_sets, trim=head.trim)
    np.testing.assert_allclose(head.features_from_file(clip), trimmed, rtol=1e-5)
    json.dumps(cfg)  # the record is plain JSON


def test_speaker_mode_mixes_the_clip_classifier_by_its_weight(tmp_path):
    from scipy.special import log_softmax, softmax

    from mmemo.heads.voice.features import speaker_normalise
    from mmemo.heads.voice.learn import speaker_mode_logits

    rng = np.random.default_rng(1)
    x = rng.normal(size=(6, 4)).astype(np.float32)
    spk = ["a", "a", "a", "b", "b", "c"]  # "c" has one clip: the clip classifier alone
    old = _bundle(tmp_path / "old", classifiers={"speaker": {"normalisation": "rank_gauss"}})
    assert old.speaker_clip_weight == 0.0  # heads before the mix read the speaker one alone
    np.testing.assert_allclose(
        old.predict_proba(x, spk)[:5],
        softmax(old.speaker.logits(speaker_normalise(x[:5], spk[:5], "rank_gauss")), axis=1),
        atol=1e-6,
    )
    head = _bundle(
        tmp_path / "new",
        classifiers={"speaker": {"normalisation": "rank_gauss", "clip_weight": 0.25}},
        temperature_speaker=2.0,
    )
    clip, sp = (
        head.clip.logits(x[:5]),
        head.speaker.logits(speaker_normalise(x[:5], spk[:5], "rank_gauss")),
    )
    mixed = 0.75 * log_softmax(sp, axis=1) + 0.25 * log_softmax(clip, axis=1)
    np.testing.assert_allclose(speaker_mode_logits(clip, sp, 0.25), mixed, atol=1e-6)
    np.testing.assert_array_equal(speaker_mode_logits(clip, sp, 0.0), sp)
    probs = head.predict_proba(x, spk)
    np.testing.assert_allclose(probs[:5], softmax(mixed / 2.0, axis=1), atol=1e-6)
    np.testing.assert_allclose(probs[5], head.predict_proba(x[5:])[0], atol=1e-6)
    with pytest.raises(HeadError, match="clip_weight"):
        _bundle(tmp_path / "bad", classifiers={"speaker": {"clip_weight": 1.5}})
