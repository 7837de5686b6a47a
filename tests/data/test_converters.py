"""Corpus converters: fixture files in each documented layout (good and malformed), and the
real corpora in ../shared/data (``@pytest.mark.data``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mmemo.data.converters import CONVERTERS, ConvertError, convert, options_of
from mmemo.data.converters import ravdess as ravdess_mod
from mmemo.data.converters.base import parse_list, split_from_name
from mmemo.data.manifest import validate_manifest
from tests.data import fixtures_formats as fx

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "datasets" / "samples"


def rows_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def by_id(path: Path) -> dict[str, dict]:
    return {row["id"]: row for row in rows_of(path)}


# ---------------------------------------------------------------------------- registry


def test_registry_names_and_options():
    assert set(CONVERTERS) == {
        "ravdess", "ckplus", "fer2013", "meld", "emorynlp", "mer", "mafw", "dfew",
        "facial_r1", "emotioncot", "ased", "emodb",
    }  # fmt: skip
    assert options_of("ravdess") == []
    assert options_of("mer") == ["media_dir", "dataset", "valence_scale"]


def test_convert_rejects_unknown_name_option_and_missing_source(tmp_path):
    with pytest.raises(ConvertError, match="unknown converter 'iemocap'"):
        convert("iemocap", tmp_path, tmp_path / "o.jsonl")
    with pytest.raises(ConvertError, match=r"'ravdess' does not take \['media_dir'\]"):
        convert("ravdess", tmp_path, tmp_path / "o.jsonl", media_dir=tmp_path)
    with pytest.raises(ConvertError, match="source not found"):
        convert("ravdess", tmp_path / "nope", tmp_path / "o.jsonl")
    assert not (tmp_path / "o.jsonl").exists()
    # None options are dropped, so a CLI may pass every flag it has
    report = convert("ravdess", tmp_path, tmp_path / "o.jsonl", media_dir=None)
    assert report.rows_written == 0 and (tmp_path / "o.jsonl").read_text() == ""


def test_helpers():
    assert parse_list("[happy, 'sad', \"worried\"]") == ["happy", "sad", "worried"]
    assert parse_list("[]") == [] and parse_list(None) == []
    assert split_from_name("train_sent_emo.csv") == "train"
    assert split_from_name("emorynlp_dev_final.csv") == "val"
    assert split_from_name("publictest") == "val"
    assert split_from_name("labels.csv") is None


# ---------------------------------------------------------------------------- fixtures


def test_ravdess_codes_duplicates_and_bad_names(tmp_path):
    src = fx.ravdess_tree(tmp_path / "ravdess")
    out = tmp_path / "ravdess.jsonl"
    report = convert("ravdess", src, out)
    rows = by_id(out)
    assert report.rows_written == 4 == len(rows)
    angry = rows["ravdess_03-01-05-02-01-02-01"]
    assert angry["audio"] == "ravdess/Actor_01/03-01-05-02-01-02-01.wav"  # inside OUT's folder
    assert (angry["emotion"], angry["intensity"], angry["repetition"]) == ("angry", "strong", 2)
    # the two statements are lexically neutral by design: no transcript, so a text model
    # cannot inject its prior; the words stay available as `statement`
    assert angry["statement"] == "Kids are talking by the door" and "transcript" not in angry
    assert (angry["speaker"], angry["gender"], angry["modality"]) == (
        "Actor_01",
        "male",
        "audio-only",
    )
    av = rows["ravdess_01-01-08-02-02-01-02"]
    assert "audio" not in av and av["video"].endswith(".mp4") and av["gender"] == "female"
    assert av["emotion"] == "surprised" and av["modality"] == "audio-video"
    skipped = {Path(item).name: reason for item, reason in report.skipped}
    assert skipped["03-01-03-01-02-02-02.wav"].startswith("byte-identical duplicate of")
    assert "emotion code 09" in skipped["03-01-09-01-01-01-01.wav"]
    assert "not a RAVDESS code" in skipped["recording.wav"]
    assert "neutral has no strong intensity" in skipped["03-01-01-02-01-01-01.wav"]
    assert "another actor" in skipped["03-01-04-01-01-01-05.wav"]
    assert len(report.skipped) == 5
    assert validate_manifest(out).ok  # every row valid and every media file present
    assert "wrote 4 rows" in report.summary() and "skipped 5" in report.summary()


def test_ravdess_media_outside_out_folder_are_absolute(tmp_path):
    src = fx.ravdess_tree(tmp_path / "corpus")
    out = tmp_path / "manifests" / "sub" / "r.jsonl"
    convert("ravdess", src, out)
    paths = [row["audio"] if "audio" in row else row["video"] for row in rows_of(out)]
    assert all(Path(p).is_absolute() and Path(p).is_file() for p in paths)
    assert not validate_manifest(out).ok  # outside the manifest's folder: refused by default
    assert validate_manifest(out, allow_outside=True).ok


def test_ravdess_parse_code_fields():
    info = ravdess_mod.parse_code("02-02-06-01-02-01-24")
    assert info == {
        "emotion": "fearful", "intensity": "normal", "statement": "Dogs are sitting by the door",
        "repetition": 1, "actor": 24, "gender": "female", "modality": "video-only",
        "vocal_channel": "song", "code": "02-02-06-01-02-01-24",
    }  # fmt: skip
    with pytest.raises(ValueError, match="actor code 25"):
        ravdess_mod.parse_code("03-01-01-01-01-01-25")


def test_ckplus_subjects_and_sequences(tmp_path):
    out = tmp_path / "ck" / "ckplus.jsonl"
    report = convert("ckplus", fx.ckplus_tree(tmp_path / "ck"), out)
    rows = by_id(out)
    assert sorted(rows) == [
        "ckplus_S005_001_00000011", "ckplus_S010_006_00000015", "ckplus_S010_006_00000016",
        "ckplus_S138_008_00000009",
    ]  # fmt: skip
    row = rows["ckplus_S010_006_00000016"]
    assert (row["emotion"], row["speaker"], row["sequence"], row["frame"]) == (
        "happy", "S010", "S010_006", 16,
    )  # fmt: skip
    assert row["image"] == "happy/S010_006_00000016.png"
    skipped = {Path(item).name: reason for item, reason in report.skipped}
    assert set(skipped) == {"face01.png", "joy"} and "unknown class folder" in skipped["joy"]
    assert validate_manifest(out).ok


def test_fer2013_folders_and_csv(tmp_path):
    out = tmp_path / "fer.jsonl"
    report = convert("fer2013", fx.fer2013_tree(tmp_path / "fer"), out)
    rows = by_id(out)
    assert rows["fer2013_happy_Training_101"]["split"] == "train"
    assert rows["fer2013_sad_PublicTest_201"] == {
        "id": "fer2013_sad_PublicTest_201", "image": "fer/publictest/sad/PublicTest_201.jpg",
        "emotion": "sad", "split": "val", "usage": "PublicTest", "dataset": "fer2013",
    }  # fmt: skip
    assert [Path(i).name for i, _ in report.skipped] == ["smiling"]
    # a single split folder as the source takes its split from its own name
    one = convert("fer2013", tmp_path / "fer" / "train", tmp_path / "train.jsonl")
    assert one.rows_written == 2 and {r["split"] for r in rows_of(tmp_path / "train.jsonl")} == {
        "train"
    }

    csv_out = tmp_path / "csvout" / "fer_csv.jsonl"
    report = convert("fer2013", fx.fer2013_csv(tmp_path / "fer2013.csv"), csv_out)
    rows = rows_of(csv_out)
    assert [(r["emotion"], r["split"], r["csv_row"]) for r in rows] == [
        ("happy", "train", 1), ("neutral", "val", 2), ("sad", "test", 6),
    ]  # fmt: skip
    assert rows[0]["image"] == "fer_csv_images/Training/00001.png"
    from mmemo.media import read_image

    pixels = read_image(csv_out.parent / rows[0]["image"])
    assert pixels.shape == (48, 48, 3) and pixels[0, :3, 0].tolist() == [0, 1, 2]
    assert pixels[1, 0, 0] == 48  # row-major: second row starts at value 48
    assert {i: r for i, r in report.skipped} == {
        "fer2013.csv:4": "emotion code 9 is outside 0-6",
        "fer2013.csv:5": "expected 2304 pixel values, got 3",
        "fer2013.csv:6": "emotion is not an integer: 'x'",
    }
    assert validate_manifest(csv_out).ok


def test_meld_rows_media_and_bad_input(tmp_path):
    csv_dir, media = fx.meld_folder(tmp_path)
    out = tmp_path / "meld.jsonl"
    report = convert("meld", csv_dir, out, media_dir=media)
    rows = by_id(out)
    assert sorted(rows) == [
        "meld_train_dia0_utt0", "meld_train_dia0_utt1", "meld_train_dia1_utt0", "meld_val_dia0_utt0",
    ]  # fmt: skip
    first = rows["meld_train_dia0_utt0"]
    assert first["video"] == "MELD.Raw/train_splits/dia0_utt0.mp4"
    assert (first["emotion"], first["sentiment"], first["speaker"]) == ("joy", "positive", "Alex")
    assert (first["dialogue_id"], first["utterance_id"], first["season"], first["sr_no"]) == (
        0,
        0,
        1,
        1,
    )
    assert first["start_time"] == "00:00:01,000" and first["split"] == "train"
    assert rows["meld_train_dia0_utt1"]["transcript"] == "Wait,\nwhat happened?"
    # dev dia0_utt0 must not pick up the train clip of the same name
    assert (
        "video" not in rows["meld_val_dia0_utt0"] and rows["meld_val_dia0_utt0"]["split"] == "val"
    )
    skipped = dict(report.skipped)
    assert "missing column(s) ['Emotion']" in skipped[str(csv_dir / "test_sent_emo.csv")]
    assert "'annoyed' is not one of" in skipped["train_sent_emo.csv:6"]
    assert skipped["train_sent_emo.csv:7"] == "Dialogue_ID is not an integer: 'one'"
    assert validate_manifest(out).ok


def test_emorynlp_speakers_and_labels(tmp_path):
    path, media = fx.emorynlp_csv(tmp_path)
    out = tmp_path / "emorynlp.jsonl"
    report = convert("emorynlp", path, out, media_dir=media)
    rows = rows_of(out)
    assert [r["emotion"] for r in rows] == ["joyful", "powerful"]
    assert rows[0]["video"] == "clips/sea2_ep5_sc3_utt0.mp4" and "video" not in rows[1]
    assert (
        rows[1]["speakers"] == ["Jo Park", "Lee Chan"]
        and rows[1]["speaker"] == "Jo Park & Lee Chan"
    )
    assert (rows[0]["scene_id"], rows[0]["season"], rows[0]["split"]) == (3, 2, "val")
    assert list(dict(report.skipped)) == ["emorynlp_dev_final.csv:4"]
    assert validate_manifest(out).ok


def test_mer_openset_discrete_valence_and_media(tmp_path):
    labels, media = fx.mer_files(tmp_path)
    out = tmp_path / "mer.jsonl"
    report = convert("mer", labels, out, media_dir=media, dataset="mer2025")
    rows = by_id(out)
    assert rows["mer2025_sample_00000001"]["emotions"] == ["happy", "excited"]
    assert rows["mer2025_sample_00000001"]["video"] == "video/sample_00000001.mp4"
    assert rows["mer2025_sample_00000002"]["video"] == "video/sample_00000002.avi"
    assert rows["mer2025_sample_00000002"]["emotions"] == ["worried", "nervous"]
    angry = rows["mer2025_sample_00000010"]
    assert (angry["emotion"], angry["valence"], angry["valence_raw"]) == ("angry", -0.7, -3.5)
    assert angry["transcript"] == "I told you not to touch it." and angry["chinese"] == "zh text"
    assert "video" not in angry and angry["split"] == "test" and angry["dataset"] == "mer2025"
    skipped = dict(report.skipped)
    assert "no clip sample_00000003.mp4/.avi" in skipped["track2_train_ovmerd.csv:4"]
    assert "no labels" in skipped["track2_train_ovmerd.csv:5"]
    assert "valence 7.0 is outside" in skipped["mer2023_test.csv:3"]
    assert validate_manifest(out).ok


def test_mer_missing_label_columns(tmp_path):
    src = fx.write_csv(tmp_path / "x.csv", ["name", "score"], [["a", "1"]])
    report = convert("mer", src, tmp_path / "o.jsonl")
    assert report.rows_written == 0
    assert report.skipped == [(str(src), "missing column(s): needs 'openset' or 'discrete'")]


def test_r1_omni_styles_and_broken_json(tmp_path):
    folder, media = fx.r1_omni_json(tmp_path)
    out = tmp_path / "dfew.jsonl"
    report = convert("dfew", folder, out, media_dir=media)
    rows = by_id(out)
    assert sorted(rows) == ["dfew_1", "dfew_2", "dfew_3"]
    first = rows["dfew_1"]
    assert first["emotion"] == "angry" and first["video"] == "media/DFEW/videos/1.mp4"
    assert first["reasoning"] == "The brows are drawn down and the voice is loud."
    assert first["prompt"] == "Which emotion is most obvious?" and first["split"] == "train"
    assert rows["dfew_2"]["emotion"] == "sad" and "reasoning" not in rows["dfew_2"]
    assert (
        rows["dfew_3"]["emotion"] == "happy"
        and rows["dfew_3"]["source_video"] == "DFEW/videos/3.mp4"
    )
    skipped = dict(report.skipped)
    assert skipped[str(folder / "dfew_extra.json")].startswith("bad JSON")
    assert "no <answer>" in skipped["dfew_train.json[3]"]
    assert "no video path" in skipped["dfew_train.json[4]"]
    # clips 2 and 3 are not there yet: the validator, not the converter, reports them
    missing = validate_manifest(out).errors
    assert sorted(e.row_id for e in missing) == ["dfew_2", "dfew_3"]
    mafw = convert("mafw", folder, tmp_path / "mafw.jsonl", media_dir=media)
    assert mafw.rows_written == 3 and rows_of(tmp_path / "mafw.jsonl")[0]["dataset"] == "mafw"


def test_facial_r1_lenient_keys(tmp_path):
    src = fx.fea20k_jsonl(tmp_path)
    out = tmp_path / "fea.jsonl"
    report = convert("facial_r1", src, out, media_dir=tmp_path / "images")
    rows = rows_of(out)
    assert rows[0]["emotion"] == "happiness" and rows[0]["aus"] == ["AU6", "AU12"]
    assert rows[0]["reasoning"] == "Cheeks raised and lip corners pulled up."
    assert rows[0]["source_dataset"] == "RAF-DB" and rows[0]["meta_info"] == {
        "source_split": "train"
    }
    assert (
        rows[0]["image"] == "images/RAF-DB/train_0001.jpg" and rows[0]["id"] == "fea20k_rafdb_0001"
    )
    assert rows[1]["aus"] == ["AU1", "AU4", "AU15"] and rows[1]["speaker"] == "F001"
    assert rows[1]["reasoning"] == "Inner brows raised, lip corners down."
    skipped = dict(report.skipped)
    assert skipped["fea20k_train.jsonl:3"].startswith("bad JSON")
    assert skipped["fea20k_train.jsonl:4"] == "not an action unit: 'brow'"
    assert "no emotion label" in skipped["fea20k_train.jsonl:5"]
    assert validate_manifest(out, check_media=False).ok


def test_emotioncot_rows(tmp_path):
    src = fx.emotioncot_jsonl(tmp_path)
    out = tmp_path / "cot.jsonl"
    report = convert("emotioncot", src, out)
    rows = rows_of(out)
    assert [r["emotion"] for r in rows] == ["sad", "happy"]
    assert rows[0]["audio"] == "IEMOCAP/Ses01F_impro01_F000.wav"
    assert rows[0]["pitch_level"] == "low" and rows[0]["stressed_words"] == ["know"]
    assert rows[0]["source_dataset"] == "IEMOCAP" and rows[0]["transcript"].startswith("I don't")
    assert rows[1]["audio"] == "/abs/MELD/dia3_utt1.wav" and rows[1]["speaker"] == "spk7"
    assert (
        rows[1]["reasoning"].startswith("High pitch")
        and rows[1]["id"] == "emotioncot_abs_MELD_dia3_utt1"
    )
    assert [i for i, _ in report.skipped] == [
        "emotioncot_train.jsonl:3",
        "emotioncot_train.jsonl:4",
    ]
    assert not validate_manifest(out, check_media=False).ok  # /abs/MELD/... is outside
    assert validate_manifest(out, check_media=False, allow_outside=True).ok


def test_duplicate_ids_are_skipped_not_renamed(tmp_path):
    src = fx.write_jsonl(
        tmp_path / "a.jsonl",
        [
            {"id": "same", "image": "a.jpg", "label": "anger"},
            {"id": "same", "image": "b.jpg", "label": "fear"},
        ],
    )
    report = convert("facial_r1", src, tmp_path / "o.jsonl")
    assert report.rows_written == 1
    assert report.skipped == [("a.jsonl:2", "duplicate id 'fea20k_same' (first from a.jsonl:1)")]


# ---------------------------------------------------------------------------- samples


@pytest.mark.parametrize("sample", sorted(SAMPLES.glob("*.jsonl")), ids=lambda p: p.stem)
def test_sample_manifests_are_valid(sample):
    report = validate_manifest(sample, check_media=False)
    assert report.ok, [str(e) for e in report.errors]
    datasets = {row["dataset"] for row in rows_of(sample)}
    assert len(datasets) == 1 and datasets <= {
        "ravdess", "ckplus", "fer2013", "meld", "emorynlp", "mer", "mafw", "dfew", "fea20k",
        "emotioncot", "ased", "emodb", "synthetic",  # synthetic: hand-written rows for the recipe quickstart
    }  # fmt: skip


def test_every_card_has_a_sample_and_its_convert_command():
    cards = sorted((REPO / "datasets").glob("*.md"))
    names = {card.stem for card in cards}
    assert {"ravdess", "ckplus", "fer2013", "meld", "emorynlp", "mer", "mafw", "dfew"} <= names
    assert {"fea20k", "emotioncot"} <= names
    for card in cards:
        if card.stem == "README":
            continue
        text = card.read_text(encoding="utf-8")
        converter = "facial_r1" if card.stem == "fea20k" else card.stem
        assert f"mmemo data convert {converter} " in text, card.name
        assert (SAMPLES / f"{card.stem}.jsonl").is_file(), card.name


# ---------------------------------------------------------------------------- real corpora


@pytest.mark.data
def test_real_ravdess(shared_data, tmp_path):
    out = tmp_path / "ravdess.jsonl"
    report = convert("ravdess", shared_data / "ravdess", out)
    assert report.rows_written == 1199 and report.skipped == []
    rows = rows_of(out)
    assert {r["emotion"] for r in rows} == set(ravdess_mod.EMOTIONS.values())
    assert report.label_counts["neutral"] == 80 and report.label_counts["happy"] == 159
    assert len({r["speaker"] for r in rows}) == 20
    assert {r["gender"] for r in rows if r["actor"] % 2} == {"male"}
    assert validate_manifest(out, allow_outside=True).ok  # the corpus lies elsewhere


@pytest.mark.data
def test_real_ckplus(shared_data, tmp_path):
    out = tmp_path / "ckplus.jsonl"
    report = convert("ckplus", shared_data / "ckplus48", out)
    assert report.rows_written == 774 and report.skipped == []
    rows = rows_of(out)
    assert len({r["speaker"] for r in rows}) == 94 and len({r["sequence"] for r in rows}) == 258
    assert all(r["speaker"].startswith("S") and len(r["speaker"]) == 4 for r in rows)
    assert report.label_counts["surprise"] == 198 and report.label_counts["contempt"] == 45


@pytest.mark.data
def test_real_meld(shared_data, tmp_path):
    out = tmp_path / "meld.jsonl"
    report = convert("meld", shared_data / "meld", out)
    assert report.skipped == []
    splits = [r["split"] for r in rows_of(out)]
    assert (splits.count("train"), splits.count("val")) == (9989, 1109)
    assert report.label_counts["neutral"] == 4710 + 470


@pytest.mark.data
def test_real_fer2013_publictest(shared_data, tmp_path):
    out = tmp_path / "fer.jsonl"
    report = convert("fer2013", shared_data / "fer2013" / "publictest", out)
    assert report.rows_written == 3543 and report.skipped == []
    assert report.label_counts["happy"] == 890 and report.label_counts["disgust"] == 55


@pytest.mark.data
@pytest.mark.parametrize(("name", "rows", "speakers"), [("ased", 2474, 65), ("emodb", 535, 10)])
def test_real_speech_corpora(shared_data, tmp_path, name, rows, speakers):
    report = convert(name, shared_data / name, tmp_path / f"{name}.jsonl")
    got = rows_of(tmp_path / f"{name}.jsonl")
    assert len(got) == rows and report.skipped == []
    assert len({r["speaker"] for r in got}) == speakers
    assert validate_manifest(tmp_path / f"{name}.jsonl", allow_outside=True).ok
    # the voice head's reader decodes the same names to the same labels
    from mmemo.heads.voice.corpora import corpus_clips

    clips = {c.path.stem: c.label for c in corpus_clips(shared_data, (name,))}
    for r in got:
        if r["emotion"] != "bored":  # EmoDB boredom has no canonical label: not trained on
            assert clips[r["id"].split("_", 1)[1]] == r["emotion"]
