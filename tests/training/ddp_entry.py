"""Entry point for the two-process test: ``mmemo`` with rank 0's weight saving slowed down
(3 s per ``save_pretrained``), so a rank that read the next stage's input before rank 0
finished writing it would fail (the race real 135M+ weights showed), plus a group shaper
that records the gathered reward matrix each rank sees."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path


class GroupRecorder:
    """Shaper: appends ``{rank, rows, group_size, ids}`` to ``$MMEMO_TEST_RECORD``."""

    __name__ = "group_recorder"

    def __call__(self, rewards, names, *, group_size, trainer_state=None, **context):
        rank = int(os.environ.get("RANK", "0"))
        column = rewards[:, names.index("id_reward")].tolist()
        rec = {"rank": rank, "rows": rewards.shape[0], "group_size": group_size, "ids": column}
        with open(os.environ["MMEMO_TEST_RECORD"], "a") as f:
            f.write(json.dumps(rec) + "\n")


def get_group_recorder() -> GroupRecorder:
    return GroupRecorder()


def _slow_saves() -> None:
    from transformers import PreTrainedModel

    original = PreTrainedModel.save_pretrained

    def slow(self, save_directory, *args, **kwargs):
        if "checkpoint-" not in str(save_directory):
            time.sleep(3.0)
        result = original(self, save_directory, *args, **kwargs)
        Path(save_directory, "saved_by_rank").write_text(os.environ.get("RANK", "0"))
        return result

    PreTrainedModel.save_pretrained = slow


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    _slow_saves()
    from mmemo.cli import main

    sys.exit(main(sys.argv[1:]))
