"""Throughput of every mmemo reward and of the EW metric, single process, CPU.

Run:  python benchmarks/bench_rewards.py [--n 10000] [--batch 64]

Builds ``n`` realistic synthetic completions (a think span citing AUs, prosody and an
affective tree; an answer with 1–4 emotion words; ~10 % malformed), scores them in batches
of ``batch`` (TRL calls rewards once per generation batch) and prints completions/s and
µs/completion for each reward, plus ``mmemo.metrics.ew_sample_f1`` called directly and the
dataset-level ``ew_score``. Targets: EW per-sample reward ≥ 50 000 completions/s; no reward
slower than 1 ms per completion on average. The best of ``--repeats`` runs is reported (the
machine is shared). Nothing is downloaded; the judge is the offline ``CueJudge``.
"""

from __future__ import annotations

import argparse
import random
import time

from mmemo.rewards.grounding import CueGroundingReward
from mmemo.rewards.length import (
    CosineLengthReward,
    KimiLengthReward,
    LengthBandReward,
    RepetitionReward,
    SoftOverlongReward,
)
from mmemo.rewards.outcome import (
    AccuracyReward,
    AUF1Reward,
    CaptionOverlapReward,
    EWF1Reward,
    FormatReward,
    LabelCountPenalty,
    answer_words,
)
from mmemo.rewards.reasoning import JudgeReward
from mmemo.rewards.tree import AffectTreeReward

WORDS = [
    "happy", "joyful", "content", "relieved", "grateful", "excited", "amused", "proud",
    "sad", "lonely", "disappointed", "hurt", "angry", "annoyed", "frustrated", "furious",
    "afraid", "nervous", "anxious", "worried", "surprised", "amazed", "confused",
    "disgusted", "embarrassed", "ashamed", "calm", "bored", "tired", "hopeful",
]  # fmt: skip
AUS = ["AU1", "AU2", "AU4", "AU5", "AU6", "AU7", "AU9", "AU10", "AU12", "AU15", "AU17", "AU25"]
PHRASES = [
    "the cheeks are raised", "lip corners pulled up", "brows furrowed", "a slight smile",
    "nose wrinkled", "lips pressed together", "pitch is high", "speaks slowly",
    "a rising intonation", "quiet voice", "loud and fast speech", "mouth open",
]  # fmt: skip
LEVELS = ["low", "normal", "high"]


def make_samples(n: int, seed: int = 0) -> tuple[list[str], dict[str, list]]:
    rng = random.Random(seed)
    texts, cols = (
        [],
        {k: [] for k in ("emotion", "emotions", "aus", "cues", "affect_tree", "caption")},
    )
    for _ in range(n):
        gt = rng.sample(WORDS, rng.randint(1, 3))
        pred = rng.sample(WORDS, rng.randint(1, 4))
        aus_gt = rng.sample(AUS, rng.randint(1, 4))
        aus_pred = rng.sample(AUS, rng.randint(0, 4))
        phrases = rng.sample(PHRASES, rng.randint(1, 4))
        emo = pred[0]
        think = (
            f"Looking at the face, {', '.join(phrases)}; I see {' and '.join(aus_pred) or 'no clear AU'}. "
            f"Attribute: mouth\n  Expression: {rng.choice(['smile', 'frown', 'open'])}\n"
            f"    Emotion: {emo}\n"
            f"The voice and words together suggest the speaker feels {emo}. " * rng.randint(1, 3)
        )
        text = f"<think>{think}</think>\n<answer>{', '.join(pred)}</answer>"
        if rng.random() < 0.1:  # malformed tail: unclosed answer, missing think, etc.
            text = rng.choice([text[: len(text) // 2], f"<answer>{emo}", think, ""])
        texts.append(text)
        cols["emotion"].append(gt[0])
        cols["emotions"].append(gt)
        cols["aus"].append(aus_gt)
        cols["cues"].append(
            {
                "aus": {au: round(rng.uniform(0, 5), 1) for au in AUS},
                "pitch_level": rng.choice(LEVELS),
                "energy_level": rng.choice(LEVELS),
                "speed_level": rng.choice(LEVELS),
                "intonation": rng.choice(["rising", "falling", "flat"]),
            }
        )
        cols["affect_tree"].append(
            {"label": "root", "children": [{"label": "mouth", "children": [
                {"label": "smile", "children": [{"label": gt[0], "children": []}]}]}]}
        )  # fmt: skip
        cols["caption"].append(f"a person who looks {gt[0]} and speaks")
    return texts, cols


def rewards() -> list:
    return [
        FormatReward(),
        AccuracyReward(),
        EWF1Reward(),
        EWF1Reward(oov="penalise"),
        LabelCountPenalty(),
        AUF1Reward(),
        CaptionOverlapReward(),
        SoftOverlongReward(max_len=256),
        CosineLengthReward(max_len=1000),
        KimiLengthReward(group_size=8),
        RepetitionReward(),
        LengthBandReward(lo=20, hi=200),
        CueGroundingReward(),
        JudgeReward(),
        AffectTreeReward(),
    ]


def bench(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    texts, cols = make_samples(args.n)
    ids = [[hash(w) % 50_000 for w in t.split()] for t in texts]
    batches = [
        (texts[i : i + args.batch], ids[i : i + args.batch],
         {k: v[i : i + args.batch] for k, v in cols.items()})
        for i in range(0, args.n, args.batch)
    ]  # fmt: skip
    print(f"{args.n} completions, batches of {args.batch}, best of {args.repeats}")
    print(f"{'reward':32} {'completions/s':>14} {'us/completion':>14}")
    for reward in rewards():
        label = reward.__name__ + ("[penalise]" if getattr(reward, "oov", "") == "penalise" else "")
        reward(*batches[0][:1], completion_ids=batches[0][1], **batches[0][2])  # warm caches

        def run(reward=reward):
            for b_texts, b_ids, b_cols in batches:
                reward(b_texts, completion_ids=b_ids, **b_cols)

        seconds = bench(run, args.repeats)
        print(f"{label:32} {args.n / seconds:14,.0f} {seconds / args.n * 1e6:14.1f}")
        if reward.n_errors:
            print(f"  !! {reward.n_errors} errors, first: {reward.last_error}")

    from mmemo.metrics import ew_sample_f1, ew_score
    from mmemo.rewards.parsing import split_think_answer
    from mmemo.taxonomy import load_wheels

    wheels = load_wheels()
    preds = [answer_words(split_think_answer(t)[1]) for t in texts]
    gts = cols["emotions"]

    def run_metric():
        for gt, pred in zip(gts, preds):
            ew_sample_f1(gt, pred, wheels=wheels)

    seconds = bench(run_metric, args.repeats)
    print(f"{'metric ew_sample_f1':32} {args.n / seconds:14,.0f} {seconds / args.n * 1e6:14.1f}")
    seconds = bench(lambda: ew_score(gts, preds, wheels=wheels), args.repeats)
    print(
        f"{'metric ew_score (dataset)':32} {args.n / seconds:14,.0f} {seconds / args.n * 1e6:14.1f}"
    )


if __name__ == "__main__":
    main()
