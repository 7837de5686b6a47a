"""``mmemo predict``: emotions from media files, offline."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys

EPILOG = """\
exit codes:
  0  every input was predicted
  1  at least one input failed (each failure is printed with its reason and, with
     --out, written as a record with status "error"; all the others were predicted)
  2  usage error: no inputs, a bad option, a model that cannot be loaded, or an --out
     file written by another model or other settings

streaming and resume:
  Results are printed and written as they come. The clips of one speaker are predicted
  together (their voice is normalised per speaker) as soon as that speaker's files are
  measured: a manifest sorted by speaker keeps its order, an unsorted one comes out grouped
  by speaker. Re-running with the same --out FILE.jsonl skips the inputs already in it (it
  checks that the same model and settings wrote them, else it stops with an error) and says
  how many it resumed; a speaker cut by the interruption is run again whole, so the result
  equals an uninterrupted run. Failed inputs are written with status "error" and tried again by a resumed run.
  A .csv --out (and --timeline) is rewritten from scratch.

examples:
  mmemo predict clip.mp4
  mmemo predict clips/ --out predictions.jsonl --reason
  mmemo predict 'RAVDESS/**/*.flac' --speaker-from 'Actor_(\\d+)' --out preds.csv
  mmemo predict manifest.jsonl --model runs/cue_text/final --json
  mmemo predict clips/ --workers 4 --out preds.jsonl        # 4 processes; rerun to resume
  mmemo predict manifest.jsonl --engine ray --out preds.jsonl  # Ray Data (see mmemo.scale)
  mmemo predict talk.mp4 --timeline --asr --out talk.csv --plot plots/
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
    p.add_argument(
        "--out",
        help="write one record per input to FILE.jsonl or FILE.csv: predicted ones with "
        "status 'ok', the emotion, per-class probabilities (CSV columns p_LABEL), valence and "
        "arousal (probability-weighted circumplex coordinates of the labels); failed ones with "
        "status 'error' and the reason. 'mmemo metrics cls GT PRED --column emotion' reads it",
    )
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
        help="measure in N processes, one model each, at most one per core (results keep "
        "their order; default 1)",
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
    p.add_argument(
        "--device",
        help="for a trained backbone: cuda, cuda:1 or cpu (default: the GPU when there is one)",
    )
    p.add_argument(
        "--dtype",
        choices=["float32", "bfloat16", "float16"],
        help="for a trained backbone: weights dtype (default: the dtype it was trained in)",
    )
    p.add_argument(
        "--timeline",
        action="store_true",
        help="split each file into segments (speech turns from an energy voice-activity "
        "detector; fixed windows for video without speech) and predict each; the file's answer "
        "is the duration-weighted mean of the segments. --out gets one row per segment "
        "(start, end) plus the file's row (segment 'all')",
    )
    p.add_argument(
        "--window", type=float, default=5.0, help="fixed window length in seconds (default 5)"
    )
    p.add_argument(
        "--plot",
        metavar="DIR",
        help="with --timeline: write DIR/NAME.timeline.png (emotion probabilities, valence/"
        "arousal, AU heatmap and pitch on one time axis)",
    )
    p.add_argument(
        "--asr",
        nargs="?",
        const="pocketsphinx",
        metavar="PATH_OR_ID",
        help="transcribe speech for the text head where no transcript is given: bare --asr "
        "uses pocketsphinx (the asr extra, English, offline); or name a local Whisper folder or "
        "a cached Hugging Face id. Given transcripts are never replaced",
    )
    p.add_argument("--language", help="language of the speech for Whisper (e.g. en, de)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--verbose",
        action="store_true",
        help="let third-party logs and warnings through (MediaPipe, TF Lite, absl, protobuf, "
        "transformers); by default they are silenced",
    )
    p.set_defaults(func=run)


def _results(predictor, items, args, skip):
    progress = not args.quiet and len(items) > 1  # no bar for a single file
    if args.engine == "ray":
        from mmemo.scale import ray_stream

        concurrency = args.workers if args.workers > 1 else None
        return ray_stream(predictor, items, skip=skip, progress=progress, concurrency=concurrency)
    from mmemo.batch import stream

    return stream(predictor, items, skip=skip, workers=args.workers, progress=progress)


def run(args: argparse.Namespace) -> int:
    from mmemo.batch import ResumeError, read_done, run_identity
    from mmemo.data.inputs import expand_inputs
    from mmemo.predict import ModelLoadError, Predictor
    from mmemo.prediction import Prediction

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
    if args.plot and not args.timeline:
        print("error: --plot draws a timeline: add --timeline", file=sys.stderr)
        return 2
    if args.window <= 0:
        print("error: --window must be positive", file=sys.stderr)
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
        predictor.verbose = args.verbose
        if args.asr:
            predictor.use_asr(args.asr, args.language)
            if predictor.asr_note:
                print(f"note: {predictor.asr_note}", file=sys.stderr)
    except ModelLoadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from mmemo.batch import RUN_KEY
    from mmemo.predict_output import RecordWriter, error_record, label_columns, ok_record

    run_id = run_identity(
        predictor, labels=labels, transcript=args.transcript, speaker_from=args.speaker_from,
        asr=args.asr,
    )  # fmt: skip
    done: dict = {}
    resumed = 0
    resume = bool(args.out and args.out.endswith(".jsonl") and not args.timeline)
    if resume:
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
    n_ok, failed = 0, len(errors)
    with contextlib.ExitStack() as stack:
        out = None
        if args.out:
            extra = ("segment", "start", "end", "source") if args.timeline else ()
            classes = label_columns(labels, predictor)
            out = stack.enter_context(RecordWriter(args.out, classes, extra, append=resume))
            for spec, reason in errors:  # every input gets its record, failed ones too
                out.write({**error_record(spec, spec, reason), RUN_KEY: run_id})
        if args.timeline:
            from mmemo.commands.predict_timeline import run_timelines

            n_ok, n_bad = run_timelines(predictor, items, args, out)
            failed += n_bad
            items = []
        for item, result in _results(predictor, items, args, set(done)):
            if isinstance(result, Prediction) and labels:
                result = _restrict(result, labels)
            if not isinstance(result, Prediction):
                failed += 1
                print(f"error: {item.name}: {result}", file=sys.stderr)
                if out is not None:
                    out.write({**error_record(item.id, item.path, str(result)), RUN_KEY: run_id})
                continue
            n_ok += 1
            rec = {**ok_record(result, item.transcript), RUN_KEY: run_id}
            if out is not None:
                out.write(rec)
            if args.json:
                print(json.dumps(rec))
            else:
                result.top = result.top[: max(1, args.top)]
                print(result.summary())
                if args.reason:
                    print(f"  cues: {result.cues}")
                    print(f"  why:  {result.rationale}")
                    for note in result.warnings:
                        print(f"  note: {note}")
    if out is not None:
        n_rec = out.count["ok"] + out.count["error"]
        what = "inputs" if args.timeline else "predicted"
        print(f"wrote {n_rec} records to {args.out} ({n_ok} {what}, {failed} failed)",
              file=sys.stderr)  # fmt: skip
        if resumed:
            print(f"({resumed} resumed, {n_ok + failed} new)", file=sys.stderr)
    if failed:
        print(f"{failed} input(s) failed, {n_ok + resumed} predicted", file=sys.stderr)
    return 1 if failed else 0


def _restrict(result, labels: list[str]):
    """The prediction over the closed label set, or the reason it has none."""
    from mmemo.prediction import restrict_labels

    closed = restrict_labels(result.probabilities, labels)
    if not closed:
        return "no prediction maps onto --labels"
    result.probabilities = closed
    result.top = sorted(closed.items(), key=lambda kv: -kv[1])[:5]
    result.emotion = result.top[0][0]
    return result
