"""Training of the default heads: data readers and the CK+ label restriction."""

from __future__ import annotations

import numpy as np
import pytest

from mmemo.heads.face.data import CK_HEAD_IDX
from mmemo.heads.face.model import FACE_LABELS
from mmemo.heads.face.train import _ck_acc
from mmemo.heads.text.meld import meld_rows
from mmemo.heads.train import main
from mmemo.heads.voice.corpora import corpus_clips


def test_ck_labels_map_into_the_head():
    assert len(CK_HEAD_IDX) == 7 and FACE_LABELS.index("neutral") not in CK_HEAD_IDX
    assert FACE_LABELS[CK_HEAD_IDX[-1]] == "contempt"


def test_ck_acc_ignores_neutral_logit():
    import torch

    class Fixed(torch.nn.Module):
        def forward(self, x):  # neutral has the top logit, then 'happy'
            logits = torch.zeros(x.shape[0], len(FACE_LABELS))
            logits[:, FACE_LABELS.index("neutral")] = 5.0
            logits[:, FACE_LABELS.index("happy")] = 1.0
            return logits

    x = np.zeros((3, 48, 48), np.uint8)
    y = np.array([FACE_LABELS.index("happy")] * 2 + [FACE_LABELS.index("sad")])
    assert _ck_acc(Fixed(), x, y) == pytest.approx(2 / 3)


def test_main_rejects_missing_data(tmp_path, capsys):
    assert main(["--data", str(tmp_path / "nope"), "--out", str(tmp_path)]) == 2
    assert "is not a folder" in capsys.readouterr().err


@pytest.mark.data
def test_corpus_readers_match_the_readmes(shared_data):
    from collections import Counter

    clips = corpus_clips(shared_data)
    per = Counter((c.corpus, c.label) for c in clips)
    assert len({c.speaker for c in clips if c.corpus == "ravdess"}) == 20
    assert sum(v for (c, _), v in per.items() if c == "ravdess") == 1199
    # ASED README: neutral 522, fearful 510, happy 486, sad 470, angry 486; 65 speakers
    assert {k[1]: v for k, v in per.items() if k[0] == "ased"} == {
        "neutral": 522, "fearful": 510, "happy": 486, "sad": 470, "angry": 486,
    }  # fmt: skip
    assert len({c.speaker for c in clips if c.corpus == "ased"}) == 65
    # EmoDB README: W 127, N 79, F 71, A 69, T 62, E 46 (boredom L 81 has no canonical label)
    assert {k[1]: v for k, v in per.items() if k[0] == "emodb"} == {
        "angry": 127, "neutral": 79, "happy": 71, "fearful": 69, "sad": 62, "disgust": 46,
    }  # fmt: skip
    genders = Counter((c.corpus, c.gender) for c in clips if c.corpus == "ased")
    assert genders[("ased", "female")] + genders[("ased", "male")] == 2474
    texts, y = meld_rows(shared_data, "dev")
    assert len(texts) == len(y) == 1109  # dev_sent_emo.csv row count in the MELD README
    assert np.bincount(y).tolist() == [153, 22, 40, 163, 470, 111, 150]


def test_meld_rows_reports_bad_rows(tmp_path, capsys):
    meld = tmp_path / "meld"
    meld.mkdir()
    (meld / "dev_sent_emo.csv").write_text(
        "Utterance,Emotion\nhello there,joy\n,anger\nwhat?,confusion\n", encoding="utf-8"
    )
    texts, y = meld_rows(tmp_path, "dev")
    assert texts == ["hello there"] and y.tolist() == [3]
    out = capsys.readouterr().out
    assert "line 3" in out and "line 4" in out and "'confusion'" in out


@pytest.mark.parametrize("module", ["mmemo.heads.train", "mmemo.heads.calibrate"])
def test_the_training_commands_run_as_modules(module, tmp_path):
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", module, "--data", str(tmp_path / "nope")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and "is not a folder" in proc.stderr
