"""The fast single-clip path measures exactly what the serial path measures (issue 12).

``Predictor`` decodes a video's frames once for the action units and the face head
(:func:`mmemo.media.frames_decoded_once`) and its audio once for the prosody and the voice
features, and runs the sound beside the picture. None of that may change a number: each
test here compares the fast path with the plain readers and encoders on real media.
"""

from __future__ import annotations

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
