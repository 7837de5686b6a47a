"""The evaluation harness: a model and a manifest in, metric tables and plots out.

``evaluate`` predicts every row with :class:`mmemo.predict.Predictor` (appending to
``predictions.jsonl`` as it goes: id, true ``label``, closed-set ``prediction`` and its
``confidence``, probabilities, and the run identity; an interrupted run resumes where it
stopped, and a folder another model or other settings wrote is refused, see
:mod:`mmemo.batch`), scores the
predictions with :mod:`mmemo.metrics` (the same functions ``mmemo metrics`` uses), and writes
``metrics.json``, ``metrics.md`` and plots (confusion matrix, per-class recall, reliability
diagram). ``evaluate_suite`` runs several datasets and averages one score per dataset
(MER-UniBench style). Checkpoints are chosen on a validation manifest only.

Closed-set scoring: for a ``discrete`` task the model's answer is the most probable label
among those that map onto the manifest's label set (``labels``), the same restriction
(:func:`mmemo.prediction.restrict_labels`) that ``mmemo predict --labels`` applies, so
``mmemo predict`` followed by ``mmemo metrics cls`` gives the same numbers.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TASKS = ("discrete", "sentiment")
PRIMARY = {"discrete": "accuracy", "sentiment": "weighted_f1"}


@dataclass
class EvalResult:
    """Scores of one model on one manifest."""

    model: str
    manifest: str
    task: str
    n: int
    failed: int
    metrics: dict[str, Any]
    labels: list[str]
    out_dir: str | None = None
    failures: list[tuple[str, str]] = field(default_factory=list)

    @property
    def score(self) -> float:
        return float(self.metrics[PRIMARY[self.task]])

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "manifest": self.manifest,
            "task": self.task,
            "n": self.n,
            "failed": self.failed,
            "labels": self.labels,
            "metrics": self.metrics,
            "failures": [{"input": a, "reason": b} for a, b in self.failures],
        }

    def markdown(self) -> str:
        m = self.metrics
        rows = [
            "| metric | value |",
            "|---|---|",
            *(f"| {k} | {m[k]:.4f} |" for k in _SCALARS if k in m),
            f"| n scored | {self.n} |",
            f"| failed inputs | {self.failed} |",
        ]
        recall = m.get("per_class_recall", {})
        if recall:
            rows += ["", "| class | recall | support |", "|---|---|---|"]
            support = m.get("support", {})
            rows += [f"| {c} | {r:.3f} | {support.get(c, 0)} |" for c, r in recall.items()]
        head = f"**{self.model}** on `{self.manifest}` ({self.task})"
        return head + "\n\n" + "\n".join(rows) + "\n"


_SCALARS = ("accuracy", "uar", "weighted_f1", "macro_f1", "ece")


def _gt_label(row: dict[str, Any], task: str) -> str | None:
    value = row.get("emotion" if task == "discrete" else "sentiment")
    return str(value).strip().lower() if value not in (None, "") else None


def _predict_all(
    predictor, items, out: Path | None, progress: bool, task: str, label_set: list[str]
) -> dict[str, dict]:
    """Eval records keyed by item id; resumes from ``out/predictions.jsonl`` when present.

    A record holds the true label, the closed-set answer with its confidence, and the
    probabilities; with the run identity of :mod:`mmemo.batch`, so a folder written by another
    model or other settings is refused instead of reused.
    """
    import sys

    from mmemo.batch import RUN_KEY, read_done, run_identity, stream

    run = run_identity(predictor, task=task, labels=label_set)
    path = out / "predictions.jsonl" if out else None
    done = read_done(path, run) if path is not None else {}
    ids = {it.id for it in items}
    if done:
        n = sum(1 for i in done if i in ids)
        print(f"resuming: {n} of {len(items)} predictions already in {path}", file=sys.stderr)
    f = path.open("a", encoding="utf-8") if path is not None else None
    try:
        for item, result in stream(predictor, items, skip=set(done), progress=progress):
            rec = {"id": item.id, "label": _gt_label(item.row, task)}
            if isinstance(result, str):
                rec["error"] = result
            else:
                rec.update(_answer(result.probabilities, task, label_set))
                rec["probabilities"] = result.probabilities
            rec[RUN_KEY] = run
            done[item.id] = rec
            if f is not None:
                f.write(json.dumps(rec) + "\n")
                f.flush()
    finally:
        if f is not None:
            f.close()
    return done


def _answer(probs: dict[str, float], task: str, label_set: list[str]) -> dict[str, Any]:
    """The closed-set answer and its confidence, or the reason there is none."""
    from mmemo.prediction import restrict_labels

    closed = {_sentiment(probs): 1.0} if task == "sentiment" else restrict_labels(probs, label_set)
    if not closed:
        return {"prediction": None, "error": "no predicted label maps onto the label set"}
    answer, confidence = max(closed.items(), key=lambda kv: kv[1])
    return {"prediction": answer, "confidence": round(float(confidence), 6)}


def score_discrete(
    gt: list[str], pred: list[str], confidences: list[float], labels: Sequence[str] | None = None
) -> dict[str, Any]:
    """Accuracy (WAR), UAR, weighted/macro F1, confusion matrix, per-class recall, ECE."""
    from mmemo.metrics import accuracy, confusion_matrix, macro_f1, war_uar, weighted_f1

    wu = war_uar(gt, pred)
    matrix, labs = confusion_matrix(gt, pred, labels=labels)
    correct = [g == p for g, p in zip(gt, pred, strict=True)]
    return {
        "accuracy": float(accuracy(gt, pred)),
        "uar": float(wu["uar"]),
        "weighted_f1": float(weighted_f1(gt, pred)),
        "macro_f1": float(macro_f1(gt, pred)),
        "ece": expected_calibration_error(confidences, correct),
        "confusion_matrix": {"labels": list(labs), "matrix": [list(map(int, r)) for r in matrix]},
        "per_class_recall": {k: float(v) for k, v in wu["per_class_recall"].items()},
        "support": {k: int(v) for k, v in wu["support"].items()},
    }


def expected_calibration_error(
    confidence: list[float], correct: list[bool], bins: int = 10
) -> float:
    """ECE: support-weighted mean |accuracy - confidence| over equal-width confidence bins."""
    if not confidence:
        return 0.0
    total, ece = len(confidence), 0.0
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        idx = [i for i, c in enumerate(confidence) if lo < c <= hi or (b == 0 and c == 0)]
        if idx:
            acc = sum(correct[i] for i in idx) / len(idx)
            conf = sum(confidence[i] for i in idx) / len(idx)
            ece += len(idx) / total * abs(acc - conf)
    return ece


def evaluate(
    model: str | Any,
    manifest: str | Path,
    task: str = "discrete",
    out_dir: str | Path | None = None,
    labels: Sequence[str] | None = None,
    progress: bool = True,
    allow_outside: bool = False,
) -> EvalResult:
    """Predict every row of ``manifest`` with ``model`` and score it (see the module doc)."""
    from mmemo.data.inputs import expand_inputs
    from mmemo.predict import Predictor

    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; choose from {', '.join(TASKS)}")
    if not Path(manifest).is_file():
        raise FileNotFoundError(f"{manifest}: manifest not found")
    predictor = model if not isinstance(model, (str, Path)) else Predictor.from_pretrained(model)
    out = Path(out_dir) if out_dir else None
    if out:
        out.mkdir(parents=True, exist_ok=True)
    items, failures = expand_inputs([str(manifest)], allow_outside=allow_outside)
    items = [it for it in items if _gt_label(it.row, task) is not None]
    label_set = sorted(labels or {_gt_label(it.row, task) for it in items})
    done = _predict_all(predictor, items, out, progress, task, label_set)
    gts, preds, conf = [], [], []
    for it in items:
        rec = done.get(it.id, {})
        if "error" in rec or rec.get("prediction") is None:
            failures.append((it.name, rec.get("error", "not predicted")))
            continue
        gts.append(_gt_label(it.row, task))
        preds.append(rec["prediction"])
        conf.append(rec["confidence"])
    metrics = score_discrete(gts, preds, conf, label_set) if gts else {"accuracy": math.nan}
    result = EvalResult(
        str(getattr(predictor, "name", model)), str(manifest), task, len(gts), len(failures),
        metrics, label_set, str(out) if out else None, failures,
    )  # fmt: skip
    if out and gts:
        (out / "metrics.json").write_text(json.dumps(result.to_dict(), indent=2) + "\n")
        (out / "metrics.md").write_text(result.markdown())
        from mmemo.evaluate_plots import write_plots

        write_plots(result, conf, [g == p for g, p in zip(gts, preds, strict=True)], out)
    return result


def _sentiment(probs: dict[str, float]) -> str:
    from mmemo.taxonomy import label_sentiment

    best = max(probs.items(), key=lambda kv: kv[1])[0]
    return {1: "positive", -1: "negative", 0: "neutral"}[label_sentiment([best])]


def evaluate_suite(
    model: str,
    suite: str | Path,
    out_dir: str | Path | None = None,
    progress: bool = True,
    allow_outside: bool = False,
) -> dict[str, Any]:
    """Run every dataset of a suite YAML; one primary score each and their unweighted mean.

    Suite YAML: ``datasets: [{name, manifest, task}]``; manifests relative to the suite file.
    """
    import yaml

    from mmemo.predict import Predictor

    path = Path(suite)
    spec = yaml.safe_load(path.read_text()) or {}
    entries = spec.get("datasets") or []
    if not entries:
        raise ValueError(f"{path}: no 'datasets' listed")
    predictor = Predictor.from_pretrained(model)
    scores: dict[str, float] = {}
    for entry in entries:
        manifest = Path(entry["manifest"])
        if not manifest.is_absolute():
            manifest = path.parent / manifest
        sub = Path(out_dir) / entry["name"] if out_dir else None
        res = evaluate(predictor, manifest, entry.get("task", "discrete"), sub,
                       progress=progress, allow_outside=allow_outside)  # fmt: skip
        scores[entry["name"]] = res.score
    mean = sum(scores.values()) / len(scores)
    return {"model": model, "scores": scores, "mean": mean}


def select_checkpoint(
    models: Sequence[str],
    val_manifest: str | Path,
    task: str = "discrete",
    progress: bool = True,
    allow_outside: bool = False,
) -> tuple[str, dict[str, float]]:
    """The model with the best primary score on a VALIDATION manifest, and every model's score."""
    scores = {
        m: evaluate(m, val_manifest, task, progress=progress, allow_outside=allow_outside).score
        for m in models
    }
    return max(scores.items(), key=lambda kv: kv[1])[0], scores


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for one value)."""
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, 0.0
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
