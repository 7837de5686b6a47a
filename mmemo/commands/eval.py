"""``mmemo eval``: score a model on a manifest (or a suite of them), with tables and plots."""

from __future__ import annotations

import argparse
import json
import sys

EPILOG = """\
examples:
  mmemo eval --data ravdess_test.jsonl --out runs/eval_ravdess
  mmemo eval --suite suite.yaml --out runs/suite            # one score per dataset + mean
  mmemo eval --model seed0/ --model seed1/ --model seed2/ --data test.jsonl   # mean +- std
  mmemo eval --model a/ --model b/ --select-on val.jsonl --data test.jsonl    # pick on val only

The discrete answer is the most probable label among the manifest's classes; the same numbers
come from:  mmemo predict DATA --labels L1,L2,... --out p.jsonl
            mmemo metrics cls DATA p.jsonl --column emotion
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "eval",
        help="evaluate a model on manifests: metric tables (markdown, JSON) and plots",
        description=(
            "Predict every row of a manifest and score it: accuracy (WAR), UAR, weighted and "
            "macro F1, calibration (ECE), confusion matrix and per-class recall, written to "
            "--out as metrics.md, metrics.json and PNG plots. Predictions are appended to "
            "--out/predictions.jsonl as they are made (with the true and the predicted label), so "
            "an interrupted run resumes and says how many it resumed; predictions that another "
            "model or other settings wrote there are an error, never reused."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--model", action="append", help="model(s): default, a folder, a hub id")
    p.add_argument("--data", help="manifest to evaluate on")
    p.add_argument("--suite", help="suite YAML: datasets: [{name, manifest, task}]")
    p.add_argument("--task", choices=("discrete", "sentiment"), default="discrete")
    p.add_argument("--labels", help="comma-separated label set (default: the manifest's)")
    p.add_argument(
        "--select-on", metavar="VAL", help="choose among --model on this validation manifest"
    )
    p.add_argument("--out", help="output folder (predictions, metrics, plots)")
    p.add_argument(
        "--allow-outside",
        action="store_true",
        help="let manifests name media outside their folder (absolute or ../ paths); refused "
        "by default unless under a folder listed in MMEMO_MEDIA_ROOTS",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--device", help="for a trained backbone: cuda, cuda:1 or cpu")
    p.add_argument(
        "--dtype",
        choices=["float32", "bfloat16", "float16"],
        help="for a trained backbone: weights dtype (default: the dtype it was trained in)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from mmemo.evaluate import evaluate, evaluate_suite, mean_std, select_checkpoint
    from mmemo.predict import ModelLoadError

    models = args.model or ["default"]
    if not args.data and not args.suite:
        print("error: give --data MANIFEST or --suite SUITE.yaml", file=sys.stderr)
        return 2
    labels = [w.strip() for w in args.labels.split(",")] if args.labels else None
    progress = not args.quiet
    try:
        if args.suite:
            res = evaluate_suite(models[0], args.suite, args.out, progress=progress,
                                 allow_outside=args.allow_outside)  # fmt: skip
            if args.json:
                print(json.dumps(res, indent=2))
            else:
                for name, score in res["scores"].items():
                    print(f"{name:<24}{score:.4f}")
                print(f"{'mean':<24}{res['mean']:.4f}")
            return 0
        if args.select_on:
            best, val = select_checkpoint(models, args.select_on, args.task, progress,
                                          allow_outside=args.allow_outside)  # fmt: skip
            for m, s in val.items():
                print(f"validation {m}: {s:.4f}{'  <- selected' if m == best else ''}")
            models = [best]
        results = []
        for i, model in enumerate(models):
            out = args.out
            if out and len(models) > 1:
                out = str(Path(out) / f"model{i}")
            if args.device or args.dtype:
                from mmemo.predict import Predictor

                model = Predictor.from_pretrained(model, device=args.device, dtype=args.dtype)
            results.append(evaluate(model, args.data, args.task, out, labels, progress,
                                    allow_outside=args.allow_outside))  # fmt: skip
    except ModelLoadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for res in results:
        for name, reason in res.failures[:20]:
            print(f"error: {name}: {reason}", file=sys.stderr)
        if args.json:
            print(json.dumps(res.to_dict(), indent=2))
        else:
            print(res.markdown())
    if len(results) > 1:
        mean, std = mean_std([r.score for r in results])
        print(f"{len(results)} models: {results[0].task} primary score {mean:.4f} +- {std:.4f}")
    if args.out:
        print(f"tables and plots in {args.out}", file=sys.stderr)
    return 1 if any(r.failed for r in results) else 0
