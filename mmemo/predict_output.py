"""What ``mmemo predict --out`` writes: one record per input, predicted or failed.

- JSONL: a predicted input is ``{"status": "ok", ...Prediction.to_dict()}``; a failed one is
  ``{"id", "path", "status": "error", "error": reason}``. ``mmemo metrics cls`` reads either
  file directly (``--column emotion``); failed records count as missing predictions.
- ``--timeline``: one record per segment (``segment``, ``start``, ``end`` in seconds,
  ``source`` "speech" or "window"), then the file's aggregate with ``segment`` "all".
- CSV: the same rows in fixed columns (:data:`BASE_COLUMNS`, then the timeline columns when
  asked for), then ``p_<label>`` per class
  (the label set of the model, or ``--labels``), so spreadsheets and pandas get the whole
  distribution. Written row by row: a long batch stopped half way keeps what it did.

Valence and arousal are the probability-weighted means of the taxonomy's circumplex
coordinates of the predicted labels (:func:`mmemo.prediction.valence_arousal_of`), in
[-1, 1]: not a separate regression.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from typing import IO, Any

BASE_COLUMNS = (
    "id", "path", "status", "error", "emotion", "probability", "top", "valence", "arousal",
    "modalities", "transcript", "warnings",
)  # fmt: skip


def ok_record(pred: Any, transcript: str | None = None) -> dict[str, Any]:
    """The JSON record of a :class:`~mmemo.prediction.Prediction`."""
    rec = {"status": "ok", **pred.to_dict()}
    if transcript is not None and not rec.get("transcript"):
        rec["transcript"] = transcript
    return rec


def error_record(item_id: str, path: str | None, reason: str) -> dict[str, Any]:
    """The record of an input that could not be predicted, with the reason."""
    return {"id": item_id, "path": path, "status": "error", "error": reason}


def label_columns(labels: Iterable[str] | None, predictor: Any = None) -> list[str]:
    """The classes the CSV has a ``p_<label>`` column for: ``labels`` when given (``--labels``),
    else those of the predictor's heads in canonical order, else the canonical set."""
    from mmemo.prediction import CANONICAL_LABELS, canonical

    if labels:
        return list(dict.fromkeys(labels))
    found: list[str] = []
    for head in (getattr(predictor, k, None) for k in ("face", "voice", "text")):
        found += [canonical(lab) for lab in getattr(head, "labels", ())]
    if not found:
        return list(CANONICAL_LABELS)
    order = {lab: i for i, lab in enumerate(CANONICAL_LABELS)}
    return sorted(set(found), key=lambda lab: (order.get(lab, len(order)), found.index(lab)))


def _csv_row(rec: dict[str, Any], classes: Sequence[str]) -> list[str]:
    def num(x: Any, fmt: str) -> str:
        return "" if x is None else format(float(x), fmt)

    probs = rec.get("probabilities") or {}
    emotion = rec.get("emotion") or ""
    row = [
        rec.get("id") or "",
        rec.get("path") or "",
        rec.get("status", "ok"),
        rec.get("error") or "",
        emotion,
        num(probs.get(emotion), ".4f") if emotion else "",
        json.dumps([t["label"] for t in rec.get("top") or []]) if rec.get("top") else "",
        num(rec.get("valence"), ".3f"),
        num(rec.get("arousal"), ".3f"),
        "+".join(rec.get("modalities") or {}),
        rec.get("transcript") or "",
        " | ".join(rec.get("warnings") or []),
    ]
    if rec.get("status", "ok") != "ok":
        return row + [""] * len(classes)
    # a class no head of this input knows got no mass in the fusion: probability 0
    return row + [num(probs.get(c, 0.0), ".4f") for c in classes]


class RecordWriter:
    """Writes records to ``path`` (``.jsonl`` or ``.csv``) as they come; use as a context."""

    def __init__(
        self, path: str, classes: Sequence[str], extra: Sequence[str] = (), append: bool = False
    ) -> None:
        if not path.endswith((".jsonl", ".csv")):
            raise ValueError("--out must end with .jsonl or .csv")
        if append and not path.endswith(".jsonl"):
            raise ValueError("only a .jsonl --out can be appended to (resumed)")
        self.path, self.classes, self.extra = path, list(classes), list(extra)
        self.append = append
        self.count = {"ok": 0, "error": 0}
        self._fh: IO[str] | None = None
        self._csv: Any = None

    def __enter__(self) -> RecordWriter:
        self._fh = open(self.path, "a" if self.append else "w", newline="" if self.path.endswith(".csv") else None,
                        encoding="utf-8")  # fmt: skip
        if self.path.endswith(".csv"):
            self._csv = csv.writer(self._fh)
            self._csv.writerow([*BASE_COLUMNS, *self.extra, *(f"p_{c}" for c in self.classes)])
        return self

    def write(self, rec: dict[str, Any]) -> None:
        assert self._fh is not None, "use RecordWriter as a context manager"
        if self._csv is not None:
            row = _csv_row(rec, self.classes)
            n = len(BASE_COLUMNS)
            extra = ["" if rec.get(k) is None else str(rec[k]) for k in self.extra]
            self._csv.writerow(row[:n] + extra + row[n:])
        else:
            self._fh.write(json.dumps(rec) + "\n")
        self._fh.flush()
        self.count["ok" if rec.get("status", "ok") == "ok" else "error"] += 1

    def __exit__(self, *exc: Any) -> None:
        if self._fh is not None:
            self._fh.close()
