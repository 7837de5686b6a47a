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
  2  usage error: no inputs, a bad option, a model that cannot be loaded, or an --out
     file written by another model or other settings

streaming and resume:
  Results are printed and written as they come. The clips of one speaker are predicted
  together (their voice is normalised per speaker) as soon as that speaker's files are
  measured: a manifest sorted by speaker keeps its order, an unsorted one comes out grouped
  by speaker. Re-running with the same --out FILE.jsonl skips the inputs already in it (it
  checks that the same model and settings wrote them, else it stops with an error) and says
  how many it resumed; a speaker cut by the interruption is run again whole, so the result
  equals an uninterrupted run. Failed inputs are not written, so a resumed run tries them
  again. A .csv --out is rewritten from scratch.

examples:
  mmemo predict clip.mp4
  mmemo predict clips/ --out predictions.jsonl --reason
  mmemo predict 'RAVDESS/**/*.flac' --speaker-from 'Actor_(\\d+)' --out preds.csv
  mmemo predict manifest.jsonl --model runs/cue_text/final --json
  mmemo predict clips/ --workers 4 --out preds.jsonl        # 4 processes; rerun to resume
  mmemo predict manifest.jsonl --engine ray --out preds.jsonl  # Ray Data (see mmemo.scale)
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
    p.add_argument(
        "--allow-outside",
        action="store_true",
        help="let a manifest name media outside its folder (absolute or ../ paths); refused "
        "by default unless under a folder listed in MMEMO_MEDIA_ROOTS",
    )
    p.add_argument("--no-face", action="store_true", help="do not use the face")
    p.add_argument("--no-voice", action="store_true", help="do not use the voice")
    p.add_argument("--no-text", action="store_true", help="do not use transcripts")
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="measure in N processes, one model each (results keep their order; default 1)",
    )
    p.add_argument(
        "--threads",
        type=int,
        metavar="N",
        help="torch threads in this process (default: torch's choice, one per core). On a "
        "machine busy with other jobs, 1 avoids oversubscription: MELD transcripts ran at "
        "128 rows/s with 1 thread against 37 rows/s with 2 (benchmarks/RESULTS.md)",
    )
    p.add_argument(
        "--engine",
        choices=("local", "ray"),
        default="local",
        help="'local' (this machine, --workers processes) or 'ray': Ray Data over the cluster "
        "that ray.init() finds (RAY_ADDRESS; --workers N = N predictor actors; needs the "
        "'ray' extra; default local)",
    )
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


_CSV_COLUMNS = ["id", "path", "emotion", "probability", "top", "valence", "arousal", "modalities"]


def _csv_row(pred) -> list[str]:
    return [
        pred.id,
        pred.path or "",
        pred.emotion,
        f"{pred.probabilities[pred.emotion]:.4f}",
        json.dumps([lab for lab, _ in pred.top]),
        "" if pred.valence is None else f"{pred.valence:.3f}",
        "" if pred.arousal is None else f"{pred.arousal:.3f}",
        "+".join(pred.modalities),
    ]


def _results(predictor, items, args, skip):
    if args.engine == "ray":
        from mmemo.scale import ray_stream

        concurrency = args.workers if args.workers > 1 else None
        return ray_stream(
            predictor, items, skip=skip, progress=not args.quiet, concurrency=concurrency
        )
    from mmemo.batch import stream

    return stream(predictor, items, skip=skip, workers=args.workers, progress=not args.quiet)


def run(args: argparse.Namespace) -> int:
    from mmemo.batch import ResumeError, read_done, record, run_identity
    from mmemo.data.inputs import expand_inputs
    from mmemo.predict import ModelLoadError, Predictor
    from mmemo.prediction import restrict_labels

    labels = [w.strip() for w in args.labels.split(",") if w.strip()] if args.labels else None
    if args.out and not args.out.endswith((".jsonl", ".csv")):
        print("error: --out must end with .jsonl or .csv", file=sys.stderr)
        return 2
    if args.workers < 1:
        print("error: --workers must be at least 1", file=sys.stderr)
        return 2
    if args.threads is not None:
        if args.threads < 1:
            print("error: --threads must be at least 1", file=sys.stderr)
            return 2
        import torch

        torch.set_num_threads(args.threads)
    if args.engine == "ray":
        from mmemo.scale import RayUnavailable, _ray

        try:
            _ray()
        except RayUnavailable as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    try:
        items, errors = expand_inputs(
            args.paths, args.speaker_from, args.transcript, allow_outside=args.allow_outside
        )
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
    run_id = run_identity(
        predictor, labels=labels, transcript=args.transcript, speaker_from=args.speaker_from
    )
    done: dict = {}
    resumed = 0
    if args.out and args.out.endswith(".jsonl"):
        try:
            done = read_done(args.out, run_id)
        except ResumeError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        ids = {it.id for it in items}
        resumed = sum(1 for i in done if i in ids)
        if done:
            print(f"resuming: {resumed} of {len(items)} inputs already in {args.out}",
                  file=sys.stderr)  # fmt: skip
    failed, written = len(errors), 0
    with contextlib.ExitStack() as stack:
        out = table = None
        if args.out and args.out.endswith(".jsonl"):
            out = stack.enter_context(open(args.out, "a", encoding="utf-8"))
        elif args.out:
            import csv

            fh = stack.enter_context(open(args.out, "w", newline="", encoding="utf-8"))
            table = csv.writer(fh)
            table.writerow(_CSV_COLUMNS)
        for item, result in _results(predictor, items, args, set(done)):
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
            if out is not None:
                out.write(json.dumps(record(result, run_id)) + "\n")
                out.flush()
            elif table is not None:
                table.writerow(_csv_row(result))
            written += 1
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
    if args.out:
        again = f" ({resumed} resumed, {written} new)" if resumed else ""
        print(f"wrote {written + resumed} predictions to {args.out}{again}", file=sys.stderr)
    if failed:
        print(f"{failed} input(s) failed, {written + resumed} predicted", file=sys.stderr)
    return 1 if failed else 0
