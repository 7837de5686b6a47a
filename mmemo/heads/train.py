"""Train the default heads on real corpora and write their held-out metrics.

python -m mmemo.heads.train --data ../shared/data --out checkpoints/default [--only voice|face|text]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from mmemo.heads.bundle import HeadError
from mmemo.heads.face.train import train_face
from mmemo.heads.report import log
from mmemo.heads.voice.train import train_speech


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mmemo.heads.train",
        description="Train the default speech/face/text heads and write held-out metrics.",
    )
    parser.add_argument("--data", type=Path, required=True, help="folder with ravdess/, "
                        "ased/, emodb/, fer2013/, ckplus48/, meld/")  # fmt: skip
    parser.add_argument("--out", type=Path, default=Path("checkpoints/default"))
    parser.add_argument("--cache", type=Path, default=Path("/tmp/mmemo_cache"))
    parser.add_argument("--only", choices=("speech", "face", "text"), action="append")
    parser.add_argument("--threads", type=int, default=1, help="torch and BLAS CPU threads "
                        "(1 is fastest on a contended CPU: 2 threads spin-wait for each other)")  # fmt: skip
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        print(f"error: --data {args.data} is not a folder", file=sys.stderr)
        return 2
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(args.threads)
    threadpool_limits(args.threads)
    failed = 0
    results: dict[str, Any] = {}
    for head in args.only or ("speech", "face", "text"):
        log(f"=== {head} ===")
        try:
            if head == "speech":
                results[head] = train_speech(args.data, args.out, args.cache)
            elif head == "face":
                results[head] = train_face(args.data, args.out, args.cache, args.seed)
            else:
                from mmemo.heads.text.train import train_text

                results[head] = train_text(args.data, args.out, args.cache, args.seed)
        except (HeadError, OSError, ValueError, ImportError) as exc:
            log(f"{head} head failed: {exc}")
            failed += 1
    log(f"wrote {', '.join(results)} heads to {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
