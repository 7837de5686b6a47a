"""Small source files in each corpus's documented layout, good and malformed, for the
converter tests. Everything is written under a caller's ``tmp_path``; no corpus content is
used (transcripts, names and reasoning texts are made up).

The converters read names, CSV/JSON text and file bytes, never decode media, so media here
are tiny but real where cheap (WAV via ``wave``, PNG/JPEG via Pillow) and placeholder bytes
for video clips (named as such below).
"""

from __future__ import annotations

import csv
import json
import wave
from pathlib import Path

import numpy as np
from PIL import Image

VIDEO_PLACEHOLDER = b"placeholder bytes: converters only check that a clip exists\n"


def write_wav(path: Path, seconds: float = 0.1, freq: float = 220.0, sr: int = 16000) -> Path:
    """A mono 16-bit WAV sine tone (different ``freq`` -> different bytes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * sr)) / sr
    samples = (0.3 * np.sin(2 * np.pi * freq * t) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sr)
        w.writeframes(samples.tobytes())
    return path


def write_image(path: Path, value: int = 128, side: int = 48) -> Path:
    """A grey ``side``x``side`` image (PNG or JPEG from the suffix)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((side, side), value, dtype=np.uint8)).save(path)
    return path


def write_clip(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(VIDEO_PLACEHOLDER)
    return path


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_jsonl(path: Path, lines: list[object | str]) -> Path:
    """One line per item: dicts are JSON-encoded, strings written as they are (broken JSON)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines)
    path.write_text(text + "\n", encoding="utf-8")
    return path


# ---------------------------------------------------------------------------- per corpus


def ravdess_tree(root: Path) -> Path:
    """Actor folders: 4 good files (one AV clip), 1 duplicate, 4 bad codes, 1 non-media."""
    write_wav(root / "Actor_01" / "03-01-05-02-01-02-01.wav", freq=200)
    write_wav(root / "Actor_01" / "03-01-01-01-01-01-01.wav", freq=210)
    write_wav(root / "Actor_02" / "03-01-03-01-02-01-02.wav", freq=220)
    write_clip(root / "Actor_02" / "01-01-08-02-02-01-02.mp4")
    # byte-identical copy of 03-01-03-01-02-01-02 (as Actor_07 had in the original release)
    write_wav(root / "Actor_02" / "03-01-03-01-02-02-02.wav", freq=220)
    write_wav(root / "Actor_01" / "03-01-09-01-01-01-01.wav", freq=230)  # emotion 09
    write_wav(root / "Actor_01" / "recording.wav", freq=240)  # not a code
    write_wav(root / "Actor_01" / "03-01-01-02-01-01-01.wav", freq=250)  # neutral + strong
    write_wav(root / "Actor_02" / "03-01-04-01-01-01-05.wav", freq=260)  # actor 05 in Actor_02
    (root / "Actor_01" / "notes.txt").write_text("not media\n")
    return root


def ckplus_tree(root: Path) -> Path:
    """Class folders: 4 good images of 3 subjects, 1 bad name, 1 unknown class folder."""
    write_image(root / "anger" / "S005_001_00000011.png", 10)
    write_image(root / "happy" / "S010_006_00000015.png", 20)
    write_image(root / "happy" / "S010_006_00000016.png", 30)
    write_image(root / "contempt" / "S138_008_00000009.png", 40)
    write_image(root / "happy" / "face01.png", 50)
    write_image(root / "joy" / "S011_001_00000001.png", 60)
    return root


def fer2013_tree(root: Path) -> Path:
    """``train``/``publictest`` class folders: 3 images, plus an unknown class folder."""
    write_image(root / "train" / "happy" / "Training_101.jpg", 70)
    write_image(root / "train" / "angry" / "Training_102.jpg", 80)
    write_image(root / "publictest" / "sad" / "PublicTest_201.jpg", 90)
    write_image(root / "publictest" / "smiling" / "PublicTest_202.jpg", 100)
    return root


def fer2013_csv(path: Path) -> Path:
    """The Kaggle layout: 3 good rows and 3 malformed ones (bad code, short pixels, text)."""
    pixels = " ".join(str(i % 256) for i in range(48 * 48))
    rows = [
        [3, pixels, "Training"],
        [6, pixels, "PublicTest"],
        [9, pixels, "Training"],  # emotion code out of range
        [0, "1 2 3", "Training"],  # too few pixels
        ["x", pixels, "PrivateTest"],  # not an integer
        [4, pixels, "PrivateTest"],
    ]
    return write_csv(path, ["emotion", "pixels", "Usage"], rows)


MELD_HEADER = [
    "Sr No.",
    "Utterance",
    "Speaker",
    "Emotion",
    "Sentiment",
    "Dialogue_ID",
    "Utterance_ID",
    "Season",
    "Episode",
    "StartTime",
    "EndTime",
]


def meld_folder(root: Path) -> tuple[Path, Path]:
    """``train_sent_emo.csv`` (3 good rows, 2 bad), ``dev_sent_emo.csv`` (1 good row) and a
    broken ``test_sent_emo.csv`` without the Emotion column; returns (csv folder, media dir)
    where the media dir holds the clip of train dia0_utt0 only."""
    csv_dir = root / "meld"
    write_csv(
        csv_dir / "train_sent_emo.csv",
        MELD_HEADER,
        [
            [1, "We made it, finally!", "Alex", "joy", "positive", 0, 0, 1, 2, "00:00:01,000", "00:00:02,500"],
            [2, "Wait,\nwhat happened?", "Sam", "surprise", "negative", 0, 1, 1, 2, "00:00:02,600", "00:00:04,000"],
            [3, "Nothing.", "Alex", "neutral", "neutral", 1, 0, 1, 2, "00:00:05,000", "00:00:05,800"],
            [4, "Stop it.", "Sam", "annoyed", "negative", 1, 1, 1, 2, "00:00:06,000", "00:00:07,000"],
            [5, "Fine.", "Alex", "neutral", "neutral", "one", 2, 1, 2, "00:00:07,100", "00:00:07,900"],
        ],
    )  # fmt: skip
    write_csv(
        csv_dir / "dev_sent_emo.csv",
        MELD_HEADER,
        [
            [
                1,
                "Hello there.",
                "Robin",
                "neutral",
                "neutral",
                0,
                0,
                3,
                4,
                "00:01:00,000",
                "00:01:01,000",
            ]
        ],
    )
    write_csv(
        csv_dir / "test_sent_emo.csv",
        [h for h in MELD_HEADER if h != "Emotion"],
        [[1, "Bye.", "Robin", "neutral", 0, 0, 3, 4, "00:02:00,000", "00:02:01,000"]],
    )
    media = root / "MELD.Raw"
    write_clip(media / "train_splits" / "dia0_utt0.mp4")
    write_clip(media / "dev_splits_complete" / "dia9_utt9.mp4")  # belongs to no row
    return csv_dir, media


EMORYNLP_HEADER = [
    "Utterance",
    "Speaker",
    "Emotion",
    "Scene_ID",
    "Utterance_ID",
    "Season",
    "Episode",
    "Start_Time",
    "End_Time",
]


def emorynlp_csv(root: Path) -> tuple[Path, Path]:
    """``emorynlp_dev_final.csv``: 2 good rows (one with two speakers), 1 unknown label;
    returns (csv, media dir holding the clip of the first row)."""
    path = write_csv(
        root / "emorynlp_dev_final.csv",
        EMORYNLP_HEADER,
        [
            ["That is wonderful news.", "['Jo Park']", "Joyful", 3, 0, 2, 5, "00:03:10.100", "00:03:12.000"],
            ["Hey!", "['Jo Park', 'Lee Chan']", "Powerful", 3, 1, 2, 5, "00:03:12.200", "00:03:12.900"],
            ["Great.", "['Lee Chan']", "Happy", 3, 2, 2, 5, "00:03:13.000", "00:03:13.500"],
        ],
    )  # fmt: skip
    media = root / "clips"
    write_clip(media / "sea2_ep5_sc3_utt0.mp4")
    return path, media


def mer_files(root: Path) -> tuple[Path, Path]:
    """An OV label CSV (``name``, ``openset``) and a MER2023-style CSV (``name``,
    ``discrete``, ``valence``, ``english``) in one folder, and a media dir with two clips."""
    labels = root / "labels"
    write_csv(
        labels / "track2_train_ovmerd.csv",
        ["name", "openset"],
        [
            ["sample_00000001", "[happy, Excited, happy]"],
            ["sample_00000002", "['worried', 'nervous']"],
            ["sample_00000003", "[sad]"],  # no clip, no transcript
            ["sample_00000004", "[]"],  # no labels
        ],
    )
    write_csv(
        labels / "mer2023_test.csv",
        ["name", "discrete", "valence", "english", "chinese"],
        [
            ["sample_00000010", "Angry", "-3.5", "I told you not to touch it.", "zh text"],
            ["sample_00000011", "happy", "7", "Out of range valence.", ""],
        ],
    )
    media = root / "video"
    write_clip(media / "sample_00000001.mp4")
    write_clip(media / "sample_00000002.avi")
    return labels, media


def r1_omni_json(root: Path) -> tuple[Path, Path]:
    """``dfew_train.json`` in both R1-Omni styles (3 good, 2 bad items) plus a broken
    ``dfew_extra.json``; returns (folder, media dir)."""
    media = root / "media"
    write_clip(media / "DFEW" / "videos" / "1.mp4")
    items = [
        {
            "video": "DFEW/videos/1.mp4",
            "conversations": [
                {"from": "human", "value": "<video>\n<audio>\nWhich emotion is most obvious?"},
                {
                    "from": "gpt",
                    "value": "<think>The brows are drawn down and the voice is loud.</think>\n"
                    "<answer>angry</answer>",
                },
            ],
        },
        {
            "video": "DFEW/videos/2.mp4",
            "conversations": [
                {"from": "human", "value": "<video>\n<audio>\nWhich emotion is most obvious?"},
                {"from": "gpt", "value": "sad"},
            ],
        },
        {"path": "DFEW/videos/3.mp4", "problem": "Emotion?", "solution": "<answer>Happy</answer>"},
        {
            "video": "DFEW/videos/4.mp4",
            "conversations": [
                {"from": "human", "value": "<video>\nEmotion?"},
                {"from": "gpt", "value": "<think>no answer follows</think>"},
            ],
        },
        {"conversations": [{"from": "gpt", "value": "<answer>fear</answer>"}]},
    ]
    folder = root / "json"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "dfew_train.json").write_text(json.dumps(items, indent=1), encoding="utf-8")
    (folder / "dfew_extra.json").write_text('[{"video": "x.mp4",}]', encoding="utf-8")
    return folder, media


def fea20k_jsonl(root: Path) -> Path:
    """FEA-20K rows: 2 good (two key-name variants), 1 bad JSON line, 1 bad AU, 1 unlabelled."""
    return write_jsonl(
        root / "fea20k_train.jsonl",
        [
            {
                "id": "rafdb_0001",
                "dataset": "RAF-DB",
                "image": "RAF-DB/train_0001.jpg",
                "question": "Analyze the facial expression in the image.",
                "AUs": ["AU6", "AU12"],
                "labels": ["Happiness"],
                "description": "Cheeks raised and lip corners pulled up.",
                "meta_info": {"source_split": "train"},
            },
            {
                "img": "BP4D/F001_T1_0042.jpg",
                "label": "Sadness",
                "aus": ["au01", 4, "AU15"],
                "rationale": "Inner brows raised, lip corners down.",
                "subject": "F001",
            },
            '{"id": "broken", "image": ',
            {"id": "x2", "image": "a.jpg", "labels": ["Anger"], "AUs": ["AU4", "brow"]},
            {"id": "x3", "image": "b.jpg", "AUs": ["AU4"]},
        ],
    )


def emotioncot_jsonl(root: Path) -> Path:
    """EmotionCoT rows: 2 good, 1 without audio, 1 bad JSON line."""
    return write_jsonl(
        root / "emotioncot_train.jsonl",
        [
            {
                "audio_path": "IEMOCAP/Ses01F_impro01_F000.wav",
                "transcription": "I don't know what to say.",
                "emotion": "Sad",
                "dataset": "IEMOCAP",
                "gender": "Female",
                "age_level": "Young Adult",
                "pitch_level": "low",
                "energy_level": "low",
                "speed_level": "slow",
                "intonation": "falling",
                "stressed_words": ["know"],
                "reasoning": "A young adult female speaker talks slowly with low energy.",
            },
            {
                "audio": "/abs/MELD/dia3_utt1.wav",
                "text": "That's amazing!",
                "gt": "happy",
                "pitch_level": "high",
                "energy_level": "high",
                "speed_level": "fast",
                "intonation": "rising",
                "cot": "High pitch and a rising contour suggest delight.",
                "speaker": "spk7",
            },
            {"transcription": "No audio here.", "emotion": "neutral"},
            "{not json",
        ],
    )
