"""``mmemo metrics cls`` never scores a column that is not there, or a one-class accident.

The inputs are the project's own outputs: a manifest of real images and the JSONL that
``mmemo predict --out`` writes for it.
"""

from __future__ import annotations

import json
import shutil

import pytest

from mmemo.cli import main

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def predicted(media_dir, tmp_path_factory):
    from PIL import Image

    d = tmp_path_factory.mktemp("cls")
    shutil.copy(media_dir / "face.png", d / "a.png")
    Image.open(media_dir / "face.png").transpose(Image.FLIP_LEFT_RIGHT).save(d / "b.png")
    rows = [
        {"id": "a", "image": "a.png", "emotion": "happy"},
        {"id": "b", "image": "b.png", "emotion": "sad"},
    ]
    manifest = d / "m.jsonl"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    preds = d / "p.jsonl"
    assert main(["predict", str(manifest), "--out", str(preds), "--quiet"]) == 0
    return manifest, preds


def test_absent_default_column_is_an_error_not_a_perfect_score(predicted, capsys):
    manifest, preds = predicted
    capsys.readouterr()
    # the default column 'label' is in neither file: old code printed "1 classes, war 1.0000"
    assert main(["metrics", "cls", str(manifest), str(preds)]) == 2
    err = capsys.readouterr().err
    assert "'label'" in err and str(manifest) in err and "emotion" in err  # names what exists
    assert main(["metrics", "cls", str(manifest), str(preds), "--column", "emotion"]) == 0
    assert "2 samples, 2 classes" in capsys.readouterr().out


def test_one_class_ground_truth_is_refused_unless_asked_for(predicted, tmp_path, capsys):
    manifest, preds = predicted
    one = tmp_path / "one.jsonl"
    rows = [json.loads(line) for line in manifest.read_text().splitlines()]
    one.write_text("".join(json.dumps(dict(r, emotion="happy")) + "\n" for r in rows))
    capsys.readouterr()
    assert main(["metrics", "cls", str(one), str(preds), "--column", "emotion"]) == 2
    assert "one class" in capsys.readouterr().err
    argv = ["metrics", "cls", str(one), str(preds), "--column", "emotion", "--allow-one-class"]
    assert main(argv) == 0


def test_a_row_without_the_column_is_named(predicted, tmp_path, capsys):
    manifest, preds = predicted
    rows = [json.loads(line) for line in manifest.read_text().splitlines()]
    del rows[1]["emotion"]
    gap = tmp_path / "gap.jsonl"
    gap.write_text("".join(json.dumps(r) + "\n" for r in rows))
    capsys.readouterr()
    assert main(["metrics", "cls", str(gap), str(preds), "--column", "emotion"]) == 2
    assert f"{gap} line 2" in capsys.readouterr().err
