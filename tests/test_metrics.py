"""Golden-value tests for mmemo.metrics (docs/metrics.md, docs/rewards.md 3-4).

Expected values are derived by hand in the comments from the formulas, never copied from a run.
"""

from __future__ import annotations

import random
import subprocess
import sys
from fractions import Fraction as Fr
from pathlib import Path

import pytest

from mmemo.metrics import (
    accuracy,
    au_f1,
    au_set_f1,
    confusion_matrix,
    ew_sample_f1,
    ew_score,
    hit_rate,
    macro_f1,
    normalise_au,
    reasoning_consistency,
    sentiment_waf,
    war_uar,
    weighted_f1,
)
from mmemo.taxonomy import load_wheels
from tests.taxonomy.ref_tables import write_worked_example


@pytest.fixture(scope="module")
def worked(tmp_path_factory: pytest.TempPathFactory):
    return load_wheels(write_worked_example(tmp_path_factory.mktemp("ref")))


# --- EW, parity -------------------------------------------------------------------------------
def test_worked_example_four_of_five_wheels(worked):
    res = ew_score([["happy", "relieved"]], [["joyful", "grateful", "nervous"]], wheels=worked)
    pr = [(w["ps"], w["rs"]) for w in res["per_wheel"]]
    assert pr[:4] == [(0.5, 1.0)] * 4
    # wheel 5 splits happy/relieved into joyful/peaceful: P = 2/3, R = 1
    assert pr[4] == pytest.approx((2 / 3, 1.0))


def test_ew_parity_golden_with_all_edge_cases(worked):
    gt = [
        ["happy", "relieved"],  # s1: wheels 1-4 P 1/2 R 1; wheel 5 P 2/3 R 1
        ["neutral"],  # s2: neutral is OOV -> skipped in every wheel
        ["sad"],  # s3: empty prediction -> P = R = 0
        ["happy"],  # s4: unknown predicted word dropped; glad -> happy: P = R = 1
        ["nervousness"],  # s5: "worried" has no format row (OOV) -> empty P -> 0, 0
        ["calm"],  # s6: calm is on wheel 5 only -> skipped in wheels 1-4; wheel 5 P = R = 1
    ]
    pred = [
        ["joyful", "grateful", "nervous"],
        ["neutral"],
        [],
        ["blorfish", "glad"],
        ["worried"],
        ["relieved"],
    ]
    res = ew_score(gt, pred, wheels=worked)
    # wheels 1-4: samples s1, s3, s4, s5
    p14, r14 = Fr(1, 4) * (Fr(1, 2) + 0 + 1 + 0), Fr(1, 4) * (1 + 0 + 1 + 0)
    f14 = 2 * p14 * r14 / (p14 + r14)
    # wheel 5: samples s1, s3, s4, s5, s6
    p5, r5 = Fr(1, 5) * (Fr(2, 3) + 0 + 1 + 0 + 1), Fr(1, 5) * (1 + 0 + 1 + 0 + 1)
    f5 = 2 * p5 * r5 / (p5 + r5)
    assert res["n_samples"] == {"wheel1": 4, "wheel2": 4, "wheel3": 4, "wheel4": 4, "wheel5": 5}
    for w in res["per_wheel"][:4]:
        assert (w["ps"], w["rs"], w["fs"]) == pytest.approx((float(p14), float(r14), float(f14)))
    w5 = res["per_wheel"][4]
    assert (w5["ps"], w5["rs"], w5["fs"]) == pytest.approx((float(p5), float(r5), float(f5)))
    assert res["fs"] == pytest.approx(float((4 * f14 + f5) / 5), abs=1e-12)
    assert res["ps"] == pytest.approx(float((4 * p14 + p5) / 5), abs=1e-12)
    assert res["rs"] == pytest.approx(float((4 * r14 + r5) / 5), abs=1e-12)
    # F is the harmonic mean of averaged P and R, NOT the mean of per-sample F
    per_sample_f = (Fr(2, 3) + 0 + 1 + 0) / 4
    assert res["per_wheel"][0]["fs"] != pytest.approx(float(per_sample_f))


def test_ew_no_ground_truth_and_all_skipped(worked):
    res = ew_score([["neutral"], []], [["happy"], ["sad"]], wheels=worked)
    assert res["fs"] == res["ps"] == res["rs"] == 0.0
    assert set(res["n_samples"].values()) == {0}
    assert ew_score([], [], wheels=worked)["fs"] == 0.0


def test_ew_accepts_list_strings_and_checks_lengths(worked):
    a = ew_score(["[happy, 'relieved']"], ["['joyful', grateful, nervous]"], wheels=worked)
    b = ew_score([["happy", "relieved"]], [["joyful", "grateful", "nervous"]], wheels=worked)
    assert a["fs"] == b["fs"]
    with pytest.raises(ValueError, match="samples"):
        ew_score([["happy"]], [], wheels=worked)
    with pytest.raises(ValueError, match="mode"):
        ew_score([["happy"]], [["happy"]], wheels=worked, mode="lenient")


def test_ew_level2(worked):
    # level2: happy -> happy, joyful -> happy, relieved -> happy (wheels 1-4), grateful ->
    # thankful, nervous -> nervous; G = {happy}, P = {happy, thankful, nervous}: P 1/3, R 1
    res = ew_score(
        [["happy", "relieved"]], [["joyful", "grateful", "nervous"]], wheels=worked, level="level2"
    )
    assert res["per_wheel"][0]["ps"] == pytest.approx(1 / 3)
    assert res["per_wheel"][0]["rs"] == 1.0


# --- EW, strict -------------------------------------------------------------------------------
def test_ew_strict_golden_builtin():
    gt = [["happy"], ["neutral"], ["sad", "zzword"], ["zzword"]]
    pred = [["happy", "blorf"], ["neutral"], ["sad"], ["happy"]]
    res = ew_score(gt, pred, mode="strict")
    # s1: |P| = 1 mapped + 1 unmapped -> P 1/2, R 1;  s2: neutral cluster -> 1, 1
    # s3: |G| = 1 mapped + 1 unmapped -> P 1, R 1/2;  s4: GT maps nowhere -> not in common set
    assert res["n_common"] == 3
    for w in res["per_wheel"]:
        assert (w["ps"], w["rs"]) == pytest.approx((5 / 6, 5 / 6))
        assert w["n_samples"] == 3
    assert res["fs"] == pytest.approx(5 / 6)
    assert res["sample_f1"] == pytest.approx((2 / 3 + 1 + 2 / 3) / 3)
    # parity on the same data: unknown words and neutral are free
    par = ew_score(gt, pred, mode="parity")
    assert par["fs"] == pytest.approx(1.0)
    assert set(par["n_samples"].values()) == {2}


# --- per-sample EW F1 (the reward's formula) ---------------------------------------------------
def test_ew_sample_f1_golden(worked):
    v = ew_sample_f1(["happy", "relieved"], ["joyful", "grateful", "nervous"], wheels=worked)
    # wheels 1-4: G = {joy}, P = {joy, fear}: 2*1/(2+1) = 2/3; wheel 5: 2*2/(3+2) = 4/5
    assert v == pytest.approx((4 * 2 / 3 + 4 / 5) / 5)
    assert ew_sample_f1(["neutral"], ["happy"], wheels=worked) is None
    assert ew_sample_f1(["happy"], [], wheels=worked) == 0.0
    assert ew_sample_f1(["calm"], ["relieved"], wheels=worked) == 1.0  # wheels 1-4 skipped
    assert ew_sample_f1(["happy"], ["joyful", "blorf"], wheels=worked) == 1.0
    pen = ew_sample_f1(["happy"], ["joyful", "blorf", "Blorf "], wheels=worked, oov="penalise")
    assert pen == pytest.approx(2 / 3)  # one distinct unknown word: 2*1/(2+1)
    assert ew_sample_f1("[happy]", "<answer>glad</answer>", wheels=worked) == 1.0
    with pytest.raises(ValueError, match="oov"):
        ew_sample_f1(["happy"], ["happy"], wheels=worked, oov="ignore")


def test_ew_sample_f1_builtin_defaults():
    assert ew_sample_f1(["happy"], ["joyful"]) == 1.0
    assert ew_sample_f1(["happy"], ["not happy"]) == 0.0  # negated prediction maps to nothing
    assert ew_sample_f1(["neutral"], ["neutral"]) is None  # parity: neutral dropped
    wheels = load_wheels(neutral="cluster")
    assert ew_sample_f1(["neutral"], ["neutral"], wheels=wheels) == 1.0


def test_single_sample_dataset_equals_sample_f1(worked):
    rng = random.Random(3)
    words = ["happy", "glad", "sad", "relieved", "nervous", "calm", "grateful", "x"]
    for _ in range(50):
        g = rng.sample(words, rng.randint(1, 3))
        p = rng.sample(words, rng.randint(1, 3))
        s = ew_sample_f1(g, p, wheels=worked)
        res = ew_score([g], [p], wheels=worked)
        kept = [w["fs"] for w in res["per_wheel"] if w["n_samples"]]
        if s is None:
            assert not kept
        else:
            assert s == pytest.approx(sum(kept) / len(kept))


# --- hit rate ----------------------------------------------------------------------------------
def test_hit_rate_golden(worked):
    res = hit_rate(
        ["happy", "sad", "neutral", "calm"],
        [["glad", "nervous"], ["happy"], ["sad"], ["relieved"]],
        wheels=worked,
        candidates=["happy", "sad", "nervous"],
    )
    # wheels 1-4: s1 hit (mscore 1/2), s2 miss, s3 neutral and s4 calm skipped -> 1/2, 1/4
    # wheel 5: s1 hit (1/2), s2 miss, s4 hit with no candidate in P (mscore 0) -> 2/3, 1/6
    assert res["hit_rate"] == pytest.approx((4 * 0.5 + 2 / 3) / 5)
    assert res["mscore"] == pytest.approx((4 * 0.25 + 1 / 6) / 5)
    assert res["mean_pred_labels"] == 1.25
    assert [w["n_samples"] for w in res["per_wheel"]] == [2, 2, 2, 2, 3]


# --- one-hot metrics vs scikit-learn ------------------------------------------------------------
def test_classification_golden():
    gt = ["a", "a", "b", "b", "c"]
    pred = ["a", "b", "b", "b", "a"]
    assert accuracy(gt, pred) == 0.6
    wu = war_uar(gt, pred)
    assert wu["war"] == 0.6
    assert wu["uar"] == pytest.approx((0.5 + 1 + 0) / 3)
    m, labs = confusion_matrix(gt, pred)
    assert labs == ["a", "b", "c"]
    assert m == [[1, 1, 0], [0, 2, 0], [1, 0, 0]]
    # F1: a: P 1/2 R 1/2 -> 1/2; b: P 2/3 R 1 -> 4/5; c: 0
    assert macro_f1(gt, pred) == pytest.approx((0.5 + 0.8 + 0) / 3)
    assert weighted_f1(gt, pred) == pytest.approx((0.5 * 2 + 0.8 * 2 + 0) / 5)
    assert accuracy([], []) == 0.0


@pytest.mark.parametrize("seed", range(8))
def test_classification_matches_sklearn(seed):
    from sklearn import metrics as skm

    rng = random.Random(seed)
    labels = ["angry", "happy", "sad", "neutral", "fear"][: rng.randint(2, 5)]
    n = rng.randint(1, 60)
    gt = [rng.choice(labels) for _ in range(n)]
    pred = [rng.choice(labels + ["surprise"]) for _ in range(n)]
    assert accuracy(gt, pred) == pytest.approx(skm.accuracy_score(gt, pred))
    assert weighted_f1(gt, pred) == pytest.approx(
        skm.f1_score(gt, pred, average="weighted", zero_division=0)
    )
    assert macro_f1(gt, pred) == pytest.approx(
        skm.f1_score(gt, pred, average="macro", zero_division=0)
    )
    present = sorted(set(gt))
    assert war_uar(gt, pred)["uar"] == pytest.approx(
        skm.recall_score(gt, pred, labels=present, average="macro", zero_division=0)
    )
    m, labs = confusion_matrix(gt, pred)
    assert m == skm.confusion_matrix(gt, pred, labels=labs).tolist()


def test_sentiment_waf_golden():
    from sklearn.metrics import f1_score

    res = sentiment_waf([1, -1, 0, 2, -0.5], [0.5, 0, 1, -1, -2])
    # kept pairs (gt>0, pred>0): (T,T) (F,F) (T,F) (F,F); neutral prediction counts as negative
    assert res["n"] == 4
    assert res["accuracy"] == 0.75
    assert res["waf"] == pytest.approx((0.8 * 2 + 2 / 3 * 2) / 4)
    g, p = [True, False, True, False], [True, False, False, False]
    assert res["waf"] == pytest.approx(f1_score(g, p, average="weighted"))


# --- AUs ---------------------------------------------------------------------------------------
def test_au_set_f1_golden():
    assert normalise_au("AU04") == "AU4" and normalise_au(" au 12 ") == "AU12"
    assert au_set_f1({"AU4", "AU12", "AU6"}, {"AU04", "AU12"}) == pytest.approx(0.8)
    assert au_set_f1({"AU4", "AU12", "AU6"}, {"AU04", "AU12"}, normalise_ids=False) == (
        pytest.approx(0.4)
    )
    assert au_set_f1({"AU4", "AU12", "AU6"}, {"AU4", "AU12"}, beta=2.0) == pytest.approx(10 / 11)
    assert au_set_f1({"AU1"}, set()) == 0.0
    assert au_set_f1(set(), {"AU1"}) == 0.0
    assert au_set_f1({"AU1", "AU2"}, {"AU2", "AU1"}) == 1.0
    assert au_set_f1({"AU9"}, {"AU1"}) == 0.0


def test_au_f1_golden_and_sklearn():
    from sklearn.metrics import f1_score

    gt = [{"AU1", "AU2"}, {"AU01"}, {"AU12"}]
    pred = [{"AU1"}, {"AU1", "AU12"}, set()]
    res = au_f1(gt, pred)
    assert res["aus"] == ["AU1", "AU2", "AU12"]
    assert res["per_au"] == {"AU1": 1.0, "AU2": 0.0, "AU12": 0.0}
    assert res["f1"] == pytest.approx(1 / 3)
    assert res["sample_f1"] == pytest.approx((2 / 3 + 2 / 3 + 0) / 3)
    for au in res["aus"]:
        y = [normalise_au(au) in {normalise_au(a) for a in g} for g in gt]
        yp = [au in p for p in pred]
        assert res["per_au"][au] == pytest.approx(f1_score(y, yp, zero_division=0))


def test_reasoning_consistency():
    text = "The speaker sounds furious, and is not happy at all."
    assert reasoning_consistency(text, "angry, happy") == 0.5
    assert reasoning_consistency(text, ["irritated"]) == 1.0  # same level-1 cluster as furious
    assert reasoning_consistency(text, ["blorf"]) is None


def test_metrics_and_taxonomy_do_not_import_torch():
    code = (
        "import sys, mmemo.taxonomy, mmemo.metrics as m; "
        "m.ew_sample_f1(['happy'], ['glad']); m.ew_score([['sad']], [['sad']]); "
        "print(','.join(x for x in ('torch', 'transformers', 'sklearn') if x in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert out.stdout.strip() == ""
