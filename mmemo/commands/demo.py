"""``mmemo demo``: a local web page to try a model on sample clips or your own files."""

from __future__ import annotations

import argparse
import sys

EPILOG = """\
The page needs the optional 'demo' extra: pip install 'mmemo[demo]'.
It runs offline: no analytics, no CDN, no public share link. Stop it with Ctrl+C.

exit codes:
  0  the server was stopped
  2  usage error: Gradio missing, a model that cannot be loaded, or the port is taken

examples:
  mmemo demo                      # http://127.0.0.1:7860
  mmemo demo --port 8000 --model runs/heads
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "demo",
        help="serve a local web page that predicts emotions of sample or uploaded files",
        description=(
            "Serve a local web page: pick a generated sample clip or upload a video, audio or "
            "image file, and see the predicted emotions with probabilities, the rationale, the "
            "measured cues, the action-unit heatmap and the pitch/energy contours."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    p.add_argument(
        "--model",
        default="default",
        help="'default' (the shipped heads), a folder from 'mmemo finetune' or 'mmemo train', "
        "or a Hugging Face id already in the local cache (default: default)",
    )
    p.add_argument(
        "--samples-dir",
        metavar="DIR",
        help="write the sample clips here (default: a temporary folder)",
    )
    p.add_argument(
        "--max-upload-mb",
        type=float,
        default=200,
        metavar="MB",
        help="refuse uploads above this size (default 200); uploads are deleted once analysed",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from mmemo.demo import DemoUnavailable, serve
    from mmemo.predict import ModelLoadError

    if not 0 < args.port < 65536:
        print(f"error: --port must be 1-65535, got {args.port}", file=sys.stderr)
        return 2
    try:
        serve(args.host, args.port, args.model, args.samples_dir, block=True,
              max_upload_mb=args.max_upload_mb)  # fmt: skip
    except (DemoUnavailable, ModelLoadError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # e.g. the port is already in use
        print(f"error: cannot serve the page: {exc}", file=sys.stderr)
        return 2
    return 0
