"""Golden path on real media: media -> encoders -> ``mmemo cues`` JSON and text -> every reward
of every recipe -> the GRPO reward matrix and its trust shaper.

The media are made on the spot (espeak-ng speech muxed with the astronaut face,
``tests/media_fixtures.py``); with ``../shared/data`` present a RAVDESS clip and a CK+48 image
are added. Completions are written from each file's own measured cues: grounded (the cue
description), contradicting (absent AUs, flipped levels, another emotion), denial spam and
malformed text.
"""

from __future__ import annotations

import json

import pytest

from mmemo.config import instantiate, load_config
from mmemo.encoders.contract import AU_NAMES, parse_cues
from mmemo.resources import recipes_dir

FLIP = {"high": "low", "low": "high", "normal": "high"}
# rewards that read the answer or the reasoning (format/length rewards may tie by design)
CONTENT = ("accuracy_reward", "cue_grounding_reward", "emotion_similarity_reward", "ew_f1_reward")
WORDS = {"pitch_level": "pitch", "energy_level": "energy", "speed_level": "speech rate"}


def _cues_json(path, capsys) -> dict:
    from mmemo.cli import main

    assert main(["cues", "--json", str(path)]) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    return json.loads(line)


def _completions(rec: dict, label: str) -> dict[str, str]:
    p = parse_cues(rec)
    absent = [a for a in AU_NAMES if p.measured and a in p.measured and a not in p.present]
    flipped = [f"{WORDS[d]} is {FLIP[v]}" for d, v in (p.voice or {}).items() if v and d in WORDS]
    wrong = ", ".join([*absent[:3], *flipped]) or "AU99"
    denials = ", ".join(f"no {a}" for a in [*AU_NAMES, "AU99"])
    other = "happy" if label != "happy" else "sad"
    return {
        "grounded": f"<think>{rec['description']}</think>\n<answer>{label}</answer>",
        "contradicting": f"<think>I see {wrong}.</think>\n<answer>{other}</answer>",
        "spam": f"<think>{denials}</think>\n<answer>sad, happy, angry, neutral</answer>",
        "malformed": f"{label} because {rec['description']}",
    }


def _records(media_dir, capsys, shared) -> list[tuple[dict, str]]:
    out = [(_cues_json(media_dir / "face_speech.mp4", capsys), "sad")]
    if shared is not None:
        rav = sorted((shared / "ravdess").glob("Actor_01/03-01-05-02-*.flac"))[0]
        ck = sorted((shared / "ckplus48" / "happy").glob("*.png"))[-1]
        out += [(_cues_json(rav, capsys), "angry"), (_cues_json(ck, capsys), "happy")]
    return out


@pytest.mark.parametrize("recipe", ["cue_text", "emotion_thinker", "facial_r1", "affectgpt_r1"])
def test_every_recipe_reward_on_measured_cues(recipe, media_dir, capsys):
    from tests.conftest import SHARED_DATA

    shared = SHARED_DATA if SHARED_DATA.is_dir() else None
    cfg = load_config(recipes_dir() / f"{recipe}.yaml")
    rewards = [
        (instantiate(n, drop=("weight",)), float(n.get("weight", 1.0))) for n in cfg["rewards"]
    ]
    for rec, label in _records(media_dir, capsys, shared):
        kinds = _completions(rec, label)
        texts = list(kinds.values())
        present = sorted(parse_cues(rec).present)
        for form in (rec, json.dumps(rec), rec["description"]):
            cols = {"emotion": [label] * 4, "emotions": [[label]] * 4, "aus": [present] * 4,
                    "cues": [form] * 4}  # fmt: skip
            totals = [0.0] * 4
            for reward, weight in rewards:
                values = reward(texts, **cols)
                assert getattr(reward, "n_errors", 0) == 0, (reward.__name__, reward.last_error)
                for i, v in enumerate(values):
                    totals[i] += weight * (v or 0.0)
                if reward.__name__ in CONTENT:  # each content reward on its own, too
                    assert values[0] > values[1] and values[0] > values[2], (
                        reward.__name__, rec["path"], values)  # fmt: skip
            total = dict(zip(kinds, totals))
            assert total["grounded"] > total["contradicting"], (recipe, rec["path"], total)
            assert total["grounded"] > total["spam"], (recipe, rec["path"], total)
            assert total["grounded"] > total["malformed"], (recipe, rec["path"], total)


def test_grpo_reward_matrix_and_trust_shaper_on_measured_cues(media_dir, capsys):
    """The emotion_thinker rewards fill the [N, K] matrix TRL gathers; the recipe's trust
    shaper reads the graded outcome column and rewrites the grounding column."""
    from mmemo.rewards.shapers import apply_shapers
    from mmemo.training.pipeline import build_rewards_and_shapers

    cfg = load_config(recipes_dir() / "emotion_thinker.yaml")
    rewards, shapers = build_rewards_and_shapers(cfg)
    rec = _cues_json(media_dir / "face_speech.mp4", capsys)
    kinds = _completions(rec, "sad")
    near_miss = kinds["grounded"].replace("<answer>sad</answer>", "<answer>disgusted</answer>")
    texts = [kinds["contradicting"].replace("happy", "sad"), kinds["malformed"], near_miss,
             kinds["grounded"]]  # fmt: skip
    cols = {"emotion": ["sad"] * 4, "cues": [rec] * 4}
    names = [r.__name__ for r, _ in rewards]
    matrix = [[None] * len(rewards) for _ in texts]
    for k, (reward, _) in enumerate(rewards):
        for i, v in enumerate(reward(texts, **cols)):
            matrix[i][k] = v
    g = names.index("cue_grounding_reward")
    assert matrix[3][g] == 1.0 and matrix[0][g] < 0  # grounded vs contradicting text
    shaped = apply_shapers(shapers, matrix, names, group_size=4,
                           trainer_state={"global_step": 100, "max_steps": 100})  # fmt: skip
    metrics = shapers[0].last_metrics
    assert metrics["gated"] == 0.0 and metrics["lambda"] == pytest.approx(0.3)
    # the near miss (disgusted for sad: 0.27) is judged, so the wrong rollouts' grounding enters mu_w
    assert metrics["mu_w"] > 0 and shaped[2][g] > 0


def test_emotion_thinker_sft_stage_gets_rationales_from_measured_cues(media_dir, capsys):
    """The recipe's SFT rows (``pipeline.sft_rows``, what ``run_stage`` hands ``SFTStage``):
    rows carrying only the ``mmemo cues`` output and a label get a rationale where the cues
    agree with the label, from the JSON and from the text form alike, and the recipe's own
    grounding reward scores it 1; without ``synthesis.enabled`` they get none."""
    from mmemo.data.synthesis import check_consistency
    from mmemo.rewards.grounding import CueGroundingReward
    from mmemo.training.pipeline import sft_rows
    from tests.conftest import SHARED_DATA

    shared = SHARED_DATA if SHARED_DATA.is_dir() else None
    cfg = load_config(recipes_dir() / "emotion_thinker.yaml")
    assert cfg["synthesis"]["enabled"]
    records = _records(media_dir, capsys, shared)
    rows = [{"id": f"{i}{form}", "emotion": label, "cues": rec if form == "json" else
             rec["description"]} for i, (rec, label) in enumerate(records)
            for form in ("json", "text")]  # fmt: skip
    out = sft_rows(cfg, rows)
    agree = [ok and bool(support) for ok, support, _ in
             (check_consistency(r["emotion"], r["cues"]) for r in rows)]  # fmt: skip
    for row, ok in zip(out, agree, strict=True):
        if not ok:
            continue
        assert row.get("reasoning_source") == "synthesis", row["id"]
        score = CueGroundingReward()([f"<think>{row['reasoning']}</think>"], cues=[row["cues"]])
        assert score == [1.0], (row["id"], row["reasoning"])
    if shared is not None:  # the RAVDESS angry clip and the CK+ happy face agree with their labels
        assert sum(r.get("reasoning_source") == "synthesis" for r in out) >= 2
    off = {**cfg, "synthesis": {"enabled": False}}
    assert not any(r.get("reasoning") for r in sft_rows(off, rows))
