"""``mmemo predict``: emotions from media files, offline."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys

EPILOG = """\
exit codes:
  0  every input was predicted
  1  at least one input failed (each failure is printed with its reason; all the
     others were still predicted and written)
  2  usage error: no inputs, a bad option, or a model that cannot be loaded

examples:
  mmemo predict clip.mp4
  mmemo predict clips/ --out predictions.jsonl --reason
  mmemo predict 'RAVDESS/**/*.flac' --speaker-from 'Actor_(\\d+)' --out preds.csv
  mmemo predict manifest.jsonl --model runs/cue_text/final --json
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "predict",
        help="predict emotions of media files (video, audio, image) and transcripts",
        description=(
            "Predict emotions from media files, folders (searched recursively), glob patterns "
            "or manifests. For each input: the top emotions with probabilities, their place on "
            "the emotion wheels, valence and arousal, the measured cues, a rationale grounded in "
            "those cues, and each modality's contribution. Runs offline on CPU with the default "
            "model shipped in mmemo, or with a checkpoint from 'mmemo train'."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="files, folders, globs, manifests")
    p.add_argument(
        "--model",
        default="default",
        help="'default' (the shipped heads), a folder from 'mmemo train' or 'mmemo finetune', "
        "or a Hugging Face id already in the local cache (default: default)",
    )
    p.add_argument("--out", help="write predictions to FILE.jsonl or FILE.csv")
    p.add_argument("--json", action="store_true", help="print one JSON object per input")
    p.add_argument("--reason", action="store_true", help="print the rationale and the cues")
    p.add_argument("--top", type=int, default=3, help="how many emotions to show (default 3)")
    p.add_argument(
        "--speaker-from",
        metavar="PATTERN",
        help="derive the speaker of each file: 'parent' (its folder) or a regex whose first "
        "group is the id; clips of one speaker are then normalised together",
    )
    p.add_argument("--transcript", help="transcript to use for inputs that have none")
    p.add_argument(
        "--labels",
        help="comma-separated closed label set (e.g. a corpus's classes): the answer is the most "
        "probable of these, predicted words mapped onto them through the taxonomy",
    )
    p.add_argument("--no-face", action="store_true", help="do not use the face")
    p.add_argument("--no-voice", action="store_true", help="do not use the voice")
    p.add_argument("--no-text", action="store_true", help="do not use transcripts")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--device",
        help="for a trained backbone: cuda, cuda:1 or cpu (default: the GPU when there is one)",
    )
    p.add_argument(
        "--dtype",
        choices=["float32", "bfloat16", "float16"],
        help="for a trained backbone: weights dtype (default: the dtype it was trained in)",
    )
    p.set_defaults(func=run)


def _write_csv(path: str, predictions: list) -> None:
    import csv

    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(
            ["id", "path", "emotion", "probability", "top", "valence", "arousal", "modalities"]
        )
        for pred in predictions:
            w.writerow(
                [
                    pred.id,
                    pred.path or "",
                    pred.emotion,
                    f"{pred.probabilities[pred.emotion]:.4f}",
                    json.dumps([lab for lab, _ in pred.top]),
                    "" if pred.valence is None else f"{pred.valence:.3f}",
                    "" if pred.arousal is None else f"{pred.arousal:.3f}",
                    "+".join(pred.modalities),
                ]
            )


def run(args: argparse.Namespace) -> int:
    from mmemo.data.inputs import expand_inputs
    from mmemo.predict import ModelLoadError, Predictor
    from mmemo.prediction import restrict_labels

    labels = [w.strip() for w in args.labels.split(",") if w.strip()] if args.labels else None
    if args.out and not args.out.endswith((".jsonl", ".csv")):
        print("error: --out must end with .jsonl or .csv", file=sys.stderr)
        return 2
    try:
        items, errors = expand_inputs(args.paths, args.speaker_from, args.transcript)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for spec, reason in errors:
        print(f"error: {spec}: {reason}", file=sys.stderr)
    if not items:
        print("error: nothing to predict", file=sys.stderr)
        return 1 if errors else 2
    modalities = {
        m for m, off in (("face", args.no_face), ("voice", args.no_voice), ("text", args.no_text))
        if not off
    }  # fmt: skip
    try:
        predictor = Predictor.from_pretrained(
            args.model, modalities=modalities, device=args.device, dtype=args.dtype
        )
    except ModelLoadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    predictions, failed = [], len(errors)
    with contextlib.ExitStack() as stack:
        out = None
        if args.out and args.out.endswith(".jsonl"):
            out = stack.enter_context(open(args.out, "w", encoding="utf-8"))
        for item, result in predictor.predict_items(items, progress=not args.quiet):
            if isinstance(result, str):
                failed += 1
                print(f"error: {item.name}: {result}", file=sys.stderr)
                continue
            if labels:
                closed = restrict_labels(result.probabilities, labels)
                if not closed:
                    failed += 1
                    print(f"error: {item.name}: no prediction maps onto --labels", file=sys.stderr)
                    continue
                result.probabilities = closed
                result.top = sorted(closed.items(), key=lambda kv: -kv[1])[:5]
                result.emotion = result.top[0][0]
            predictions.append(result)
            if out is not None:
                out.write(json.dumps(result.to_dict()) + "\n")
                out.flush()
            if args.json:
                print(json.dumps(result.to_dict()))
            else:
                result.top = result.top[: max(1, args.top)]
                print(result.summary())
                if args.reason:
                    print(f"  cues: {result.cues}")
                    print(f"  why:  {result.rationale}")
                    for note in result.warnings:
                        print(f"  note: {note}")
    if args.out and args.out.endswith(".csv"):
        _write_csv(args.out, predictions)
    if args.out:
        print(f"wrote {len(predictions)} predictions to {args.out}", file=sys.stderr)
    if failed:
        print(f"{failed} input(s) failed, {len(predictions)} predicted", file=sys.stderr)
    return 1 if failed else 0
