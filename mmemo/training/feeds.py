"""What each modality feeds the model, printed by ``mmemo train`` before every stage.

For all rows: how many prompts carry each part (image, video frames, audio, cue text,
transcript) and how many rows cannot be prompted. For the first row: the decoded details, as
the model will see them: frames with their times and spacing, the visual tokens of each
image/clip, audio seconds, the cue text. So a user sees before training that nothing is
dropped (e.g. a video-only row giving the Omni Thinker both frames and its audio track).
"""

from __future__ import annotations

from collections import Counter
from typing import Any


def _parts(messages: list[dict]) -> list[dict]:
    return [
        p
        for m in messages
        if m["role"] == "user" and not isinstance(m["content"], str)
        for p in m["content"]
    ]


def describe_feeds(backbone: Any, rows: list[dict], detail_rows: int = 1) -> str:
    """A few lines: per-modality counts over ``rows`` and the decoded first row(s)."""
    from mmemo.data.prompts import PromptError

    counts: Counter = Counter()
    failed = 0
    examples: list[tuple[dict, list[dict]]] = []
    for row in rows:
        try:
            msgs = backbone.messages(row)
        except PromptError:
            failed += 1
            continue
        parts = _parts(msgs)
        text = "".join(p.get("text", "") for p in parts if p.get("type") == "text")
        if not parts and msgs:  # a causal LM folds text into strings
            text = str(msgs[-1]["content"])
        kinds = {p["type"] for p in parts if p.get("type") != "text"}
        for k in kinds:
            counts[k] += 1
        counts["cue text"] += "Measured cues:" in text
        counts["transcript"] += "Transcript:" in text
        if len(examples) < detail_rows:
            examples.append((row, msgs))
    s = backbone.settings
    head = (
        f"-- feeds ({backbone.family}, inputs={s.inputs}, task={s.task}, think={s.think}): "
        + ", ".join(f"{k} in {counts[k]}/{len(rows)} rows" for k in _ORDER if counts[k])
    )
    lines = [head + (f"; {failed} rows cannot be prompted" if failed else "")]
    for row, msgs in examples:
        lines += _detail(backbone, row, msgs)
    return "\n".join(lines)


_ORDER = ("image", "video", "audio", "cue text", "transcript")


def _detail(backbone: Any, row: dict, msgs: list[dict]) -> list[str]:
    rid = row.get("id", "?")
    out = []
    try:
        mat = backbone.materialize(msgs)
    except Exception as exc:  # noqa: BLE001 - a preview must never stop training
        return [f"   row {rid}: media cannot be decoded ({exc})"]
    for part in _parts(mat):
        kind = part.get("type")
        if kind == "video":
            n, sp = len(part["video"]), part["seconds_per_frame"]
            times = ", ".join(f"{t:.2f}" for t in part.get("frame_times", []))
            h, w = part["video"].shape[1:3]
            out.append(
                f"   row {rid} video: {n} frames {w}x{h} at t = {times} s "
                f"(spacing {sp:.3f} s, {2 * sp:.3f} s per temporal patch)"
            )
        elif kind == "image":
            w, h = part["image"].size
            out.append(f"   row {rid} image: {w}x{h} px")
        elif kind == "audio":
            sec = len(part["audio"]) / backbone.sample_rate
            out.append(f"   row {rid} audio: {sec:.2f} s at {backbone.sample_rate} Hz")
    text = "".join(p.get("text", "") for p in _parts(mat) if p.get("type") == "text")
    if not text and mat:
        text = str(mat[-1]["content"])
    for line in text.splitlines():
        if line.startswith(("Measured cues:", "Transcript:")):
            out.append(f"   row {rid} text: {line[:200]}")
    if not backbone.spec.causal_lm:
        try:
            enc = backbone.encode([mat], add_generation_prompt=True)
            out.append(f"   row {rid} prompt: {int(enc['input_ids'].shape[1])} tokens")
        except Exception as exc:  # noqa: BLE001
            out.append(f"   row {rid}: the processor rejects this prompt ({exc})")
    return out
