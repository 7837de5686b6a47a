"""``mmemo data validate`` and ``mmemo media`` through the real CLI entry point."""

from __future__ import annotations

import json

import pytest

from mmemo.cli import main


def test_validate_cli_reports_rows_and_exit_code(tmp_path, capsys):
    (tmp_path / "a.wav").write_bytes(b"x")
    good = tmp_path / "good.jsonl"
    good.write_text('{"id": "1", "audio": "a.wav", "emotion": "sad"}\n')
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "1", "audio": "a.wav"}\n{"id": "2", "audio": "b.wav"}\nnot json\n')
    assert main(["data", "validate", str(good)]) == 0
    assert "1 rows, 1 valid" in capsys.readouterr().out
    # both files are checked even though the second one is bad
    assert main(["data", "validate", str(bad), str(good)]) == 1
    out, err = capsys.readouterr()
    assert f"{bad}:2 (id '2'): 'audio': media file not found" in out
    assert f"{bad}:3: bad JSON" in out
    assert "3 rows, 1 valid, 2 with errors" in err
    assert main(["data", "validate", "--json", "--task", "discrete", str(bad)]) == 1
    report = json.loads(capsys.readouterr().out)[0]
    assert report["rows"] == 3 and report["valid"] == 0
    assert main(["data", "validate", str(tmp_path / "missing.jsonl")]) == 1


def test_media_probe_and_sample(tmp_path, capsys, media_dir):
    assert main(["media", "sample", str(tmp_path / "s"), "--seconds", "2"]) == 0
    clip = tmp_path / "s" / "sample_clip.mp4"
    assert clip.is_file()
    assert main(["data", "validate", "--probe", str(tmp_path / "s" / "sample_manifest.jsonl")]) == 0
    capsys.readouterr()
    assert main(["media", "probe", "--json", str(clip), str(media_dir / "garbage.mp4")]) == 1
    out, err = capsys.readouterr()
    info = json.loads(out.splitlines()[0])
    assert info["has_video"] and info["has_audio"] and info["width"] == 640
    assert "garbage.mp4: corrupt" in err


def test_help_explains(capsys):

    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    assert "offline" in capsys.readouterr().out


@pytest.mark.data
def test_convert_then_validate_real_ravdess(shared_data, tmp_path, capsys):
    out = tmp_path / "ravdess.jsonl"
    assert main(["data", "convert", "ravdess", str(shared_data / "ravdess"), str(out)]) == 0
    printed = capsys.readouterr()
    assert "wrote 1199 rows" in printed.out
    assert "names media outside its folder" in printed.err and "--allow-outside" in printed.err
    # the corpus lies outside the manifest's folder: refused unless allowed
    assert main(["data", "validate", "--task", "discrete", str(out)]) == 1
    assert "absolute path outside the manifest folder" in capsys.readouterr().out
    argv = ["data", "validate", "--task", "discrete", str(out), "--allow-outside"]
    assert main(argv) == 0
    assert "1199 rows, 1199 valid" in capsys.readouterr().out


def test_convert_usage_errors(tmp_path, capsys):
    assert main(["data", "convert", "nosuchcorpus", str(tmp_path), str(tmp_path / "o.jsonl")]) == 2
    assert "nosuchcorpus" in capsys.readouterr().err
    assert main(["data", "convert", "--list"]) == 0
    assert "ravdess" in capsys.readouterr().out
