"""``mmemo predict`` and ``Predictor`` with the shipped default heads, on real media."""

from __future__ import annotations

import csv
import json
import math
import shutil

import pytest

from mmemo.cli import main
from mmemo.data.inputs import InputItem
from mmemo.prediction import CANONICAL_LABELS, fuse

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def predictor():
    from mmemo.predict import Predictor

    return Predictor.from_pretrained("default")


def test_smiling_face_image_is_happy(predictor, media_dir):
    pred = predictor.predict(media_dir / "face.png")
    assert pred.emotion == "happy"
    assert set(pred.modalities) == {"face"}
    assert math.isclose(sum(pred.probabilities.values()), 1.0, rel_tol=1e-6)
    assert pred.top[0] == ("happy", pred.probabilities["happy"])
    assert pred.valence > 0  # happy lies on the positive side of the circumplex
    assert pred.wheel["plutchik"] == "joy"
    assert "AU12" in pred.cues and "AU12" in pred.rationale


def test_clip_uses_face_and_voice(predictor, media_dir):
    pred = predictor.predict(media_dir / "face_speech.mp4")
    assert set(pred.modalities) == {"face", "voice"}
    assert pred.emotion in CANONICAL_LABELS
    for view in pred.modalities.values():
        assert math.isclose(sum(view.probabilities.values()), 1.0, rel_tol=1e-4)
    assert {"cues", "face", "voice", "total"} <= set(pred.timings_s)
    # espeak-ng speech is far from the acted speech the voice head learnt: it gets less say
    assert pred.modalities["voice"].weight < 0.5 * predictor.weights["voice"]
    assert pred.modalities["face"].weight == predictor.weights["face"]
    assert any("unlike the speech" in w for w in pred.warnings)
    assert pred.emotion == "happy"  # the smiling face decides
    d = pred.to_dict()
    assert json.loads(json.dumps(d))["emotion"] == pred.emotion


def test_voice_error_in_the_background_thread_is_reported(media_dir, monkeypatch):
    """Voice features run beside the face head in a thread; their errors still name the file."""
    from mmemo.media import MediaError
    from mmemo.predict import Predictor

    pred = Predictor.from_pretrained("default")

    def broken(samples, sample_rate):
        raise MediaError(str(media_dir / "face_speech.mp4"), "openSMILE failed on purpose")

    monkeypatch.setattr(pred.voice, "features", broken)
    ((item, result),) = list(pred.predict_items(
        [InputItem("clip", str(media_dir / "face_speech.mp4"))], progress=False))  # fmt: skip
    assert isinstance(result, str) and "openSMILE failed on purpose" in result
    assert pred._executor is not None  # the threaded path was the one taken


def test_small_square_images_are_taken_as_aligned_crops(predictor, tmp_path):
    """FER2013/CK+48-style 48x48 crops go to the face head as they are; a blank one fails and
    one with no face the mesh can find is predicted with a note saying so."""
    import numpy as np
    from PIL import Image
    from skimage import data

    from mmemo.heads.face.crop import WHOLE_IMAGE, face_crops

    crop = face_crops(data.astronaut())[0]
    Image.fromarray(crop).save(tmp_path / "crop.png")
    pred = predictor.predict(tmp_path / "crop.png")
    assert pred.modalities["face"].detail == WHOLE_IMAGE
    probs = predictor.face.predict_proba(crop[None])[0]
    top = predictor.face.labels[int(probs.argmax())]
    assert pred.modalities["face"].probabilities[top] == pytest.approx(float(probs.max()), abs=1e-6)
    assert not any("no face detected" in w for w in pred.warnings)

    Image.fromarray(np.full((48, 48), 120, np.uint8)).save(tmp_path / "blank.png")
    with pytest.raises(ValueError, match="blank.png: nothing to predict from"):
        predictor.predict(tmp_path / "blank.png")
    noise = np.random.default_rng(0).integers(0, 256, (48, 48), dtype=np.uint8)
    Image.fromarray(noise).save(tmp_path / "noise.png")
    pred = predictor.predict(tmp_path / "noise.png")
    assert any("no face detected in this 48x48 image" in w for w in pred.warnings)
    big = np.asarray(Image.fromarray(noise).resize((200, 200)))
    Image.fromarray(big).save(tmp_path / "noise_big.png")
    with pytest.raises(ValueError, match="nothing to predict from"):
        predictor.predict(tmp_path / "noise_big.png")  # larger images still need a face


def test_faceless_and_speechless_inputs_fail_with_a_reason(predictor, media_dir):
    with pytest.raises(ValueError, match="nothing to predict from"):
        predictor.predict(media_dir / "silent.wav")


def test_fusion_is_a_log_linear_pool():
    # two modalities that agree reinforce each other; a label a modality lacks is not vetoed
    a = {"happy": 0.6, "sad": 0.4}
    b = {"happy": 0.6, "sad": 0.2, "contempt": 0.2}
    fused = fuse({"a": a, "b": b})
    assert fused["happy"] > 0.6 and math.isclose(sum(fused.values()), 1.0)
    # equal weights: happy:sad odds = (0.6/0.4) * (0.6/0.2) = 4.5
    assert fused["happy"] / fused["sad"] == pytest.approx(4.5)
    assert fused["contempt"] > 0
    assert fuse({}) == {}


def test_batch_goes_on_past_bad_files(media_dir, tmp_path, capsys):
    batch = tmp_path / "batch"
    batch.mkdir()
    for name in ("face.png", "speech.wav", "garbage.mp4", "silent.wav", "notes.txt", "empty.wav"):
        shutil.copy(media_dir / name, batch / name)
    import numpy as np
    from PIL import Image

    sky = np.linspace(40, 220, 256 * 256 * 3).reshape(256, 256, 3).astype(np.uint8)
    Image.fromarray(sky).save(batch / "faceless.png")
    out = tmp_path / "preds.jsonl"
    code = main(["predict", str(batch / "*"), "--out", str(out), "--quiet"])
    assert code == 1
    captured = capsys.readouterr()
    err = captured.err
    assert "garbage.mp4: corrupt" in err
    assert "silent.wav: nothing to predict from: silent audio" in err
    assert "faceless.png: nothing to predict from" in err and "face" in err.split("faceless.png")[1]
    assert "notes.txt: unsupported file type" in err
    assert "empty.wav: empty file" in err
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    ok = sorted(r["path"].rsplit("/", 1)[1] for r in rows if r["status"] == "ok")
    assert ok == ["face.png", "speech.wav"]
    failed = {r["path"].rsplit("/", 1)[1]: r["error"] for r in rows if r["status"] == "error"}
    assert len(rows) == 7 and failed["garbage.mp4"].startswith("corrupt")
    assert failed["notes.txt"].startswith("unsupported file type")
    assert "5 input(s) failed, 2 predicted" in err


def test_csv_output_and_manifest_input(media_dir, tmp_path, capsys):
    manifest = tmp_path / "m.jsonl"
    manifest.write_text(
        json.dumps({"id": "face", "image": str(media_dir / "face.png")})
        + "\n"
        + json.dumps({"id": "bad", "audio": "missing.wav"})
        + "\n"
    )
    out = tmp_path / "p.csv"
    assert main(["predict", str(manifest), "--out", str(out), "--quiet", "--allow-outside"]) == 1
    rows = list(csv.DictReader(out.open()))
    assert [r["status"] for r in rows] == ["error", "ok"]  # manifest errors come first
    assert "media file not found" in rows[0]["error"] and rows[0]["emotion"] == ""
    assert rows[1]["id"] == "face" and rows[1]["emotion"] == "happy"
    probs = {k[2:]: float(v) for k, v in rows[1].items() if k.startswith("p_")}
    assert set(probs) >= {"happy", "sad", "angry", "neutral"}
    assert max(probs, key=probs.get) == "happy" and sum(probs.values()) == pytest.approx(
        1, abs=2e-3
    )
    assert float(rows[1]["probability"]) == probs["happy"]
    assert "media file not found" in capsys.readouterr().err


def test_usage_errors(tmp_path, capsys):
    assert main(["predict", str(tmp_path / "nothing_here.wav")]) == 1
    assert "no such file" in capsys.readouterr().err
    assert main(["predict", str(tmp_path), "--out", "x.txt"]) == 2
    assert main(["predict", "x.wav", "--model", str(tmp_path / "no_model")]) in (1, 2)


@pytest.mark.data
def test_real_speech_keeps_full_voice_weight(predictor, shared_data):
    clip = shared_data / "ravdess" / "Actor_17" / "03-01-05-02-01-01-17.flac"
    pred = predictor.predict(clip)
    # in-domain speech keeps the voice's reliability weight: the outlier gate does not fire
    assert pred.modalities["voice"].weight == predictor.weights["voice"]
    assert not any("unlike the speech" in w for w in pred.warnings)
    assert set(pred.modalities) == {"voice"}


def test_backbone_checkpoint_predicts_from_cue_text(tiny, media_dir):
    from mmemo.predict import Predictor

    predictor = Predictor.from_pretrained(tiny("qwen2"))
    assert predictor.backbone is not None
    pred = predictor.predict(media_dir / "face.png")
    # a random tiny model writes gibberish: the answer is parsed (or 'unknown'), never a crash
    assert pred.generated is not None and pred.emotion
    assert "AU12" in pred.cues  # the cue text the prompt carried
    assert any("not calibrated probabilities" in w for w in pred.warnings)


def test_manifest_cannot_name_files_outside_its_folder(tmp_path, capsys):
    """A shared manifest naming /etc/passwd (or ../) is refused unless --allow-outside."""
    manifest = tmp_path / "shared.jsonl"
    manifest.write_text(
        json.dumps({"id": "p", "audio": "/etc/passwd"})
        + "\n"
        + json.dumps({"id": "q", "audio": "../../etc/passwd"})
        + "\n"
    )
    assert main(["predict", str(manifest), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "shared.jsonl:1" in err and "'/etc/passwd' is an absolute path outside" in err
    assert "shared.jsonl:2" in err and "escapes the manifest folder" in err
    assert "--allow-outside" in err
    # allowed, the path is read (and fails as media, not as policy)
    assert main(["predict", str(manifest), "--quiet", "--allow-outside"]) == 1
    assert "absolute path outside" not in capsys.readouterr().err


def test_threads_option_sets_torch_threads(media_dir, capsys):
    import torch

    before = torch.get_num_threads()
    try:
        assert main(["predict", str(media_dir / "face.png"), "--threads", "1", "--quiet"]) == 0
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
    assert main(["predict", str(media_dir / "face.png"), "--threads", "0"]) == 2
    assert "--threads must be at least 1" in capsys.readouterr().err
