"""``mmemo cues --csv``: per-frame AUs in the OpenFace 2.x layout, read back by the project's
own OpenFace reader with the same values (issue 14)."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from mmemo.cli import main
from mmemo.data.samples import ffmpeg
from mmemo.encoders.au import read_openface_csv
from mmemo.encoders.pipeline import extract_cues


@pytest.fixture(scope="module")
def clip(media_dir, tmp_path_factory):
    """2 s of the face, then 1 s of black picture (frames OpenFace marks success = 0)."""
    out = tmp_path_factory.mktemp("openface") / "face_then_black.mp4"
    ffmpeg("-i", str(media_dir / "face_noaudio.mp4"), "-f", "lavfi", "-i",
           "color=black:s=640x480:d=1:r=25", "-filter_complex", "[0:v][1:v]concat=n=2:v=1",
           "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(out))  # fmt: skip
    return out


def test_cues_csv_round_trips_through_the_openface_reader(clip, tmp_path, capsys):
    out = tmp_path / "cues"
    assert main(["cues", str(clip), "--csv", "--out", str(out), "--au-fps", "10"]) == 0
    path = out / "face_then_black.csv"
    header = path.read_text().splitlines()[0].split(", ")
    assert header[:5] == ["frame", "face_id", "timestamp", "confidence", "success"]
    assert header[8:10] == ["AU01_r", "AU02_r"] and header[-1] == "AU45_c"
    assert len(header) == 8 + 17 * 2
    rows = list(csv.reader(path.open(), skipinitialspace=True))[1:]
    success = np.array([int(r[4]) for r in rows])
    assert success[:15].all() and not success[-8:].any()  # the face, then the black second

    want = extract_cues(clip, prosody=False, au_fps=10).face  # what the command measured
    got = read_openface_csv(path)
    assert len(rows) == len(want.timestamps) == len(got.timestamps)
    np.testing.assert_allclose(got.timestamps, want.timestamps, atol=5e-4)
    np.testing.assert_array_equal(got.measured, want.measured)
    m = want.measured
    np.testing.assert_allclose(got.intensity[m], want.intensity[m], atol=5e-4)
    np.testing.assert_array_equal(got.presence[m], want.presence[m])
    np.testing.assert_allclose(got.head_pose[m], want.head_pose[m], atol=0.01)


def test_cues_csv_on_stdout_for_one_file_and_usage_errors(clip, media_dir, capsys):
    assert main(["cues", str(clip), "--csv", "--no-prosody"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("frame, face_id, timestamp") and len(out) > 20
    assert main(["cues", str(clip), str(media_dir / "face.png"), "--csv"]) == 2
    assert main(["cues", str(media_dir / "speech.wav"), "--csv"]) == 1
    assert "has no picture" in capsys.readouterr().err
