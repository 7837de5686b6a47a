"""``mmemo predict --timeline``: per-segment predictions of each file (see :mod:`mmemo.timeline`).

Prints one line per segment and the file's aggregate; writes one record per segment plus the
file's record (``segment`` "all") to ``--out``; draws ``NAME.timeline.png`` into ``--plot``.
A file that cannot be read gets one error record and the others go on.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def run_timelines(
    predictor: Any, items: list, args: argparse.Namespace, out: Any
) -> tuple[int, int]:
    """Returns (files with a timeline, files that failed)."""
    from mmemo.media import MediaError
    from mmemo.predict_output import error_record, ok_record
    from mmemo.timeline import predict_timeline

    n_ok = n_bad = 0
    used: set[str] = set()
    for item in items:
        if not item.path:
            n_bad += 1
            reason = "--timeline needs a media file"
            print(f"error: {item.name}: {reason}", file=sys.stderr)
            if out is not None:
                out.write(error_record(item.id, item.path, reason))
            continue
        try:
            timeline = predict_timeline(predictor, item, window=args.window)
        except (MediaError, ValueError) as exc:
            reason = getattr(exc, "reason", None) or str(exc)
            n_bad += 1
            print(f"error: {item.name}: {reason}", file=sys.stderr)
            if out is not None:
                out.write(error_record(item.id, item.path, reason))
            continue
        rows = list(timeline.rows())
        if timeline.overall is None:
            reason = "no segment could be predicted: " + (
                "; ".join(sorted({r.error for r in timeline.segments if r.error}))
                or timeline.segmentation
            )
            whole = {**error_record(item.id, item.path, reason), "segment": "all"}
            n_bad += 1
            print(f"error: {item.name}: {reason}", file=sys.stderr)
        else:
            whole = {**ok_record(timeline.overall), "segment": "all", "start": 0.0,
                     "end": round(timeline.duration, 3), "source": "aggregate"}  # fmt: skip
            n_ok += 1
        if out is not None:
            for rec in rows:
                out.write(rec)
            out.write(whole)
        if args.json:
            print(json.dumps(timeline.to_dict()))
        else:
            _print(timeline, rows, args)
        if args.plot:
            _plot(timeline, Path(args.plot), item, used)
    return n_ok, n_bad


def _print(timeline: Any, rows: list[dict], args: argparse.Namespace) -> None:
    print(f"{timeline.path}: {len(rows)} segments ({timeline.segmentation})")
    for rec in rows:
        span = f"{rec['start']:7.2f}-{rec['end']:7.2f} s"
        if rec["status"] != "ok":
            print(f"  {span}  error: {rec['error']}")
            continue
        tops = ", ".join(f"{t['label']} {t['probability']:.2f}" for t in rec["top"][: args.top])
        words = f'  "{rec["transcript"]}"' if rec.get("transcript") else ""
        print(f"  {span}  {tops}  [{'+'.join(rec['modalities'])}]{words}")
    if timeline.overall is not None:
        o = timeline.overall
        tops = ", ".join(f"{lab} {p:.2f}" for lab, p in o.top[: args.top])
        print(f"  overall (duration-weighted): {tops}")
        if args.reason:
            print(f"  why:  {o.rationale}")
            for note in o.warnings:
                print(f"  note: {note}")


def _plot(timeline: Any, folder: Path, item: Any, used: set[str]) -> None:
    from mmemo.timeline_plot import plot_timeline

    folder.mkdir(parents=True, exist_ok=True)
    stem = Path(item.path).stem
    name, i = stem, 2
    while name in used:
        name, i = f"{stem}-{i}", i + 1
    used.add(name)
    fig = plot_timeline(timeline)
    fig.savefig(folder / f"{name}.timeline.png", dpi=100)
    print(f"wrote {folder / f'{name}.timeline.png'}", file=sys.stderr)
