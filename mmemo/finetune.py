"""``mmemo finetune``: retrain the default heads on a user's own labelled manifest (CPU, minutes).

The default model's feature extractors stay frozen and new classifiers are fitted on the
user's label set: logistic regression on openSMILE functionals (voice), on the face CNN's
penultimate features averaged over face crops (face; the last layer of the CNN is replaced by
the fitted classifier, folded into one linear layer) and on MiniLM sentence embeddings
(text). A held-out split (grouped by ``speaker`` when the manifest names speakers, so no
person is in both) is scored per modality and fused; the classifiers are fitted on the
training split only, so the held-out report describes exactly the saved model.

Honesty rules:

- Labels go through the taxonomy first (:func:`mmemo.prediction.canonical`: ``anger`` and
  ``angry`` are one class); the merges are reported.
- Every head that is saved was scored: the split is drawn separately within each group of
  speakers that share the same modalities (e.g. CK+ subjects with faces only, RAVDESS actors
  with voice only), so each modality has held-out people; a head that still has no held-out
  rows is not saved, and says why.
- A label space that merges corpora inconsistently (a class that only some sources have,
  e.g. ``contempt`` from CK+ beside ``calm`` from RAVDESS) is warned about: the heads can then
  learn the corpus instead of the emotion. The source of a row is its ``dataset`` field, else
  its kind of media.

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
    source: str = ""
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
    warnings: list[str] = field(default_factory=list)
    label_map: dict[str, str] = field(default_factory=dict)  # manifest label -> trained class

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
                " held-out rows"
            )
        lines += [f"  warning: {w}" for w in self.warnings]
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
    from mmemo.prediction import canonical

    for row in tqdm(rows, desc="features", unit="row", disable=not progress):
        r = _Row(str(row["id"]), canonical(str(row["emotion"])), row.get("speaker"))
        if r.speaker is not None:
            r.speaker = str(r.speaker)
        kind = next((k for k in ("video", "audio", "image") if row.get(k)), None)
        path = row[kind] if kind else None
        r.source = str(row.get("dataset") or (f"{kind} rows" if kind else "transcript rows"))
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


_MODALITIES = ("voice", "face", "text")


def _split(rows: list[_Row], holdout: float, seed: int) -> tuple[np.ndarray, np.ndarray, bool]:
    """Train/held-out indices, drawn within each group of people sharing the same modalities.

    People = speakers when every row names one (no person on both sides), else rows. Drawing
    per modality signature gives every modality held-out rows wherever it has 2+ people.
    """
    from sklearn.model_selection import GroupShuffleSplit, train_test_split

    grouped = all(r.speaker is not None for r in rows) and len({r.speaker for r in rows}) >= 2
    person = [r.speaker if grouped else str(i) for i, r in enumerate(rows)]
    signature: dict[str, set[str]] = {}
    for p, r in zip(person, rows, strict=True):
        signature.setdefault(p, set()).update(m for m in _MODALITIES if getattr(r, m) is not None)
    strata: dict[tuple[str, ...], list[int]] = {}
    for i, p in enumerate(person):
        strata.setdefault(tuple(sorted(signature[p])), []).append(i)
    train, test = [], []
    for idx in strata.values():
        people = [person[i] for i in idx]
        if len(set(people)) < 2:
            train += idx
            continue
        if grouped:
            gss = GroupShuffleSplit(n_splits=1, test_size=holdout, random_state=seed)
            tr, te = next(gss.split(idx, groups=people))
        else:
            labels = [rows[i].label for i in idx]
            counts = [labels.count(lab) for lab in set(labels)]
            strat = labels if min(counts) >= 2 and len(idx) * holdout >= len(counts) else None
            tr, te = train_test_split(np.arange(len(idx)), test_size=holdout,
                                      random_state=seed, stratify=strat)  # fmt: skip
        train += [idx[k] for k in tr]
        test += [idx[k] for k in te]
    return np.asarray(sorted(train), int), np.asarray(sorted(test), int), grouped


def _label_warnings(rows: list[dict], measured: list[_Row]) -> tuple[dict[str, str], list[str]]:
    """The manifest-label -> class map, and warnings on merged or corpus-specific classes."""
    from mmemo.prediction import canonical

    label_map = {str(r["emotion"]).strip(): canonical(str(r["emotion"])) for r in rows}
    warnings = []
    merged: dict[str, set[str]] = {}
    for raw, lab in label_map.items():
        merged.setdefault(lab, set()).add(raw)
    for lab, raws in sorted(merged.items()):
        if len(raws) > 1:
            warnings.append(f"labels {', '.join(sorted(map(repr, raws)))} are one class, {lab!r}")
    by_source: dict[str, set[str]] = {}
    for r in measured:
        by_source.setdefault(r.source, set()).add(r.label)
    if len(by_source) > 1:
        every = set.intersection(*by_source.values())
        partial = {
            src: sorted(labs - every) for src, labs in sorted(by_source.items()) if labs - every
        }
        if partial:
            where = "; ".join(f"{', '.join(labs)} only in {src}" for src, labs in partial.items())
            warnings.append(
                f"the label space merges {len(by_source)} sources inconsistently ({where}): "
                "the heads can learn which corpus a row comes from instead of its emotion; "
                "train on the classes every source has, or score per source"
            )
    return label_map, warnings


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
    allow_outside: bool = False,
) -> FinetuneReport:
    """Fit new heads on the ``emotion`` labels of ``manifest`` and save them in ``out_dir``."""
    from mmemo.data.manifest import read_manifest
    from mmemo.heads.bundle import HeadError, default_dir, save_bundle
    from mmemo.heads.face.model import FaceHead
    from mmemo.heads.text.model import TextHead
    from mmemo.heads.voice.model import SpeechHead

    t0 = time.perf_counter()
    rows, report = read_manifest(
        manifest, task="discrete", allow_outside=allow_outside, on_error="skip"
    )
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
    result.label_map, result.warnings = _label_warnings(rows, measured)
    fused_logp = np.zeros((len(test), len(labels)))
    covered = np.zeros(len(test), bool)  # held-out rows that a saved head scored
    provenance = {"custom_labels": True, "labels": labels,
                  "trained_on": f"{Path(manifest).name}: {len(train)} rows (mmemo finetune)"}  # fmt: skip
    for key, attr in (("voice", "voice"), ("face", "face"), ("text", "text")):
        tr = [i for i in train if getattr(measured[i], attr) is not None]
        te = [j for j, i in enumerate(test) if getattr(measured[i], attr) is not None]
        if key not in heads or not tr:
            continue
        if len({measured[i].label for i in tr}) < 2 or not te:
            why = (
                "fewer than 2 labels in its training rows"
                if te
                else (
                    "no held-out rows to score it on (its rows come from fewer than 2 "
                    + ("speakers)" if grouped else "rows)")
                )
            )
            result.failures.append((key, f"{key} head not trained: {why}"))
            continue
        x = np.stack([getattr(measured[i], attr) for i in tr])
        mlp = _fit(x, [measured[i].label for i in tr], labels)
        probs = mlp.predict_proba(np.stack([getattr(measured[test[j]], attr) for j in te]))
        result.heldout[key] = _score([measured[test[j]].label for j in te], probs, labels)
        fused_logp[te] += np.log(np.clip(probs, 1e-4, 1))
        covered[te] = True
        _save_head(key, heads[key], mlp, out, dict(provenance), save_bundle)
    if result.heldout and len(test):
        gt = [measured[i].label for i, c in zip(test, covered, strict=True) if c]
        result.heldout["fused"] = _score(gt, fused_logp[covered], labels)
    result.seconds = time.perf_counter() - t0
    (out / "finetune_report.json").write_text(json.dumps(
        {"heldout": result.heldout, "labels": labels, "n_train": len(train),
         "n_heldout": len(test), "grouped_by_speaker": grouped,
         "label_map": result.label_map, "warnings": result.warnings,
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
