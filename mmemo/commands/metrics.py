"""``mmemo metrics``: score predictions against ground truth from CSV files.

- ``mmemo metrics ew GT.csv PRED.csv [--reference-tables DIR] [--level level1|level2]
  [--mode parity|strict] [--json]``: emotion-wheel score. Both CSVs have columns ``name`` and
  ``openset`` (a list string such as ``[happy, sad]``), joined on ``name``.
- ``mmemo metrics cls GT.csv PRED.csv [--column label] [--normalise] [--json]``: one-hot
  metrics (WAR, UAR, weighted/macro F1, confusion matrix). A label column absent from a file
  or a row, an empty ground-truth label, or ground truth with one class (usually the wrong
  column) is an error, not a score; ``--allow-one-class`` permits the last.

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
    cls.add_argument(
        "--allow-one-class",
        action="store_true",
        help="score ground truth that has a single class (refused by default: it is usually "
        "the wrong column or file, and every prediction of that class then scores 1.0)",
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
            reader = csv.reader(fh)
            fields = next(reader, [])
            # 'mmemo predict --out x.csv' names its rows by 'id'
            key = "name" if "name" in fields else "id" if "id" in fields else None
            if key is None or column not in fields:
                raise _InputError(
                    f"{path}: needs columns 'name' (or 'id') and {column!r} (has {fields}); "
                    "choose the label column with --column"
                )
            table = list(reader)
            if "status" in fields:  # failed inputs of mmemo predict: missing predictions
                i_status = fields.index("status")
                table = [r for r in table if len(r) <= i_status or r[i_status] in ("", "ok")]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise _InputError(f"{path}: not a readable CSV ({exc})") from exc
    i_name, i_col, width = fields.index(key), fields.index(column), len(fields)
    table = [r for r in table if r]  # blank lines
    short = next((i for i, r in enumerate(table) if len(r) < width), None)
    if short is not None:
        table = [r + [""] * (width - len(r)) for r in table]
    names = [r[i_name].strip() for r in table]
    rows = dict(zip(names, (r[i_col] for r in table), strict=True))
    if len(rows) != len(names) or "" in rows:
        seen: set[str] = set()
        for i, name in enumerate(names, start=2):
            if not name:
                raise _InputError(f"{path} row {i}: empty name")
            if name in seen:
                raise _InputError(f"{path} row {i}: duplicate name {name!r}")
            seen.add(name)
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
            if column not in row:
                keys = ", ".join(sorted(k for k in row if k != "id"))
                raise _InputError(
                    f"{path} line {i}: no {column!r} field (it has: {keys}); "
                    "choose the label field with --column"
                )
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


def _read_arrow(path: Path, column: str):
    """``(names, cells)`` of a CSV read by Arrow's C++ reader; None when anything is unusual
    (then the Python reader runs and names the problem: missing column, empty or duplicate
    names, a malformed row)."""
    if path.suffix.lower() == ".jsonl" or not path.is_file():
        return None
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
        from pyarrow import csv as pacsv

        table = pacsv.read_csv(
            path,
            convert_options=pacsv.ConvertOptions(
                include_columns=["name", column],
                column_types={"name": pa.string(), column: pa.string()},
                strings_can_be_null=False,
            ),
        )
    except Exception:
        return None
    names = pc.utf8_trim_whitespace(table.column("name").combine_chunks())
    # (no Python scalars in the kernels: converting one makes pyarrow import pandas, 0.3 s)
    if len(names) and pc.min(pc.utf8_length(names)).as_py() == 0:
        return None
    if pc.count_distinct(names).as_py() != len(names):
        return None
    return names, table.column(column).combine_chunks()


def _run_ew_bytes(args: argparse.Namespace) -> int | None:
    """Parity EW with reference tables, the CSVs read and split in numpy
    (:mod:`mmemo.taxonomy.label_csv`), the prediction file in a second thread (numpy lets
    go of the GIL, so the two files take one file's time on two idle cores); None when the
    files need another reader."""
    import threading

    import numpy as np

    from mmemo.metrics_compiled import ew_score_ids
    from mmemo.taxonomy.compiled import compiled_reference_tables, describe_cache
    from mmemo.taxonomy.label_csv import all_distinct, hash_rows, read_label_csv

    tables: dict = {}  # the compiled tables, loaded while the other thread reads its file
    ready = threading.Event()

    def words(path: Path, out: dict) -> None:
        try:
            cells = read_label_csv(path, args.column)
        except OSError:  # unreadable: the Python reader says so
            cells = None
        out["cells"] = cells
        ready.wait()
        usable = cells is not None and tables.get("spans")
        out["words"] = tables["compiled"].lookup_spans(cells) if usable else None

    g_out: dict = {}
    p_out: dict = {}
    other = threading.Thread(target=words, args=(args.pred, p_out), daemon=True)
    other.start()
    try:
        compiled = compiled_reference_tables(
            args.reference_tables, neutral="drop", allow_pickle=args.allow_pickle
        )
        tables.update(compiled=compiled, spans=compiled.prepare_spans())
    finally:
        ready.set()
    words(args.gt, g_out)
    other.join()
    gt, pred = g_out["cells"], p_out["cells"]
    if gt is None or pred is None or g_out["words"] is None or p_out["words"] is None:
        return None
    (g_hash, g_key), (p_hash, p_key) = gt.name_keys(), pred.name_keys()
    if not all_distinct(g_hash):
        return None  # duplicate names (or a hash collision): the Python reader names them
    p_sample, p_word, n_missing = pred.sample, p_out["words"], 0
    same = gt.n == pred.n and g_key.shape == p_key.shape
    if not (same and (g_hash == p_hash).all() and (g_key == p_key).all()):
        if not all_distinct(p_hash):
            return None
        width = max(g_key.shape[1], p_key.shape[1])  # names compared at one width
        g_key = np.pad(g_key, ((0, 0), (0, width - g_key.shape[1])))
        p_key = np.pad(p_key, ((0, 0), (0, width - p_key.shape[1])))
        g_hash, p_hash = hash_rows(g_key), hash_rows(p_key)
        order = np.argsort(p_hash)
        at = order[np.searchsorted(p_hash[order], g_hash).clip(0, pred.n - 1)]
        match = (p_hash[at] == g_hash) & (p_key[at] == g_key).all(axis=1)
        row_of = np.full(pred.n, -1, np.int64)  # GT row of each prediction row
        row_of[at[match]] = np.flatnonzero(match)
        p_sample = row_of[pred.sample]
        keep = p_sample >= 0
        p_sample, p_word = p_sample[keep], p_word[keep]
        n_missing = int(gt.n - match.sum())
        if n_missing or pred.n != gt.n - n_missing:  # warn, naming the names
            _join(dict.fromkeys(gt.names()), dict.fromkeys(pred.names()))
    print(describe_cache(compiled), file=sys.stderr)
    res = ew_score_ids(gt.sample, g_out["words"], p_sample, p_word, gt.n, compiled, args.level)
    res["n_missing_predictions"] = n_missing
    _print_ew(args, res, gt.n)
    return 1 if n_missing else 0


def _run_ew_compiled(args: argparse.Namespace) -> int | None:
    """Parity EW with reference tables: compiled arrays (cached beside them), Arrow-read CSVs,
    vectorised metric. None when the CSVs need the Python reader."""
    import pyarrow.compute as pc

    from mmemo.metrics_compiled import ew_score_compiled
    from mmemo.taxonomy.compiled import compiled_reference_tables, describe_cache

    gt, pred = _read_arrow(args.gt, args.column), _read_arrow(args.pred, args.column)
    if gt is None or pred is None:
        return None
    (g_names, g_cells), (p_names, p_cells) = gt, pred
    if g_names.equals(p_names):  # the same names in the same order: nothing to join
        aligned, n_missing = p_cells, 0
    else:
        idx = pc.index_in(g_names, value_set=p_names)
        aligned, n_missing = p_cells.take(idx), idx.null_count
        if n_missing or len(p_names) != len(g_names) - n_missing:  # warn, naming the names
            _join(dict.fromkeys(g_names.to_pylist()), dict.fromkeys(p_names.to_pylist()))
    compiled = compiled_reference_tables(
        args.reference_tables, neutral="drop", allow_pickle=args.allow_pickle
    )
    print(describe_cache(compiled), file=sys.stderr)
    res = ew_score_compiled(g_cells, aligned, compiled, level=args.level)
    res["n_missing_predictions"] = n_missing
    _print_ew(args, res, len(g_names))
    return 1 if n_missing else 0


def _run_ew(args: argparse.Namespace) -> int:
    from mmemo.metrics import ew_score
    from mmemo.taxonomy import load_wheels, split_labels

    if args.reference_tables is not None and args.mode == "parity":
        code = _run_ew_bytes(args)
        if code is None:
            code = _run_ew_compiled(args)
        if code is not None:
            return code
    gt = _read(args.gt, args.column)
    pred = _read(args.pred, args.column)
    names, n_missing = _join(gt, pred)
    neutral = "drop" if args.mode == "parity" else "cluster"
    if args.reference_tables is not None and args.mode == "parity":
        # reference tables compiled to arrays once (cached beside them), vectorised metric
        from mmemo.metrics_compiled import ew_score_compiled
        from mmemo.taxonomy.compiled import compiled_reference_tables, describe_cache

        compiled = compiled_reference_tables(
            args.reference_tables, neutral=neutral, allow_pickle=args.allow_pickle
        )
        print(describe_cache(compiled), file=sys.stderr)
        res = ew_score_compiled(
            [gt[n] for n in names], [pred.get(n, "") for n in names], compiled, level=args.level
        )
    else:
        g_lists = [split_labels(gt[n], answer_tags=False) for n in names]
        p_lists = [split_labels(pred.get(n, ""), answer_tags=False) for n in names]
        wheels = load_wheels(args.reference_tables, neutral=neutral, allow_pickle=args.allow_pickle)
        print(wheels.describe(), file=sys.stderr)
        res = ew_score(g_lists, p_lists, wheels=wheels, level=args.level, mode=args.mode)
    res["n_missing_predictions"] = n_missing
    _print_ew(args, res, len(names))
    return 1 if n_missing else 0


def _print_ew(args: argparse.Namespace, res: dict, n: int) -> None:
    if args.json:
        print(json.dumps(res, indent=2))
    else:
        print(f"EW {args.mode} {args.level} ({res['wheels']} wheels), {n} samples")
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


def _run_cls(args: argparse.Namespace) -> int:
    from mmemo.metrics import confusion_matrix, macro_f1, war_uar, weighted_f1
    from mmemo.taxonomy import clean_text, normalise_label

    gt = _read(args.gt, args.column)
    pred = _read(args.pred, args.column)
    names, n_missing = _join(gt, pred)
    g = [clean_text(gt[n]) for n in names]
    space = sorted(set(g))
    empty = [n for n, lab in zip(names, g, strict=True) if not lab]
    if empty:
        raise _InputError(
            f"{args.gt}: {len(empty)} row(s) have an empty {args.column!r} label "
            f"(first: {empty[0]!r})"
        )
    if len(space) < 2 and not args.allow_one_class:
        raise _InputError(
            f"{args.gt}: the ground truth in column {args.column!r} has one class "
            f"({space[0] if space else 'none'!r}) over {len(names)} rows; check the column and "
            "the file (pass --allow-one-class if that is really so)"
        )
    p = []
    for n in names:
        word = clean_text(pred.get(n, ""))
        if args.normalise and word not in space:
            word = normalise_label(word, space) or word
        p.append(word)
    if len(names) > 1 and len(set(p)) == 1:
        print(
            f"warning: every prediction in {args.pred} is {p[0]!r}: check --column",
            file=sys.stderr,
        )
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
