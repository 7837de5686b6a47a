"""Fit a temperature per head on held-out predictions and write it into the head's JSON.

python -m mmemo.heads.calibrate --data ../shared/data --heads checkpoints/default [--only ...]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from mmemo.heads.calibration import write_temperature
from mmemo.heads.face.calibrate import calibrate_face
from mmemo.heads.report import log
from mmemo.heads.text.calibrate import calibrate_text
from mmemo.heads.voice.calibrate import calibrate_speech

CALIBRATORS = {"speech": calibrate_speech, "face": calibrate_face, "text": calibrate_text}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mmemo.heads.calibrate",
        description="Fit a temperature per head on held-out predictions; write it to the JSON.",
    )
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--heads", type=Path, default=Path("checkpoints/default"))
    parser.add_argument("--cache", type=Path, default=Path("/tmp/mmemo_cache"))
    parser.add_argument("--only", choices=tuple(CALIBRATORS), action="append")
    parser.add_argument("--dry-run", action="store_true", help="print, do not write")
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        print(f"error: --data {args.data} is not a folder", file=sys.stderr)
        return 2
    import torch

    torch.set_num_threads(1)
    failed = 0
    for name in args.only or tuple(CALIBRATORS):
        try:
            result = CALIBRATORS[name](args.data, args.heads, args.cache)
        except (OSError, ValueError, KeyError, ImportError) as exc:
            log(f"{name}: calibration failed: {exc}")
            failed += 1
            continue
        log(f"{name}: {json.dumps(result)}")
        if not args.dry_run:
            log(f"wrote {write_temperature(args.heads, name, result)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
