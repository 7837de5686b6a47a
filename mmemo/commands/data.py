"""``mmemo data``: validate manifests and convert known corpora into manifests."""

from __future__ import annotations

import argparse
import json
import sys

from mmemo.data.manifest import TASK_LABELS


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "data",
        help="validate manifests; convert corpora (RAVDESS, CK+, MELD, ...) to manifests",
        description="Work with mmemo manifests (JSONL, one example per line).",
    )
    sub = parser.add_subparsers(dest="data_command", metavar="ACTION", required=True)

    v = sub.add_parser(
        "validate",
        help="report every bad row of a manifest",
        description=(
            "Check every row: JSON syntax, field types, media files present, labels a task "
            "needs. Prints one line per problem (file:line (id): reason). Exit code 0 when "
            "all rows are valid, 1 when any row is bad."
        ),
    )
    v.add_argument("manifest", nargs="+", help="manifest JSONL file(s)")
    v.add_argument("--task", choices=sorted(TASK_LABELS), help="require the labels of this task")
    v.add_argument("--probe", action="store_true", help="also open every media file's header")
    v.add_argument("--no-media-check", action="store_true", help="skip checking media files exist")
    v.add_argument(
        "--allow-outside",
        action="store_true",
        help="accept media paths outside the manifest folder (absolute, or climbing out with "
        "../); refused by default unless under a folder listed in MMEMO_MEDIA_ROOTS",
    )
    v.add_argument("--json", action="store_true", help="print a JSON report instead of text")
    v.set_defaults(func=run_validate)

    c = sub.add_parser(
        "convert",
        help="convert a corpus in its original layout to a manifest",
        description=(
            "Convert a corpus, as distributed, to a manifest. Items that cannot be read are "
            "skipped and listed with the reason (exit code 1 when any was skipped). "
            "'mmemo data convert --list' names the corpora; datasets/<name>.md says how to "
            "obtain each."
        ),
    )
    c.add_argument("name", nargs="?", help="corpus name (see --list)")
    c.add_argument("src", nargs="?", help="the corpus folder or file, as distributed")
    c.add_argument("out", nargs="?", help="output manifest .jsonl")
    c.add_argument("--media-dir", help="where the corpus media lie, for CSV/JSON-only corpora")
    c.add_argument("--list", action="store_true", help="list the known corpora and exit")
    c.set_defaults(func=run_convert)


def run_validate(args: argparse.Namespace) -> int:
    from mmemo.data.manifest import ManifestError, validate_manifest

    reports, failed = [], False
    for path in args.manifest:
        try:
            report = validate_manifest(
                path,
                task=args.task,
                check_media=not args.no_media_check,
                allow_outside=args.allow_outside,
                probe_media=args.probe,
            )
        except ManifestError as exc:
            print(f"error: {exc}", file=sys.stderr)
            failed = True
            continue
        reports.append(report)
        failed = failed or not report.ok
        if not args.json:
            for err in report.errors:
                print(err)
            print(report.summary(), file=sys.stderr if report.errors else sys.stdout)
    if args.json:
        print(json.dumps([r.to_dict() for r in reports], indent=2))
    return 1 if failed else 0


def run_convert(args: argparse.Namespace) -> int:
    from mmemo.data.converters import CONVERTERS, ConvertError, convert

    if args.list or not args.name:
        for name, fn in sorted(CONVERTERS.items()):
            doc = (fn.__doc__ or "").strip().splitlines()
            print(f"{name:12s} {doc[0] if doc else ''}")
        return 0 if args.list else 2
    if not args.src or not args.out:
        print(
            "error: give SRC and OUT, e.g. mmemo data convert ravdess ./RAVDESS out.jsonl",
            file=sys.stderr,
        )
        return 2
    try:
        report = convert(args.name, args.src, args.out, media_dir=args.media_dir)
    except ConvertError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(report.summary())
    _note_outside(args.out)
    for item, reason in report.skipped[:50]:
        print(f"skipped {item}: {reason}", file=sys.stderr)
    if len(report.skipped) > 50:
        print(f"... and {len(report.skipped) - 50} more skipped", file=sys.stderr)
    return 1 if report.skipped or report.rows_written == 0 else 0


def _note_outside(out: str) -> None:
    """Say so when the manifest names media outside its folder (absolute paths)."""
    from pathlib import Path

    from mmemo.data.manifest import MEDIA_KEYS, MEDIA_ROOTS_ENV

    try:
        with open(out, encoding="utf-8") as fh:
            for line in fh:
                row = json.loads(line)
                if any(Path(str(row.get(k, ""))).is_absolute() for k in MEDIA_KEYS if row.get(k)):
                    print(
                        f"note: {out} names media outside its folder (absolute paths); read it "
                        f"with --allow-outside, or list the corpus folder in {MEDIA_ROOTS_ENV}",
                        file=sys.stderr,
                    )
                    return
    except (OSError, ValueError):
        return
