"""``mmemo finetune``: new heads on a user's labels, a held-out report, loadable by predict."""

from __future__ import annotations

import json

import pytest

from mmemo.cli import main

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def test_voice_heads_learn_low_vs_high_pitch(tmp_path, capsys):
    from mmemo.data.samples import speech_wav

    rows = []
    for i in range(8):
        for label, pitch in (("low", 15), ("high", 85)):
            name = f"{label}{i}.wav"
            text = f"Sample number {i} is being read aloud."
            speech_wav(tmp_path / name, pitch=pitch, rate=140 + 10 * i, text=text)
            rows.append({"id": f"{label}{i}", "audio": name, "emotion": label})
    rows.append({"id": "broken", "audio": "missing.wav", "emotion": "low"})
    manifest = tmp_path / "m.jsonl"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "heads"
    code = main(["finetune", "--data", str(manifest), "--out", str(out), "--holdout", "0.34",
                 "--quiet"])  # fmt: skip
    assert code == 1  # the broken row is reported and skipped, the rest trained
    printed = capsys.readouterr()
    assert "missing.wav" in printed.err and "voice" in printed.out
    report = json.loads((out / "finetune_report.json").read_text())
    assert report["labels"] == ["high", "low"]
    assert report["n_heldout"] >= 5
    assert report["heldout"]["voice"]["accuracy"] >= 0.8
    # the folder is a model: predict uses the user's labels
    assert main(["predict", str(tmp_path / "low0.wav"), "--model", str(out), "--json",
                 "--quiet"]) == 0  # fmt: skip
    pred = json.loads(capsys.readouterr().out)
    assert pred["emotion"] == "low" and set(pred["probabilities"]) == {"high", "low"}


@pytest.mark.data
def test_face_heads_on_ckplus_subjects(shared_data, tmp_path):
    from mmemo.finetune import finetune

    rows = []
    for label in ("happy", "surprise"):
        for p in sorted((shared_data / "ckplus48" / label).glob("*.png"))[::6][:20]:
            rows.append({"id": p.stem, "image": str(p), "emotion": label,
                         "speaker": p.stem.split("_")[0]})  # fmt: skip
    manifest = tmp_path / "ck.jsonl"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    report = finetune(manifest, tmp_path / "out", modalities=("face",), progress=False,
                      allow_outside=True)  # fmt: skip
    assert report.grouped_by_speaker
    assert report.heldout["face"]["accuracy"] >= 0.8


def test_needs_two_labels(tmp_path, media_dir):
    manifest = tmp_path / "m.jsonl"
    manifest.write_text(json.dumps({"id": "a", "image": str(media_dir / "face.png"),
                                    "emotion": "happy"}) + "\n")  # fmt: skip
    argv = ["finetune", "--data", str(manifest), "--out", str(tmp_path / "o"), "--allow-outside"]
    assert main(argv) == 2


@pytest.mark.data
def test_mixed_corpora_score_every_head_and_merge_label_spellings(shared_data, tmp_path, capsys):
    """CK+ faces beside RAVDESS voices: old code made 'anger' and 'angry' two classes and
    saved a voice head it never scored (its held-out split held CK+ subjects only)."""
    rows = []
    for label in ("anger", "happy", "contempt"):
        for p in sorted((shared_data / "ckplus48" / label).glob("*.png"))[::4][:14]:
            rows.append({"id": p.stem, "image": str(p), "emotion": label,
                         "speaker": p.stem.split("_")[0]})  # fmt: skip
    for actor in range(1, 7):
        for code, label in (("05", "angry"), ("03", "happy")):
            folder = shared_data / "ravdess" / f"Actor_{actor:02d}"
            for p in sorted(folder.glob(f"03-01-{code}-*.flac"))[:4]:
                rows.append({"id": p.stem, "audio": str(p), "emotion": label,
                             "speaker": f"ravdess{actor}"})  # fmt: skip
    manifest = tmp_path / "mixed.jsonl"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "heads"
    code = main(["finetune", "--data", str(manifest), "--out", str(out), "--no-text",
                 "--quiet", "--allow-outside"])  # fmt: skip
    printed = capsys.readouterr()
    report = json.loads((out / "finetune_report.json").read_text())
    assert report["labels"] == ["angry", "contempt", "happy"]  # anger = angry
    assert report["label_map"]["anger"] == "angry"
    # every saved head was scored on held-out people, and each score is printed
    saved = {f.stem for f in out.glob("*.json")} & {"face", "speech"}
    assert saved == {"face", "speech"}
    assert {"face", "voice"} <= set(report["heldout"])
    assert report["heldout"]["voice"]["n"] > 0 and report["heldout"]["face"]["n"] > 0
    assert "voice  accuracy" in printed.out and "face   accuracy" in printed.out
    # contempt exists in CK+ only: the merged label space is called out
    assert any("contempt only in image rows" in w for w in report["warnings"])
    assert "inconsistently" in printed.out and "'anger', 'angry'" in printed.out
    assert code == 0
