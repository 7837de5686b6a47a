"""``mmemo cues``: text/JSON output, files and plots in --out, per-file errors, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mmemo.cli import main
from mmemo.data.samples import face_image, face_video, speech_wav


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("cues_cli")
    speech_wav(d / "a.wav", pitch=30)
    (d / "sub").mkdir()
    speech_wav(d / "sub" / "b.wav", pitch=70)
    face = face_image(d / "sub" / "face.png", size=256)
    (d / "notes.txt").write_text("not media")
    (d / "broken.wav").write_bytes(b"RIFF" + b"\x00" * 40)
    face_video(d / "clip.mp4", face, d / "a.wav", seconds=1.5, size="320x240")
    return d


def test_text_output_and_dir_recursion(media, capsys):
    rc = main(["cues", str(media / "a.wav"), str(media / "sub"), "--no-face"])
    out = capsys.readouterr().out.strip().splitlines()
    assert rc == 0
    assert len(out) == 3  # a.wav, sub/b.wav, sub/face.png (no prosody, no face: nothing asked)
    assert out[0].startswith(f"{media / 'a.wav'}: Voice: pitch ")
    assert any(line.startswith(str(media / "sub" / "b.wav")) for line in out)


def test_json_lines(media, capsys):
    assert main(["cues", str(media / "a.wav"), "--json"]) == 0
    rows = [json.loads(x) for x in capsys.readouterr().out.strip().splitlines()]
    assert len(rows) == 1 and rows[0]["kind"] == "audio"
    p = rows[0]["prosody"]
    assert p["pitch_level"] in ("low", "normal", "high") and "contours" not in p


def test_out_dir_json_and_readable_plots(media, tmp_path, capsys):
    from PIL import Image

    rc = main(["cues", str(media / "clip.mp4"), "--out", str(tmp_path / "out"), "--au-fps", "4"])
    assert rc == 0, capsys.readouterr().err
    data = json.loads((tmp_path / "out" / "clip.cues.json").read_text())
    n_frames = len(np.arange(0.0, data["duration_s"] - 1e-9, 0.25))  # the clip at 4 fps
    assert data["face"]["aus"] and len(data["face"]["timestamps"]) == n_frames
    assert data["prosody"]["contours"]["f0_hz"]
    for name in ("clip.au.png", "clip.prosody.png"):
        img = np.asarray(Image.open(tmp_path / "out" / name).convert("L"))
        assert img.shape[0] > 300 and img.shape[1] > 600
        assert img.std() > 20  # drawn content, not a blank canvas


def test_errors_are_reported_and_the_batch_goes_on(media, tmp_path, capsys):
    rc = main(["cues", str(media), str(tmp_path / "nope.wav"), "--no-face", "--json"])
    captured = capsys.readouterr()
    assert rc == 1
    assert f"error: {tmp_path / 'nope.wav'}: file not found" in captured.err
    assert f"error: {media / 'broken.wav'}: " in captured.err
    assert "notes.txt" not in captured.err + captured.out  # not a media extension: skipped
    done = [json.loads(x)["path"] for x in captured.out.strip().splitlines()]
    assert str(media / "a.wav") in done and str(media / "clip.mp4") in done
    assert "2 input(s) failed" in captured.err


def test_usage_errors(media, tmp_path, capsys):
    assert main(["cues", str(media / "a.wav"), "--no-face", "--no-prosody"]) == 2
    assert main(["cues", str(media / "a.wav"), "--au-fps", "0"]) == 2
    (tmp_path / "empty").mkdir()
    assert main(["cues", str(tmp_path / "empty")]) == 1
    assert "no media files in this folder" in capsys.readouterr().err


def test_out_dir_resumes_and_refuses_other_settings(media, tmp_path, capsys):
    out = tmp_path / "out"
    inputs = [str(media / "a.wav"), str(media / "sub"), "--no-face", "--out", str(out)]
    assert main(["cues", *inputs]) == 0
    full = {p.name: p.read_text() for p in sorted(out.glob("*.cues.json"))}
    assert set(full) == {"a.cues.json", "b.cues.json", "face.cues.json"}
    (out / "b.cues.json").unlink()  # as if the run had stopped before b.wav
    capsys.readouterr()
    assert main(["cues", *inputs]) == 0
    err = capsys.readouterr().err
    assert "resuming: 2 of 3 files" in err and "2 resumed, 1 new" in err
    again = {p.name: p.read_text() for p in sorted(out.glob("*.cues.json"))}
    assert again.keys() == full.keys()
    strip = lambda t: {k: v for k, v in json.loads(t).items() if k != "timings_s"}  # noqa: E731
    assert {k: strip(v) for k, v in again.items()} == {k: strip(v) for k, v in full.items()}
    # other settings into the same folder: refused, nothing mixed
    assert (
        main(["cues", str(media / "a.wav"), "--out", str(out), "--no-face", "--au-fps", "3"]) == 2
    )
    assert "other settings" in capsys.readouterr().err
