"""``mmemo metrics``: score predictions against ground truth from CSV files.

- ``mmemo metrics ew GT.csv PRED.csv [--reference-tables DIR] [--level level1|level2]
  [--mode parity|strict] [--json]``: emotion-wheel score. Both CSVs have columns ``name`` and
  ``openset`` (a list string such as ``[happy, sad]``), joined on ``name``.
- ``mmemo metrics cls GT.csv PRED.csv [--column label] [--normalise] [--json]``: one-hot
  metrics (WAR, UAR, weighted/macro F1, confusion matrix).

Names missing on either side are reported on stderr; a GT name without a prediction is scored
as an empty prediction and the exit code is 1 (some inputs failed). Malformed files exit 2.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

__all__ = ["register", "run"]


class _InputError(Exception):
    pass


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "metrics",
        help="score predictions (emotion-wheel EW, one-hot WAR/UAR/F1)",
        description=__doc__.split("\n\n")[0],
    )
    sub = parser.add_subparsers(dest="metric", metavar="METRIC")

    ew = sub.add_parser("ew", help="emotion-wheel score of open-vocabulary label lists")
    ew.add_argument("gt", type=Path, help="ground-truth CSV with columns name, openset")
    ew.add_argument("pred", type=Path, help="prediction CSV with columns name, openset")
    ew.add_argument(
        "--reference-tables",
        type=Path,
        default=None,
        metavar="DIR",
        help="MER/AffectGPT table directory (format.csv, synonym.xlsx, wheel1..5.xlsx);"
        " default: mmemo's built-in wheels",
    )
    ew.add_argument(
        "--allow-pickle",
        action="store_true",
        help="permit DIR/wheel_mapping.npz (pickled objects) when the xlsx are absent",
    )
    ew.add_argument("--level", choices=("level1", "level2"), default="level1")
    ew.add_argument("--mode", choices=("parity", "strict"), default="parity")
    ew.add_argument("--column", default="openset", help="label-list column (default: openset)")
    ew.add_argument("--json", action="store_true", help="print JSON instead of a table")
    ew.set_defaults(func=run)

    cls = sub.add_parser("cls", help="one-hot metrics: WAR, UAR, weighted F1, macro F1")
    cls.add_argument(
        "gt",
        type=Path,
        help="ground truth: CSV with columns name and --column, or a manifest .jsonl",
    )
    cls.add_argument(
        "pred", type=Path, help="predictions: CSV (name, --column) or mmemo predict --out .jsonl"
    )
    cls.add_argument("--column", default="label", help="label column (default: label)")
    cls.add_argument(
        "--normalise",
        action="store_true",
        help="map predicted words onto the GT label set (synonyms, morphology)",
    )
    cls.add_argument("--json", action="store_true", help="print JSON instead of a table")
    cls.set_defaults(func=run)
    parser.set_defaults(func=run)


def _read(path: Path, column: str) -> dict[str, str]:
    if not path.is_file():
        raise _InputError(f"{path}: file not found")
    if path.suffix.lower() == ".jsonl":
        return _read_jsonl(path, column)
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            fields = reader.fieldnames or []
            # 'mmemo predict --out x.csv' names its rows by 'id'
            key = "name" if "name" in fields else "id" if "id" in fields else None
            if key is None or column not in fields:
                raise _InputError(f"{path}: needs columns 'name' and {column!r} (has {fields})")
            rows: dict[str, str] = {}
            for i, row in enumerate(reader, start=2):
                if (row.get("status") or "ok") != "ok":
                    continue  # a failed input of mmemo predict: a missing prediction
                name = (row[key] or "").strip()
                if not name:
                    raise _InputError(f"{path} row {i}: empty name")
                if name in rows:
                    raise _InputError(f"{path} row {i}: duplicate name {name!r}")
                rows[name] = row[column] or ""
    except (UnicodeDecodeError, csv.Error) as exc:
        raise _InputError(f"{path}: not a readable CSV ({exc})") from exc
    return rows


def _read_jsonl(path: Path, column: str) -> dict[str, str]:
    """A manifest or ``mmemo predict --out x.jsonl`` file: name = ``id``, value = ``column``."""
    rows: dict[str, str] = {}
    with path.open(encoding="utf-8") as fh:
        for i, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as exc:
                raise _InputError(f"{path} line {i}: bad JSON ({exc})") from exc
            name = str(row.get("id") or "").strip()
            if not name:
                raise _InputError(f"{path} line {i}: no 'id'")
            if row.get("status", "ok") != "ok":
                continue  # a failed input of mmemo predict: a missing prediction
            value = row.get(column)
            rows[name] = ", ".join(value) if isinstance(value, list) else str(value or "")
    return rows


def _join(gt: dict[str, str], pred: dict[str, str]) -> tuple[list[str], int]:
    missing = [n for n in gt if n not in pred]
    extra = [n for n in pred if n not in gt]
    if missing:
        shown = ", ".join(missing[:10]) + (" ..." if len(missing) > 10 else "")
        print(
            f"warning: {len(missing)} GT names have no prediction (scored as empty): {shown}",
            file=sys.stderr,
        )
    if extra:
        shown = ", ".join(extra[:10]) + (" ..." if len(extra) > 10 else "")
        print(
            f"warning: {len(extra)} predicted names are not in GT (ignored): {shown}",
            file=sys.stderr,
        )
    return list(gt), len(missing)


def _run_ew(args: argparse.Namespace) -> int:
    from mmemo.metrics import ew_score
    from mmemo.taxonomy import load_wheels, split_labels

    gt = _read(args.gt, args.column)
    pred = _read(args.pred, args.column)
    names, n_missing = _join(gt, pred)
    neutral = "drop" if args.mode == "parity" else "cluster"
    wheels = load_wheels(args.reference_tables, neutral=neutral, allow_pickle=args.allow_pickle)
    print(wheels.describe(), file=sys.stderr)
    res = ew_score(
        [split_labels(gt[n], answer_tags=False) for n in names],
        [split_labels(pred.get(n, ""), answer_tags=False) for n in names],
        wheels=wheels,
        level=args.level,
        mode=args.mode,
    )
    res["n_missing_predictions"] = n_missing
    if args.json:
        print(json.dumps(res, indent=2))
    else:
        print(f"EW {args.mode} {args.level} ({res['wheels']} wheels), {len(names)} samples")
        print(f"{'wheel':<14}{'F':>8}{'P':>8}{'R':>8}{'n':>7}")
        for w in res["per_wheel"]:
            print(
                f"{w['name']:<14}{w['fs']:>8.4f}{w['ps']:>8.4f}{w['rs']:>8.4f}{w['n_samples']:>7}"
            )
        print(f"{'mean':<14}{res['fs']:>8.4f}{res['ps']:>8.4f}{res['rs']:>8.4f}")
        if args.mode == "strict":
            print(
                f"per-sample F1 {res['sample_f1']:.4f} on {res['n_common']} common samples; "
                f"ambiguous words {res['ambiguous_words']}"
            )
    return 1 if n_missing else 0


def _run_cls(args: argparse.Namespace) -> int:
    from mmemo.metrics import confusion_matrix, macro_f1, war_uar, weighted_f1
    from mmemo.taxonomy import clean_text, normalise_label

    gt = _read(args.gt, args.column)
    pred = _read(args.pred, args.column)
    names, n_missing = _join(gt, pred)
    g = [clean_text(gt[n]) for n in names]
    space = sorted(set(g))
    p = []
    for n in names:
        word = clean_text(pred.get(n, ""))
        if args.normalise and word not in space:
            word = normalise_label(word, space) or word
        p.append(word)
    wu = war_uar(g, p, labels=space)
    res = {
        "n": len(names),
        "war": wu["war"],
        "uar": wu["uar"],
        "weighted_f1": weighted_f1(g, p, labels=space),
        "macro_f1": macro_f1(g, p, labels=space),
        "per_class_recall": wu["per_class_recall"],
        "labels": space,
        "confusion_matrix": confusion_matrix(g, p, labels=space)[0],
        "n_missing_predictions": n_missing,
    }
    if args.json:
        print(json.dumps(res, indent=2))
    else:
        print(f"{len(names)} samples, {len(space)} classes")
        for key in ("war", "uar", "weighted_f1", "macro_f1"):
            print(f"{key:<12}{res[key]:.4f}")
        width = max(len(s) for s in space) if space else 5
        print("confusion (rows = true, columns = predicted):")
        print(" " * (width + 1) + " ".join(f"{s[:6]:>6}" for s in space))
        for lab, row in zip(space, res["confusion_matrix"]):
            print(f"{lab:<{width}} " + " ".join(f"{v:>6}" for v in row))
    return 1 if n_missing else 0


def run(args: argparse.Namespace) -> int:
    try:
        if args.metric == "ew":
            return _run_ew(args)
        if args.metric == "cls":
            return _run_cls(args)
    except _InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:  # malformed reference tables and similar
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print("usage: mmemo metrics {ew,cls} GT PRED ... (see mmemo metrics --help)", file=sys.stderr)
    return 2
