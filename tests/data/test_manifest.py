"""Manifest validation and loading: every bad row reported with line and reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mmemo.data.manifest import (
    ManifestError,
    load_manifest,
    read_manifest,
    validate_manifest,
)


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    (tmp_path / "media").mkdir()
    for name in ("a.wav", "b.mp4", "c.png"):
        (tmp_path / "media" / name).write_bytes(b"x")
    return tmp_path


GOOD = [
    {"id": "a", "audio": "media/a.wav", "emotion": "happy", "speaker": "01"},
    {"id": "b", "video": "media/b.mp4", "emotions": ["joyful", "relieved"], "valence": 0.5},
    {"id": "c", "image": "media/c.png", "aus": ["AU6", "AU12"], "extra": {"kept": True}},
    {"id": "d", "transcript": "I can't believe it!", "emotion": "surprise"},
]

# (line content, words the reason must contain)
BAD = [
    ('{"id": "e1", "audio": "media/a.wav"', "bad JSON"),
    ("[1, 2, 3]", "expected a JSON object"),
    ('{"audio": "media/a.wav"}', "missing 'id'"),
    ('{"id": "e4", "audio": "media/missing.wav"}', "media file not found"),
    ('{"id": "e5", "audio": "../outside.wav"}', "escapes the manifest folder"),
    ('{"id": "e6", "emotion": "sad"}', "no input"),
    ('{"id": "e7", "audio": 42}', "non-empty path string"),
    ('{"id": "e8", "audio": "media/a.wav", "emotions": "happy"}', "'emotions' must be a list"),
    ('{"id": "e9", "audio": "media/a.wav", "aus": ["AU6", "smile"]}', "not action units"),
    ('{"id": "e10", "audio": "media/a.wav", "valence": 3}', "must lie in [-1, 1]"),
    ('{"id": "e11", "audio": "media/a.wav", "arousal": "high"}', "'arousal' must be a number"),
    ('{"id": "a", "audio": "media/a.wav"}', "duplicate id"),
    ('{"id": "e13", "transcript": 5}', "'transcript' must be a string"),
    ('{"id": true, "audio": "media/a.wav"}', "'id' must be a string"),
]


def test_every_bad_row_reported_with_line_and_reason(corpus):
    lines = [json.dumps(r) for r in GOOD] + [b for b, _ in BAD]
    report = validate_manifest(_write(corpus / "m.jsonl", lines))
    assert report.n_rows == len(GOOD) + len(BAD)
    assert report.n_bad_rows == len(BAD)
    for offset, (_, words) in enumerate(BAD):
        line = len(GOOD) + offset + 1
        reasons = [e.reason for e in report.errors if e.line == line]
        assert any(words in r for r in reasons), (line, words, reasons)
    assert not report.ok
    assert str(report.errors[0]).startswith(f"{corpus / 'm.jsonl'}:5")


def test_task_requirements(corpus):
    path = _write(corpus / "m.jsonl", [json.dumps(r) for r in GOOD])
    assert validate_manifest(path).ok
    report = validate_manifest(path, task="discrete")
    assert {e.row_id for e in report.errors} == {"b", "c"}
    assert all("no 'emotion' label" in e.reason for e in report.errors)
    assert {e.row_id for e in validate_manifest(path, task="au").errors} == {"a", "b", "d"}


def test_non_utf8_and_blank_lines(corpus):
    path = corpus / "m.jsonl"
    path.write_bytes(b'{"id": "a", "audio": "media/a.wav"}\n\n\xff\xfe{}\n')
    report = validate_manifest(path)
    assert report.n_rows == 2 and report.errors[0].line == 3
    assert "not UTF-8" in report.errors[0].reason


def test_allow_outside_and_absolute_paths(corpus, tmp_path_factory):
    other = tmp_path_factory.mktemp("elsewhere")
    (other / "x.wav").write_bytes(b"x")
    sub = corpus / "sub"
    sub.mkdir()
    rel = _write(sub / "m.jsonl", ['{"id": "x", "audio": "../media/a.wav"}'])
    assert not validate_manifest(rel).ok
    assert validate_manifest(rel, allow_outside=True).ok
    absolute = _write(sub / "abs.jsonl", [json.dumps({"id": "y", "audio": str(other / "x.wav")})])
    report = validate_manifest(absolute)  # an absolute path outside is refused by default
    assert not report.ok and "absolute path outside" in report.errors[0].reason
    assert validate_manifest(absolute, allow_outside=True).ok


def test_trusted_media_roots_admit_absolute_paths(corpus, tmp_path_factory, monkeypatch):
    other = tmp_path_factory.mktemp("trusted")
    (other / "x.wav").write_bytes(b"x")
    absolute = _write(
        corpus / "abs2.jsonl", [json.dumps({"id": "y", "audio": str(other / "x.wav")})]
    )
    assert not validate_manifest(absolute).ok
    monkeypatch.setenv("MMEMO_MEDIA_ROOTS", str(other))
    assert validate_manifest(absolute).ok


def test_load_into_datasets_keeps_unknown_keys_and_resolves_paths(corpus):
    lines = [json.dumps(r) for r in GOOD] + [b for b, _ in BAD]
    path = _write(corpus / "m.jsonl", lines)
    with pytest.raises(ManifestError, match="with errors"):
        load_manifest(path)
    ds = load_manifest(path, on_error="skip")
    assert ds.num_rows == len(GOOD)
    assert ds["id"] == ["a", "b", "c", "d"]
    assert ds[0]["audio"] == str((corpus / "media" / "a.wav").resolve())
    assert ds[1]["emotions"] == ["joyful", "relieved"] and ds[0]["emotions"] is None
    assert ds[2]["extra"] == {"kept": True}
    rows, report = read_manifest(path, on_error="skip")
    assert len(rows) == 4 and report.n_bad_rows == len(BAD)


def test_missing_manifest(tmp_path):
    with pytest.raises(ManifestError, match="manifest not found"):
        validate_manifest(tmp_path / "nope.jsonl")
