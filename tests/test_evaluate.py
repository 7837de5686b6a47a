"""``mmemo eval``: tables, plots, resume, and equality with predict + metrics."""

from __future__ import annotations

import json
import shutil

import pytest

from mmemo.cli import main
from mmemo.evaluate import expected_calibration_error, mean_std

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture()
def manifest(media_dir, tmp_path):
    from PIL import Image

    shutil.copy(media_dir / "face.png", tmp_path / "a.png")
    Image.open(media_dir / "face.png").transpose(Image.FLIP_LEFT_RIGHT).save(tmp_path / "b.png")
    Image.open(media_dir / "face.png").rotate(8).save(tmp_path / "c.png")
    rows = [
        {"id": "a", "image": "a.png", "emotion": "happiness"},
        {"id": "b", "image": "b.png", "emotion": "sadness"},
        {"id": "c", "image": "c.png", "emotion": "happiness"},
        {"id": "d", "image": "missing.png", "emotion": "anger"},
    ]
    path = tmp_path / "m.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_eval_writes_tables_and_plots_and_resumes(manifest, tmp_path, capsys):
    out = tmp_path / "ev"
    assert main(["eval", "--data", str(manifest), "--out", str(out), "--quiet"]) == 1  # row d
    printed = capsys.readouterr()
    assert "| accuracy |" in printed.out and "missing.png" in printed.err
    metrics = json.loads((out / "metrics.json").read_text())
    # the smiling astronaut is predicted happy in every variant: 2 of 3 right
    assert metrics["n"] == 3 and metrics["failed"] == 1
    assert metrics["metrics"]["accuracy"] == pytest.approx(2 / 3)
    assert metrics["labels"] == ["happiness", "sadness"]  # row d is invalid: not scored
    assert metrics["metrics"]["per_class_recall"] == {"happiness": 1.0, "sadness": 0.0}
    for png in ("confusion_matrix.png", "per_class_recall.png", "calibration.png"):
        assert (out / png).stat().st_size > 1000
    # resume: a second run predicts nothing again (no new lines), same numbers
    lines = (out / "predictions.jsonl").read_text().splitlines()
    assert main(["eval", "--data", str(manifest), "--out", str(out), "--quiet", "--json"]) == 1
    again = json.loads(capsys.readouterr().out)
    assert (out / "predictions.jsonl").read_text().splitlines() == lines
    assert again["metrics"]["accuracy"] == metrics["metrics"]["accuracy"]


def test_eval_equals_predict_then_metrics(manifest, tmp_path, capsys):
    out = tmp_path / "ev"
    main(["eval", "--data", str(manifest), "--out", str(out), "--quiet", "--json"])
    ev = json.loads(capsys.readouterr().out)["metrics"]
    preds = tmp_path / "p.jsonl"
    labels = "happiness,sadness"
    main(["predict", str(manifest), "--labels", labels, "--out", str(preds), "--quiet"])
    capsys.readouterr()
    # scored on the rows that were predicted (row d has no media)
    gt = tmp_path / "gt.jsonl"
    gt.write_text("".join(line + "\n" for line in manifest.read_text().splitlines()[:3]))
    assert main(["metrics", "cls", str(gt), str(preds), "--column", "emotion", "--json"]) == 0
    mc = json.loads(capsys.readouterr().out)
    assert mc["war"] == pytest.approx(ev["accuracy"])
    assert mc["uar"] == pytest.approx(ev["uar"])
    assert mc["weighted_f1"] == pytest.approx(ev["weighted_f1"])


def test_calibration_and_spread_helpers():
    # two bins: (0.9 conf, 1/2 right) and (0.6 conf, 1/1 right): 0.5*|0.5-0.9| + 0.5*|1-0.6|
    assert expected_calibration_error([0.9, 0.9, 0.6, 0.6], [True, False, True, True]) == (
        pytest.approx(0.5 * 0.4 + 0.5 * 0.4)
    )
    assert mean_std([0.5, 0.7]) == (pytest.approx(0.6), pytest.approx(0.1414213, rel=1e-5))


def test_eval_usage(tmp_path, capsys):
    assert main(["eval"]) == 2
    assert main(["eval", "--data", str(tmp_path / "none.jsonl")]) == 2


def test_suite_multi_model_and_selection(manifest, tmp_path, capsys):
    suite = tmp_path / "suite.yaml"
    suite.write_text(
        "datasets:\n"
        f"  - {{name: faces_a, manifest: {manifest.name}, task: discrete}}\n"
        f"  - {{name: faces_b, manifest: {manifest}, task: discrete}}\n"
    )
    assert main(["eval", "--suite", str(suite), "--quiet", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["scores"] == {"faces_a": pytest.approx(2 / 3), "faces_b": pytest.approx(2 / 3)}
    assert res["mean"] == pytest.approx(2 / 3)
    # two models (here the same one twice): mean +- std over models
    assert main(["eval", "--model", "default", "--model", "default", "--data", str(manifest),
                 "--quiet"]) == 1  # fmt: skip
    assert "2 models: discrete primary score 0.6667 +- 0.0000" in capsys.readouterr().out
    # selection looks at the validation manifest only, then scores the chosen model
    assert main(["eval", "--model", "default", "--select-on", str(manifest), "--data",
                 str(manifest), "--quiet"]) == 1  # fmt: skip
    assert "validation default: 0.6667  <- selected" in capsys.readouterr().out


def test_eval_resume_refuses_another_models_predictions(manifest, tmp_path, capsys):
    """The old code printed the first model's accuracy under the second model's name."""
    from mmemo.heads.bundle import default_dir

    other = tmp_path / "other_model"
    shutil.copytree(default_dir(), other)
    (other / "fusion.json").write_text(json.dumps({"weights": {"face": 0.5, "voice": 1.0}}))
    out = tmp_path / "ev"
    main(["eval", "--data", str(manifest), "--out", str(out), "--quiet"])
    capsys.readouterr()
    code = main(["eval", "--model", str(other), "--data", str(manifest), "--out", str(out),
                 "--quiet"])  # fmt: skip
    printed = capsys.readouterr()
    assert code == 2 and "| accuracy |" not in printed.out
    assert "cannot resume" in printed.err and "'default'" in printed.err
    assert str(other) in printed.err  # names both models
    # other settings (here the label set) are refused too
    code = main(["eval", "--data", str(manifest), "--out", str(out), "--labels",
                 "happiness,sadness,anger", "--quiet"])  # fmt: skip
    assert code == 2 and "labels" in capsys.readouterr().err


def test_eval_resume_says_how_many_and_records_carry_both_labels(manifest, tmp_path, capsys):
    out = tmp_path / "ev"
    main(["eval", "--data", str(manifest), "--out", str(out), "--quiet", "--json"])
    first = json.loads(capsys.readouterr().out)
    lines = (out / "predictions.jsonl").read_text().splitlines()
    recs = [json.loads(line) for line in lines]
    assert [(r["id"], r["label"]) for r in recs] == [
        ("a", "happiness"), ("b", "sadness"), ("c", "happiness"),
    ]  # fmt: skip
    assert all(r["prediction"] in ("happiness", "sadness") and 0 < r["confidence"] <= 1
               for r in recs)  # fmt: skip
    right = sum(r["prediction"] == r["label"] for r in recs) / len(recs)
    assert right == pytest.approx(first["metrics"]["accuracy"])
    # cut the file mid-record, as a kill would: the cut line is dropped and predicted again
    (out / "predictions.jsonl").write_text(lines[0] + "\n" + lines[1][:25])
    main(["eval", "--data", str(manifest), "--out", str(out), "--quiet", "--json"])
    printed = capsys.readouterr()
    assert "resuming: 1 of 3 predictions" in printed.err
    again = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert again == recs
    assert json.loads(printed.out)["metrics"] == first["metrics"]
