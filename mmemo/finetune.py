"""``mmemo finetune``: retrain the default heads on a user's own labelled manifest (CPU, minutes).

The default model's feature extractors stay frozen and new classifiers are fitted on the
user's label set: logistic regression on openSMILE functionals (voice), on the face CNN's
penultimate features averaged over face crops (face; the last layer of the CNN is replaced by
the fitted classifier, folded into one linear layer) and on MiniLM sentence embeddings
(text). A held-out split (grouped by ``speaker`` when the manifest names speakers, so no
person is in both) is scored per modality and fused; the classifiers are fitted on the
training split only, so the held-out report describes exactly the saved model.

The output folder loads with ``mmemo predict --model DIR`` (and ``Predictor.from_pretrained``).
For backbone fine-tuning (VLM, SpeechLLM, omni), use the recipes: ``mmemo recipes ls``.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

FACE_FRAMES = 8


@dataclass
class _Row:
    id: str
    label: str
    speaker: str | None
    voice: np.ndarray | None = None
    face: np.ndarray | None = None
    text: np.ndarray | None = None


@dataclass
class FinetuneReport:
    """What was trained and how it scored on the held-out rows."""

    out: str
    labels: list[str]
    n_train: int
    n_heldout: int
    heldout: dict[str, dict[str, float]] = field(default_factory=dict)
    failures: list[tuple[str, str]] = field(default_factory=list)
    grouped_by_speaker: bool = False
    seconds: float = 0.0

    def summary(self) -> str:
        lines = [
            f"trained {', '.join(k for k in self.heldout if k != 'fused') or 'no'} head(s) on "
            f"{self.n_train} rows, "
            f"{len(self.labels)} labels; held-out {self.n_heldout} rows"
            + (" (grouped by speaker)" if self.grouped_by_speaker else ""),
        ]
        for name, m in self.heldout.items():
            lines.append(
                f"  {name:<6} accuracy {m['accuracy']:.3f}  UAR {m['uar']:.3f}  n={m['n']}"
            )
        if self.failures:
            lines.append(f"  {len(self.failures)} row(s) skipped (see the errors above)")
        lines.append(
            f"saved to {self.out} ({self.seconds:.0f} s); use: mmemo predict --model {self.out}"
        )
        return "\n".join(lines)


def _face_features(face_head: Any, path: str, kind: str) -> np.ndarray | None:
    """Mean penultimate CNN features over the face crops of an image or sampled video frames."""
    import torch

    from mmemo.heads.face.cnn import center_crop
    from mmemo.heads.face.crop import media_face_crops

    crops, _ = media_face_crops(path, kind, FACE_FRAMES)
    if not crops:
        return None
    x = torch.from_numpy(center_crop(np.stack(crops), face_head.crop).astype(np.float32))
    body = face_head.model[:-1]  # everything up to the final Linear layer
    with torch.no_grad():
        feats = body((x / 255.0).unsqueeze(1))
    return feats.numpy().mean(axis=0)


def _measure(rows: list[dict], heads: dict[str, Any], progress: bool) -> tuple[list[_Row], list]:
    from tqdm.auto import tqdm

    from mmemo.heads.bundle import HeadError
    from mmemo.media import MediaError, media_kind, probe, read_audio

    out, failures = [], []
    for row in tqdm(rows, desc="features", unit="row", disable=not progress):
        r = _Row(str(row["id"]), str(row["emotion"]).strip().lower(), row.get("speaker"))
        if r.speaker is not None:
            r.speaker = str(r.speaker)
        path = next((row[k] for k in ("video", "audio", "image") if row.get(k)), None)
        try:
            if path:
                info = probe(path)
                if "voice" in heads and info.has_audio:
                    audio = read_audio(path, sample_rate=16000)
                    r.voice = heads["voice"].features(audio.samples, audio.sample_rate)
                if "face" in heads and info.has_video:
                    r.face = _face_features(heads["face"], path, media_kind(path))
            if "text" in heads and row.get("transcript"):
                r.text = heads["text"].embed([row["transcript"]])[0]
        except (MediaError, HeadError, ValueError) as exc:
            failures.append((r.id, str(exc)))
            continue
        if r.voice is None and r.face is None and r.text is None:
            failures.append((r.id, "no usable voice, face or transcript"))
            continue
        out.append(r)
    return out, failures


def _split(rows: list[_Row], holdout: float, seed: int) -> tuple[np.ndarray, np.ndarray, bool]:
    from sklearn.model_selection import GroupShuffleSplit, train_test_split

    idx = np.arange(len(rows))
    speakers = [r.speaker for r in rows]
    if all(s is not None for s in speakers) and len(set(speakers)) >= 2:
        gss = GroupShuffleSplit(n_splits=1, test_size=holdout, random_state=seed)
        train, test = next(gss.split(idx, groups=speakers))
        return train, test, True
    labels = [r.label for r in rows]
    strat = labels if min(labels.count(lab) for lab in set(labels)) >= 2 else None
    train, test = train_test_split(idx, test_size=holdout, random_state=seed, stratify=strat)
    return np.asarray(train), np.asarray(test), False


def _fit(x: np.ndarray, y: list[str], labels: list[str], C: float = 1.0):
    """Standardise + multinomial logistic regression; returns an ``MLP`` over ``labels``."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    from mmemo.heads.bundle import MLP

    scaler = StandardScaler().fit(x)
    scaler.scale_[scaler.scale_ == 0] = 1.0
    clf = LogisticRegression(C=C, max_iter=2000).fit(scaler.transform(x), y)
    # columns in the order of `labels`; classes absent from training get a very low bias
    w = np.zeros((x.shape[1], len(labels)), np.float32)
    b = np.full(len(labels), -30.0, np.float32)
    coef, icpt = clf.coef_, clf.intercept_
    if coef.shape[0] == 1:  # binary: sigmoid(z) == softmax([-z/2, z/2])
        coef, icpt = np.vstack([-coef / 2, coef / 2]), np.array([-icpt[0] / 2, icpt[0] / 2])
    for k, cls in enumerate(clf.classes_):
        j = labels.index(cls)
        w[:, j], b[j] = coef[k], icpt[k]
    return MLP(scaler.mean_.astype(np.float32), scaler.scale_.astype(np.float32), [w], [b])


def _score(gt: list[str], probs: np.ndarray, labels: list[str]) -> dict[str, float]:
    from mmemo.metrics import accuracy, war_uar

    pred = [labels[i] for i in probs.argmax(axis=1)]
    return {"accuracy": accuracy(gt, pred), "uar": war_uar(gt, pred)["uar"], "n": len(gt)}


def finetune(
    manifest: str | Path,
    out_dir: str | Path,
    base: str | Path = "default",
    modalities: tuple[str, ...] = ("voice", "face", "text"),
    holdout: float = 0.2,
    seed: int = 0,
    progress: bool = True,
) -> FinetuneReport:
    """Fit new heads on the ``emotion`` labels of ``manifest`` and save them in ``out_dir``."""
    from mmemo.data.manifest import read_manifest
    from mmemo.heads.bundle import HeadError, default_dir, save_bundle
    from mmemo.heads.face.model import FaceHead
    from mmemo.heads.text.model import TextHead
    from mmemo.heads.voice.model import SpeechHead

    t0 = time.perf_counter()
    rows, report = read_manifest(manifest, task="discrete", on_error="skip")
    failures = [(f"{manifest}:{e.line}", e.reason) for e in report.errors]
    base_dir = default_dir() if str(base) == "default" else Path(base)
    heads: dict[str, Any] = {}
    for key, cls in (("voice", SpeechHead), ("face", FaceHead), ("text", TextHead)):
        if key in modalities:
            try:
                heads[key] = cls.load(base_dir)
            except HeadError as exc:
                failures.append((key, f"base head not loaded: {exc}"))
    measured, bad = _measure(rows, heads, progress)
    failures += bad
    labels = sorted({r.label for r in measured})
    if len(measured) < 4 or len(labels) < 2:
        raise ValueError(f"{manifest}: need at least 4 usable rows and 2 labels, got "
                         f"{len(measured)} rows and labels {labels}")  # fmt: skip
    train, test, grouped = _split(measured, holdout, seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    result = FinetuneReport(str(out), labels, len(train), len(test), failures=failures,
                            grouped_by_speaker=grouped)  # fmt: skip
    fused_logp = np.zeros((len(test), len(labels)))
    provenance = {"custom_labels": True, "labels": labels,
                  "trained_on": f"{Path(manifest).name}: {len(train)} rows (mmemo finetune)"}  # fmt: skip
    for key, attr in (("voice", "voice"), ("face", "face"), ("text", "text")):
        tr = [i for i in train if getattr(measured[i], attr) is not None]
        if key not in heads or len({measured[i].label for i in tr}) < 2:
            continue
        x = np.stack([getattr(measured[i], attr) for i in tr])
        mlp = _fit(x, [measured[i].label for i in tr], labels)
        te = [j for j, i in enumerate(test) if getattr(measured[i], attr) is not None]
        if te:
            probs = mlp.predict_proba(np.stack([getattr(measured[test[j]], attr) for j in te]))
            result.heldout[key] = _score([measured[test[j]].label for j in te], probs, labels)
            fused_logp[te] += np.log(np.clip(probs, 1e-4, 1))
        _save_head(key, heads[key], mlp, out, dict(provenance), save_bundle)
    if result.heldout and len(test):
        result.heldout["fused"] = _score([measured[i].label for i in test], fused_logp, labels)
    result.seconds = time.perf_counter() - t0
    (out / "finetune_report.json").write_text(json.dumps(
        {"heldout": result.heldout, "labels": labels, "n_train": len(train),
         "n_heldout": len(test), "grouped_by_speaker": grouped,
         "skipped": [{"row": a, "reason": b} for a, b in failures]}, indent=2) + "\n")  # fmt: skip
    return result


def _save_head(key: str, head: Any, mlp: Any, out: Path, cfg: dict, save_bundle) -> None:
    if key == "voice":
        cfg.update(head="speech", input=head.config["input"], classifiers={
            "clip": {"type": "logistic_regression", "input": "features"},
            "speaker": {"type": "logistic_regression", "input": "same as clip (no speaker model)"}})  # fmt: skip
        save_bundle(out, "speech", cfg, {**mlp.to_tensors("clip"), **mlp.to_tensors("speaker")})
    elif key == "text":
        cfg.update(head="text", input=head.config["input"],
                   classifiers={"utterance": {"type": "logistic_regression"}})  # fmt: skip
        # the base head's encoder (with its LoRA adapter, if any) is kept as it is
        save_bundle(out, "text", cfg, {**mlp.to_tensors("utterance"), **head.lora_tensors})
    else:  # fold standardisation + logistic regression into the CNN's last Linear layer
        state = {k: v.detach().numpy() for k, v in head.model.state_dict().items()}
        last = max(int(k.split(".")[0]) for k in state)
        w, b = mlp.weights[0], mlp.biases[0]  # [D, C], [C]
        state[f"{last}.weight"] = (w / mlp.scale[:, None]).T.astype(np.float32)
        state[f"{last}.bias"] = (b - (mlp.mean / mlp.scale) @ w).astype(np.float32)
        cfg.update(head="face", input=head.config["input"], arch=head.config["arch"])
        save_bundle(out, "face", cfg, state)
