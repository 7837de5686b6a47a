"""The face CNN: its architecture, the central crop it sees, and its training loop."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from mmemo.heads.report import log


def build_face_cnn(width: int = 24, n_classes: int = 8) -> Any:
    """The face CNN: 4 conv stages (``width``, 2x, 4x, 8x channels), global average pool.

    Input ``[N, 1, 48, 48]`` float32 = gray / 255 (0..1); output ``[N, n_classes]`` logits.
    A ``torch.nn.Sequential``, so its ``state_dict`` keys are plain indices.
    """
    from torch import nn

    def block(i: int, o: int) -> list[nn.Module]:
        return [nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True)]

    w = width
    return nn.Sequential(
        *block(1, w), *block(w, w), nn.MaxPool2d(2),
        *block(w, 2 * w), *block(2 * w, 2 * w), nn.MaxPool2d(2),
        *block(2 * w, 4 * w), *block(4 * w, 4 * w), nn.MaxPool2d(2),
        *block(4 * w, 8 * w), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.3),
        nn.Linear(8 * w, n_classes),
    )  # fmt: skip


FACE_CROP = 40  # the CNN sees the central 40x40 of the 48x48 crop (cheaper; faces are centred)


def center_crop(x: Any, size: int = FACE_CROP) -> Any:
    """The central ``size`` x ``size`` of the last two axes (numpy array or torch tensor)."""
    h, w = x.shape[-2], x.shape[-1]
    top, left = (h - size) // 2, (w - size) // 2
    if top < 0 or left < 0:
        raise ValueError(f"image {h}x{w} smaller than the {size}x{size} crop")
    return x[..., top : top + size, left : left + size]


def augment(x: Any, gen: Any) -> Any:
    """Random flip, rotation (+-10 deg), scale (0.9-1.1) and shift (+-4 px) of ``[N,1,48,48]``."""
    import torch
    import torch.nn.functional as F

    n = x.shape[0]
    flip = torch.where(torch.rand(n, generator=gen) < 0.5, -1.0, 1.0)
    ang = (torch.rand(n, generator=gen) * 2 - 1) * (10 * np.pi / 180)
    sc = 1 + (torch.rand(n, generator=gen) * 2 - 1) * 0.1
    t = (torch.rand(n, 2, generator=gen) * 2 - 1) * (4 / 24)
    cos, sin = torch.cos(ang) / sc, torch.sin(ang) / sc
    theta = torch.stack(
        [torch.stack([cos * flip, -sin, t[:, 0]], 1), torch.stack([sin * flip, cos, t[:, 1]], 1)],
        1,
    )
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, padding_mode="border", align_corners=False)


# Test-time views: a view is ``(dy, dx)`` or ``(dy, dx, scale)``: the window of FACE_CROP * scale
# px at an offset of (dy, dx) px from the centre of the 48x48 crop, resized to FACE_CROP; each is
# also mirrored when ``mirror``, and the logits of all views are averaged. TTA_SHIFTS was fixed
# before measuring: the centre and 2-px shifts up/down/left/right (inside the +-4 px of training).
TTA_SHIFTS: tuple[tuple[float, ...], ...] = ((0, 0), (-2, 0), (2, 0), (0, -2), (0, 2))


def _window(x: Any, size: int, view: tuple[float, ...] | list) -> Any:
    """The test-time ``view`` of float crops ``x`` ``[N, 1, H, W]`` as ``[N, 1, size, size]``."""
    import torch.nn.functional as F

    dy, dx = int(view[0]), int(view[1])
    scale = float(view[2]) if len(view) > 2 else 1.0
    h, w = x.shape[-2], x.shape[-1]
    s = int(round(size * scale))
    t, lft = (h - s) // 2 + dy, (w - s) // 2 + dx
    if t < 0 or lft < 0 or t + s > h or lft + s > w:
        raise ValueError(f"view {tuple(view)} leaves the {h}x{w} image")
    v = x[..., t : t + s, lft : lft + s]
    if s == size:
        return v
    return F.interpolate(v, size=(size, size), mode="bilinear", align_corners=False,
                         antialias=s > size)  # fmt: skip


def tta_logits(
    model: Any,
    x: Any,
    size: int = FACE_CROP,
    views: tuple[tuple[float, ...], ...] | list = ((0, 0),),
    mirror: bool = True,
) -> Any:
    """Mean logits of ``model`` over the test-time ``views`` of float crops ``x``
    ``[N, 1, H, W]`` (see ``TTA_SHIFTS``), each also mirrored when ``mirror``. All views of a
    batch go through the network as one batch."""
    import torch

    wins = [_window(x, size, v) for v in views]
    if mirror:
        wins += [torch.flip(v, dims=[3]) for v in wins]
    n = x.shape[0]
    stacked = torch.cat(wins).contiguous(memory_format=torch.channels_last)
    return model(stacked).reshape(len(wins), n, -1).mean(0)


def face_logits(
    model: Any,
    x_u8: np.ndarray,
    batch: int = 1024,
    tta: bool = True,
    views: tuple[tuple[float, ...], ...] | list = ((0, 0),),
) -> np.ndarray:
    """Logits ``[N, C]`` of the CNN for uint8 crops ``[N, 48, 48]``: the mean over the
    test-time ``views`` and (with ``tta``) their mirror images, as :func:`tta_logits`."""
    import torch

    model.eval()
    outs = []
    step = max(1, batch // (len(views) * (2 if tta else 1)))  # views x images <= batch
    with torch.no_grad():
        for i in range(0, len(x_u8), step):
            xb = torch.from_numpy(np.asarray(x_u8[i : i + step])).float().div_(255).unsqueeze(1)
            outs.append(tta_logits(model, xb, FACE_CROP, views, tta).numpy())
    return np.concatenate(outs)


def train_cnn(
    model: Any,
    x: np.ndarray,
    y: np.ndarray,
    epochs: int,
    lr: float,
    seed: int,
    val: tuple[np.ndarray, np.ndarray] | None = None,
    batch: int = 128,
    onecycle: bool = True,
    tag: str = "",
) -> tuple[Any, list[dict[str, float]]]:
    """Train ``model`` in place with AdamW (+ OneCycle), label smoothing 0.1, augmentation.

    With ``val``, the weights of the epoch with the best validation accuracy are restored
    at the end. Returns the model and a per-epoch history.
    """
    import torch
    import torch.nn.functional as F

    gen = torch.Generator().manual_seed(seed)
    model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=5e-4)
    steps = epochs * int(np.ceil(len(x) / batch))
    sched = (
        torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.2)
        if onecycle
        else torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    )
    xt, yt = torch.from_numpy(x), torch.from_numpy(y).long()
    history: list[dict[str, float]] = []
    best: tuple[float, dict[str, Any]] | None = None
    for ep in range(epochs):
        t0 = time.time()
        model.train()
        perm = torch.randperm(len(x), generator=gen)
        tot, n = 0.0, 0
        for i in range(0, len(x), batch):
            idx = perm[i : i + batch]
            xb = xt[idx].float().div_(255).unsqueeze(1)
            xb = center_crop(augment(xb, gen)).contiguous(memory_format=torch.channels_last)
            loss = F.cross_entropy(model(xb), yt[idx], label_smoothing=0.1)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            tot += float(loss.detach()) * len(idx)
            n += len(idx)
            if (i // batch) % 50 == 49:
                log(f"{tag} epoch {ep + 1} step {i // batch + 1}: loss {tot / n:.4f}")
        rec = {"epoch": ep + 1, "loss": tot / n, "seconds": time.time() - t0}
        if val is not None:
            rec["val_acc"] = float((face_logits(model, val[0]).argmax(1) == val[1]).mean())
            if best is None or rec["val_acc"] > best[0]:
                best = (rec["val_acc"], {k: v.clone() for k, v in model.state_dict().items()})
        history.append(rec)
        log(f"{tag} epoch {ep + 1}/{epochs} " + " ".join(f"{k}={v:.4f}" for k, v in rec.items()))
    if best is not None:
        model.load_state_dict(best[1])
    return model, history


def wise_interpolate(stage_a: Any, stage_b: Any, alpha: float) -> Any:
    """A copy of ``stage_b`` whose float weights and BatchNorm statistics are
    ``(1 - alpha) * stage_a + alpha * stage_b`` (integer buffers are taken from stage B)."""
    import copy

    out = copy.deepcopy(stage_b)
    a, b = stage_a.state_dict(), stage_b.state_dict()
    out.load_state_dict({k: ((1 - alpha) * a[k] + alpha * v) if v.is_floating_point() else v
                         for k, v in b.items()})  # fmt: skip
    return out


def average_weights(models: list[Any]) -> Any:
    """A copy of ``models[0]`` whose float weights and BatchNorm statistics are the mean over
    ``models`` (a uniform "model soup" of fine-tunes from one start; Wortsman et al. 2022)."""
    import copy

    out = copy.deepcopy(models[0])
    states = [m.state_dict() for m in models]
    out.load_state_dict({k: sum(s[k] for s in states) / len(states) if v.is_floating_point()
                         else v for k, v in states[0].items()})  # fmt: skip
    return out
