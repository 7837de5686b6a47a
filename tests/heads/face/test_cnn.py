"""The face CNN's training pieces: augmentation and the weight-space averages of stage B."""

from __future__ import annotations

import pytest

from mmemo.heads.face.cnn import augment, average_weights, wise_interpolate


def test_augment_keeps_shape_range_and_varies():
    import torch

    gen = torch.Generator().manual_seed(0)
    x = torch.linspace(0, 1, 48 * 48).reshape(1, 1, 48, 48).repeat(4, 1, 1, 1)
    out = augment(x, gen)
    assert out.shape == x.shape
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0
    assert not torch.allclose(out[0], out[1])  # each image gets its own transform


def test_wise_interpolate_mixes_weights_and_keeps_int_buffers():
    torch = pytest.importorskip("torch")
    from mmemo.heads.face.cnn import build_face_cnn

    torch.manual_seed(0)
    a, b = build_face_cnn(8), build_face_cnn(8)
    for m in b.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.fill_(2.0)
            m.num_batches_tracked.fill_(7)
    sa, sb = a.state_dict(), b.state_dict()
    for alpha, want in ((0.0, sa), (1.0, sb)):
        got = wise_interpolate(a, b, alpha).state_dict()
        assert all(
            torch.allclose(got[k].float(), want[k].float())
            for k in got
            if sa[k].is_floating_point()
        )
    mid = wise_interpolate(a, b, 0.5).state_dict()
    k = next(k for k in mid if k.endswith("weight") and mid[k].ndim == 4)
    assert torch.allclose(mid[k], (sa[k] + sb[k]) / 2)
    bn = next(k for k in mid if k.endswith("running_mean"))
    assert torch.allclose(mid[bn], (sa[bn] + 2.0) / 2)
    nb = next(k for k in mid if k.endswith("num_batches_tracked"))
    assert int(mid[nb]) == 7  # integer buffers come from stage B
    assert sb[k].data_ptr() != mid[k].data_ptr()  # a copy, the inputs are untouched


def test_average_weights_is_the_mean_of_float_tensors():
    torch = pytest.importorskip("torch")
    from mmemo.heads.face.cnn import build_face_cnn

    torch.manual_seed(0)
    models = [build_face_cnn(4) for _ in range(3)]
    for i, m in enumerate(models):
        for mod in m.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.running_var.fill_(float(i + 1))
                mod.num_batches_tracked.fill_(10 * (i + 1))
    states = [m.state_dict() for m in models]
    soup = average_weights(models).state_dict()
    k = next(k for k in soup if k.endswith("weight") and soup[k].ndim == 4)
    assert torch.allclose(soup[k], (states[0][k] + states[1][k] + states[2][k]) / 3)
    bn = next(k for k in soup if k.endswith("running_var"))
    assert torch.allclose(soup[bn], torch.full_like(soup[bn], 2.0))
    nb = next(k for k in soup if k.endswith("num_batches_tracked"))
    assert int(soup[nb]) == 10  # integer buffers from the first member
    assert soup[k].data_ptr() != states[0][k].data_ptr()
    one = average_weights(models[:1]).state_dict()
    assert all(torch.equal(one[k], states[0][k]) for k in one)
