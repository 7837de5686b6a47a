"""``mmemo predict --out``: one record per input (failed ones with the reason), per-class
probabilities, and ``mmemo metrics cls`` reading the file directly (issue 14)."""

from __future__ import annotations

import csv
import json
import shutil

import pytest

from mmemo.cli import main
from tests.media_fixtures import BROKEN

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

GOOD = ["face.png", "speech.wav", "speech.flac", "speech_low.wav", "face_speech.mp4",
        "short_audio.mp4", "vp9_opus.webm", "rotated.mp4"]  # fmt: skip
FAILING = sorted(n for n in BROKEN if n not in ("missing.wav", "a_folder.mp4")) + ["silent.wav"]


def _mixed_folder(media_dir, folder, n=50):
    """``n`` files: every broken kind once, the rest copies of good media (cycled)."""
    folder.mkdir()
    names = []
    for name in FAILING:
        shutil.copy(media_dir / name, folder / name)
        names.append(name)
    i = 0
    while len(names) < n:
        src = GOOD[i % len(GOOD)]
        dst = f"{i:02d}_{src}"
        shutil.copy(media_dir / src, folder / dst)
        names.append(dst)
        i += 1
    return names


def test_fifty_mixed_files_give_fifty_records(media_dir, tmp_path, capsys):
    names = _mixed_folder(media_dir, tmp_path / "mixed")
    out = tmp_path / "preds.jsonl"
    code = main(["predict", str(tmp_path / "mixed" / "*"), "--out", str(out), "--quiet"])
    assert code == 1
    err = capsys.readouterr().err
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    by_name = {r["path"].rsplit("/", 1)[1]: r for r in rows}
    assert len(rows) == 50 and sorted(by_name) == sorted(names)  # one record per input
    failed = {n: r["error"] for n, r in by_name.items() if r["status"] == "error"}
    assert sorted(failed) == sorted(FAILING)
    for name in FAILING:
        want = BROKEN.get(name, "nothing to predict from")
        assert want in failed[name], (name, failed[name])
        assert f"{name}: {failed[name]}" in err  # the same reason on stderr
    ok = [r for r in rows if r["status"] == "ok"]
    assert all(r["emotion"] and abs(sum(r["probabilities"].values()) - 1) < 2e-3 for r in ok)
    assert f"({len(ok)} predicted, {len(FAILING)} failed)" in err


def test_metrics_cls_reads_predict_csv_and_jsonl(media_dir, tmp_path, capsys):
    files = [media_dir / n for n in ("face.png", "face_speech.mp4", "garbage.mp4")]
    scores = {}
    for ext in ("csv", "jsonl"):
        out = tmp_path / f"preds.{ext}"
        assert main(["predict", *map(str, files), "--out", str(out), "--quiet"]) == 1
        capsys.readouterr()
        if ext == "csv":
            rows = list(csv.DictReader(out.open()))
            assert [r["status"] for r in rows] == ["ok", "ok", "error"]
            ids = [r["id"] for r in rows]
        gt = tmp_path / "gt.csv"
        gt.write_text("name,emotion\n" + "".join(f"{i},happy\n" for i in ids))
        code = main(
            [
                "metrics",
                "cls",
                str(gt),
                str(out),
                "--column",
                "emotion",
                "--json",
                "--allow-one-class",
            ]
        )  # all-happy ground truth, on purpose
        captured = capsys.readouterr()
        assert code == 1  # the failed input is a missing prediction, and says so
        assert "1 GT names have no prediction" in captured.err
        scores[ext] = json.loads(captured.out)
    assert scores["csv"] == scores["jsonl"]
    assert scores["csv"]["n"] == 3 and scores["csv"]["war"] == pytest.approx(2 / 3)
