"""Training of the default heads: data readers, augmentation, and the CK+ label restriction."""

from __future__ import annotations

import numpy as np
import pytest

from mmemo.models.heads import FACE_LABELS
from mmemo.training import train_heads as th
from mmemo.training.train_text import meld_rows


def test_ck_labels_map_into_the_head():
    assert len(th.CK_HEAD_IDX) == 7 and FACE_LABELS.index("neutral") not in th.CK_HEAD_IDX
    assert FACE_LABELS[th.CK_HEAD_IDX[-1]] == "contempt"


def test_augment_keeps_shape_range_and_varies():
    import torch

    gen = torch.Generator().manual_seed(0)
    x = torch.linspace(0, 1, 48 * 48).reshape(1, 1, 48, 48).repeat(4, 1, 1, 1)
    out = th._augment(x, gen)
    assert out.shape == x.shape
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0
    assert not torch.allclose(out[0], out[1])  # each image gets its own transform


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
    assert th._ck_acc(Fixed(), x, y) == pytest.approx(2 / 3)


def test_main_rejects_missing_data(tmp_path, capsys):
    assert th.main(["--data", str(tmp_path / "nope"), "--out", str(tmp_path)]) == 2
    assert "is not a folder" in capsys.readouterr().err


@pytest.mark.data
def test_corpus_readers_match_the_readmes(shared_data):
    files = th.ravdess_files(shared_data)
    assert len({a for _, _, a in files}) == 20
    assert {y for _, y, _ in files} == set(range(8))
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


def test_wise_interpolate_mixes_weights_and_keeps_int_buffers():
    torch = pytest.importorskip("torch")
    from mmemo.models.heads import build_face_cnn

    torch.manual_seed(0)
    a, b = build_face_cnn(8), build_face_cnn(8)
    for m in b.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.fill_(2.0)
            m.num_batches_tracked.fill_(7)
    sa, sb = a.state_dict(), b.state_dict()
    for alpha, want in ((0.0, sa), (1.0, sb)):
        got = th.wise_interpolate(a, b, alpha).state_dict()
        assert all(
            torch.allclose(got[k].float(), want[k].float())
            for k in got
            if sa[k].is_floating_point()
        )
    mid = th.wise_interpolate(a, b, 0.5).state_dict()
    k = next(k for k in mid if k.endswith("weight") and mid[k].ndim == 4)
    assert torch.allclose(mid[k], (sa[k] + sb[k]) / 2)
    bn = next(k for k in mid if k.endswith("running_mean"))
    assert torch.allclose(mid[bn], (sa[bn] + 2.0) / 2)
    nb = next(k for k in mid if k.endswith("num_batches_tracked"))
    assert int(mid[nb]) == 7  # integer buffers come from stage B
    assert sb[k].data_ptr() != mid[k].data_ptr()  # a copy, the inputs are untouched
