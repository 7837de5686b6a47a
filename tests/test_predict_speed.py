"""The fast single-clip path measures exactly what the serial path measures (issue 12).

``Predictor`` decodes a video's frames once for the action units and the face head
(:func:`mmemo.media.frames_decoded_once`) and its audio once for the prosody and the voice
features, and runs the sound beside the picture. None of that may change a number: each
test here compares the fast path with the plain readers and encoders on real media.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from mmemo.media import MediaError, frames_decoded_once, probe, read_frames, sample_times

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _same_frames(a, b) -> None:
    assert a.frames.shape == b.frames.shape
    assert np.array_equal(a.frames, b.frames)
    assert np.array_equal(a.timestamps, b.timestamps)
    assert np.array_equal(a.indices, b.indices)
    assert a.fps == b.fps


# decord (mp4, mkv), PyAV for a rotated clip and for a live WebM decord cannot open
@pytest.mark.parametrize(
    "name", ["face_speech.mp4", "face_speech.mkv", "rotated.mp4", "vp9_live.webm"]
)
def test_one_decode_gives_each_reader_the_frames_it_decodes_alone(media_dir, name):
    path = media_dir / name
    d = probe(path).duration
    # the two samplings of the predict path, and one more that interleaves with both
    sets = [sample_times(d, fps=5.0), sample_times(d, num_frames=8), sample_times(d, 3)]
    alone = [read_frames(path, times=t, max_side=640) for t in sets]
    with frames_decoded_once(path, sets, max_side=640):
        shared = [read_frames(path, times=t, max_side=640) for t in sets]
        # the readers' own calls (rate, count) hit the same times as the sets
        by_rate = read_frames(path, fps=5.0, max_side=640)
        by_count = read_frames(path, num_frames=8, max_side=640)
    for a, b in zip(alone, shared, strict=True):
        _same_frames(a, b)
    _same_frames(alone[0], by_rate)
    _same_frames(alone[1], by_count)
    assert len(shared[1]) == 8 and len(shared[0]) == len(sets[0])


def test_reads_the_shared_decode_does_not_cover_decode_as_usual(media_dir, monkeypatch):
    import mmemo.video_decode as vd

    path = media_dir / "face_speech.mp4"
    calls = []
    real = vd.read_frames_decord
    monkeypatch.setattr(vd, "read_frames_decord", lambda *a: calls.append(a[1]) or real(*a))
    d = probe(path).duration
    times = sample_times(d, fps=5.0)
    with frames_decoded_once(path, [times], max_side=640):
        assert len(calls) == 1  # the one joint decode
        read_frames(path, times=times, max_side=640)
        read_frames(path, times=times[:3], max_side=640)
        assert len(calls) == 1  # both answered from it
        other = read_frames(path, times=times + 0.01, max_side=640)  # times it lacks
        small = read_frames(path, times=times, max_side=320)  # another size
        assert len(calls) == 3
    read_frames(path, times=times, max_side=640)  # outside the block
    assert len(calls) == 4
    _same_frames(other, real(path, times + 0.01, 640, 480, probe(path)))
    assert small.frames.shape[1:3] == (240, 320)


def test_a_broken_file_gives_each_reader_its_own_error(media_dir):
    path = media_dir / "truncated_faststart.mp4"
    d = probe(path).duration
    sets = [sample_times(d, fps=5.0), sample_times(d, num_frames=8)]
    errors = []
    for t in sets:
        with pytest.raises(MediaError) as alone:
            read_frames(path, times=t, max_side=640)
        with frames_decoded_once(path, sets, max_side=640), pytest.raises(MediaError) as shared:
            read_frames(path, times=t, max_side=640)
        errors.append((alone.value.reason, shared.value.reason))
    assert all(a == b for a, b in errors), errors


@pytest.fixture(scope="module")
def predictor():
    from mmemo.predict import Predictor

    return Predictor.from_pretrained("default")


def _serial(predictor, path):
    """What the predictor measured before issue 12: one reader and encoder after another."""
    from mmemo.encoders.pipeline import extract_cues
    from mmemo.heads.face.crop import media_face_crops
    from mmemo.media import read_audio
    from mmemo.predict import AU_FPS, FACE_FRAMES

    info = probe(path)
    cues = extract_cues(path, face=info.has_video, prosody=info.has_audio, au_fps=AU_FPS)
    voice = face = None
    if cues.prosody is not None and not cues.prosody.empty:
        audio = read_audio(path, sample_rate=16000)
        voice = predictor.voice.features(audio.samples, audio.sample_rate)
    if cues.face is not None and not cues.face.empty:
        crops, _ = media_face_crops(str(path), info.kind, FACE_FRAMES)
        face = predictor.face.predict_proba(np.stack(crops)).mean(axis=0)
    return cues, voice, face


def _cue_dict(cues) -> str:
    d = cues.to_dict(contours=True)
    d.pop("timings_s")
    return json.dumps(d, sort_keys=True)


@pytest.fixture(scope="module")
def faceless_clip(media_dir, tmp_path_factory):
    """Speech over a picture with no face (a cup of coffee)."""
    from PIL import Image
    from skimage import data

    from mmemo.data.samples import face_video

    tmp = tmp_path_factory.mktemp("faceless")
    Image.fromarray(data.coffee()).save(tmp / "coffee.png")
    return face_video(tmp / "coffee_speech.mp4", tmp / "coffee.png", media_dir / "speech.wav")


@pytest.mark.parametrize(
    "name", ["face_speech.mp4", "short_audio.mp4", "face_noaudio.mp4", "rotated.mp4", "faceless"]
)
def test_the_fast_path_measures_what_the_serial_path_measures(
    predictor, media_dir, faceless_clip, name
):
    from mmemo.data.inputs import InputItem

    path = faceless_clip if name == "faceless" else media_dir / name
    (m,) = predictor.measure([InputItem(name, str(path))])
    assert m.error is None, m.error
    cues, voice, face = _serial(predictor, path)
    assert _cue_dict(m.cues) == _cue_dict(cues)
    assert {"face", "total"} <= set(m.cues.timings_s)
    if voice is None:
        assert m.voice_features is None
    else:
        assert np.array_equal(m.voice_features, voice)  # same samples, same openSMILE
    if face is None:  # the face head ran beside the action units; its answer is dropped
        assert name == "faceless" and m.face_probs is None and "face" not in m.timings
        assert m.face_detail == ""
    else:
        assert np.array_equal(m.face_probs, face)


def test_sound_errors_come_before_face_head_errors(predictor, media_dir, monkeypatch):
    """With both threads failing, the error is the one the serial path met first."""
    from mmemo.data.inputs import InputItem

    def face_fails(*a, **k):
        raise RuntimeError("face head failed on purpose")

    def prosody_fails(*a, **k):
        raise RuntimeError("prosody failed on purpose")

    monkeypatch.setattr(predictor, "_face_probs", face_fails)
    item = InputItem("clip", str(media_dir / "face_speech.mp4"))
    (m,) = predictor.measure([item])
    assert "face head failed on purpose" in m.error
    monkeypatch.setattr("mmemo.encoders.pipeline.prosody_cues", prosody_fails)
    (m,) = predictor.measure([item])
    assert "prosody failed on purpose" in m.error
