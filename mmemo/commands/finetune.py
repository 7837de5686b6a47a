"""``mmemo finetune``: retrain the default heads on your own labelled manifest (CPU)."""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "finetune",
        help="retrain the default heads on your own labelled manifest (CPU, minutes)",
        description=(
            "Fit new voice/face/text classifiers on the 'emotion' labels of a manifest, on top "
            "of the default model's frozen feature extractors, score them on a held-out split "
            "(grouped by 'speaker' when the manifest names speakers) and save them. The result "
            "loads with 'mmemo predict --model OUT'. For fine-tuning a VLM, SpeechLLM or omni "
            "backbone, use the training recipes ('mmemo recipes ls', 'mmemo train')."
        ),
    )
    p.add_argument("--data", required=True, help="manifest .jsonl with an 'emotion' label per row")
    p.add_argument("--out", required=True, help="output folder for the new heads")
    p.add_argument("--base", default="default", help="heads whose feature extractors are reused")
    p.add_argument("--holdout", type=float, default=0.2, help="held-out fraction (default 0.2)")
    p.add_argument("--seed", type=int, default=0, help="seed of the held-out split")
    p.add_argument(
        "--allow-outside",
        action="store_true",
        help="let the manifest name media outside its folder (absolute or ../ paths); refused "
        "by default unless under a folder listed in MMEMO_MEDIA_ROOTS",
    )
    p.add_argument("--no-face", action="store_true")
    p.add_argument("--no-voice", action="store_true")
    p.add_argument("--no-text", action="store_true")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from mmemo.finetune import finetune

    mods = tuple(
        m for m, off in (("voice", args.no_voice), ("face", args.no_face), ("text", args.no_text))
        if not off
    )  # fmt: skip
    if not 0 < args.holdout < 1:
        print("error: --holdout must lie between 0 and 1", file=sys.stderr)
        return 2
    try:
        report = finetune(args.data, args.out, args.base, mods, args.holdout, args.seed,
                          progress=not args.quiet, allow_outside=args.allow_outside)  # fmt: skip
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for row, reason in report.failures:
        print(f"skipped {row}: {reason}", file=sys.stderr)
    print(report.summary())
    return 1 if report.failures else 0
