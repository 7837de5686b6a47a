"""No single overconfident head hijacks the fused answer: real faces and real speech muxed.

The clip is a neutral FER2013 face (a real photograph, upscaled as a video frame) with real
EmoDB speech played through a telephone channel (300-3400 Hz, 8 kHz, noise at 15 dB SNR),
i.e. a voice from a microphone the voice head never heard. The voice head is then made
overconfident on purpose (temperature 0.05), as the previous head was on TV speech: the
fused answer must still not exceed 0.9 for the emotion only the voice supports, and the
output must say that the face and the voice disagree.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mmemo.data.samples import face_video

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _telephone(src: Path, dst: Path, snr_db: float = 15.0) -> Path:
    import soundfile as sf
    from scipy.signal import butter, resample_poly, sosfilt

    from mmemo.media import read_audio

    x = read_audio(src, sample_rate=16000, mono=True).samples.astype(np.float64)
    sos = butter(6, [300, 3400], btype="bandpass", fs=16000, output="sos")
    y = resample_poly(sosfilt(sos, x), 1, 2)  # 8 kHz channel
    rng = np.random.default_rng(0)
    noise = rng.normal(0, 1, y.shape) * np.sqrt(np.mean(y**2) / 10 ** (snr_db / 10))
    y = resample_poly(y + noise, 2, 1)
    sf.write(dst, (0.9 * y / np.abs(y).max()).astype(np.float32), 16000)
    return dst


def _neutral_face(shared: Path, predictor, tmp: Path) -> Path:
    """The first FER2013 PublicTest neutral face that the face head also reads as neutral."""
    from PIL import Image

    from mmemo.heads.face.crop import media_face_crops

    for f in sorted((shared / "fer2013" / "publictest" / "neutral").glob("*.jpg"))[:40]:
        out = tmp / f"{f.stem}.png"
        Image.open(f).convert("RGB").resize((256, 256), Image.BICUBIC).save(out)
        crops, _ = media_face_crops(str(out), "image", 1)
        if crops:
            probs = predictor.face.predict_proba(np.stack(crops)).mean(axis=0)
            if predictor.face.labels[int(probs.argmax())] == "neutral" and probs.max() > 0.5:
                return out
    pytest.fail("no FER2013 neutral face among the first 40 reads neutral: the face head broke")


@pytest.fixture(scope="module")
def predictor():
    from mmemo.predict import Predictor

    return Predictor.from_pretrained("default")


@pytest.fixture(scope="module")
def conflict_clips(shared_data, predictor, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("conflict")
    face = _neutral_face(shared_data, predictor, tmp)
    clips = []
    for src in sorted((shared_data / "emodb").glob("*[AW]?.flac"))[:6]:  # fear, anger
        voice = _telephone(src, tmp / f"{src.stem}_phone.wav")
        clips.append(face_video(tmp / f"{src.stem}_neutral_face.mp4", face, voice, seconds=2.0))
    return clips


def test_an_overconfident_out_of_domain_voice_cannot_hijack_a_neutral_face(
    predictor, conflict_clips
):
    shipped_t = predictor.voice.temperature
    predictor.voice.temperature = 0.05  # the overconfident voice of the previous head
    try:
        preds = [predictor.predict(c) for c in conflict_clips]
    finally:
        predictor.voice.temperature = shipped_t
    hijack = []
    for pred in preds:
        assert set(pred.modalities) == {"face", "voice"}
        face = pred.modalities["face"].probabilities
        voice = pred.modalities["voice"].probabilities
        assert max(face, key=face.get) == "neutral"
        top = max(voice, key=voice.get)
        if top != "neutral":
            assert voice[top] > 0.95  # the voice alone is sure of an emotion the face lacks
            hijack.append((pred, top))
    assert hijack, "no clip had the voice disagree with the face: the scenario was not built"
    for pred, top in hijack:
        assert pred.probabilities[top] <= 0.9, pred.summary()
        assert any("modalities disagree" in w for w in pred.warnings), pred.warnings
        assert pred.disagreement is not None and pred.disagreement > 0.35


def test_the_telephone_voice_is_flagged_as_unlike_the_training_speech(predictor, conflict_clips):
    preds = [predictor.predict(c) for c in conflict_clips]
    gated = [p for p in preds if any("unlike the speech" in w for w in p.warnings)]
    assert len(gated) >= len(preds) // 2, [p.modalities["voice"].detail for p in preds]
    for p in gated:
        assert p.modalities["voice"].weight < predictor.weights["voice"]


def test_an_unsupported_answer_names_its_head_and_is_not_certain(predictor, conflict_clips):
    predictor.voice.temperature, shipped_t = 0.05, predictor.voice.temperature
    old = dict(predictor.weights)
    predictor.weights["face"] = 0.01  # the voice decides alone
    try:
        preds = [predictor.predict(c) for c in conflict_clips]
    finally:
        predictor.voice.temperature = shipped_t
        predictor.weights.update(old)
    unsupported = [p for p in preds if "No measured cue directly supports" in p.rationale]
    assert unsupported, [p.rationale for p in preds]
    for p in unsupported:
        assert "comes from the voice head" in p.rationale
        assert max(p.probabilities.values()) <= 0.6 + 1e-9
