import pytest

from mmemo.rewards.outcome import (
    AccuracyReward,
    AUF1Reward,
    CaptionOverlapReward,
    EWF1Reward,
    FormatReward,
    LabelCountPenalty,
    answer_words,
    au_ids,
)

GOOD = "<think>The lip corners rise: AU6 and AU12.</think>\n<answer>happy</answer>"


def chat(text):
    return [{"role": "assistant", "content": [{"type": "text", "text": text}]}]


# -- format ---------------------------------------------------------------------------------
def test_format_modes_and_strip():
    texts = [GOOD, "  " + GOOD + "\n", "<answer>happy</answer>", "", "   ", GOOD + " extra"]
    assert FormatReward()(texts) == [1.0, 1.0, 0.0, 0.0, 0.0, 0.0]
    assert FormatReward(strip=False)(texts) == [1.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    assert FormatReward(mode="prefix")(texts) == [1.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    assert FormatReward(mode="answer_only")(texts) == [0.0, 0.0, 1.0, 0.0, 0.0, 0.0]


def test_format_chat_completions_equal_strings():
    texts = [GOOD, "<think>x</think>", "<think>x</think><answer>y"]
    assert FormatReward()([chat(t) for t in texts]) == FormatReward()(texts) == [1.0, 0.0, 0.0]


def test_format_rejects_unknown_mode():
    with pytest.raises(ValueError, match="format mode"):
        FormatReward(mode="loose")


# -- accuracy -------------------------------------------------------------------------------
def test_accuracy_parity_mode_is_exact():
    r = AccuracyReward(column="solution", normalise=False)
    out = r(
        ["<answer>sad</answer>", "<answer> sad </answer>", "<answer>Sad</answer>", "sad", ""],
        solution=["<answer>sad</answer>"] * 5,
    )
    assert out == [1.0, 1.0, 0.0, 0.0, 0.0]


def test_accuracy_normalises_case_and_morphology():
    r = AccuracyReward()
    texts = ["<answer>Happy.</answer>", "<answer>happiness</answer>", "<answer>sad</answer>"]
    assert r(texts, emotion=["happy"] * 3) == [1.0, 1.0, 0.0]


def test_accuracy_no_partial_credit_and_label_space():
    r = AccuracyReward()
    texts = ["<answer>I think sad</answer>", "<answer>not sad</answer>", "<answer>sad</answer>"]
    assert r(texts, emotion=["sad"] * 3) == [0.0, 0.0, 1.0]
    ravdess = AccuracyReward(label_space="ravdess")
    assert ravdess(
        ["<answer>furious</answer>", "<answer>joyful</answer>"], emotion=["angry", "angry"]
    ) == [1.0, 0.0]


def test_accuracy_edge_cases():
    r = AccuracyReward()
    assert r(["<think>x</think>", "<answer>happy</answer>"], emotion=["happy", ""]) == [0.0, None]
    assert r(["<answer>happy</answer>"], emotion=[None]) == [None]
    facial = AccuracyReward(empty_gt_value=0.5)
    assert facial(["<answer>happy</answer>"], emotion=[""]) == [0.5]


def test_missing_column_is_a_clear_error():
    with pytest.raises(KeyError, match="needs dataset column 'emotion'.*column="):
        AccuracyReward()(["<answer>a</answer>"], solution=["a"])


# -- EW set F1 ------------------------------------------------------------------------------
def test_ew_reward_is_the_metric():
    from mmemo.metrics import ew_sample_f1
    from mmemo.taxonomy import load_wheels

    wheels = load_wheels()
    gts = [["happy", "relieved"], ["angry"], ["sad", "lonely"], ["surprised", "happy"]]
    preds = ["joyful, grateful, nervous", "furious", "happy", "amazed, delighted, xyzzy"]
    r = EWF1Reward()
    out = r([f"<think>t</think><answer>{p}</answer>" for p in preds], emotions=gts)
    for value, gt, pred in zip(out, gts, preds):
        expected = ew_sample_f1(gt, answer_words(pred), wheels=wheels, level="level1", oov="drop")
        assert value == pytest.approx(expected)
    strict = EWF1Reward(oov="penalise")(
        ["<answer>amazed, delighted, xyzzy</answer>"], emotions=[gts[3]]
    )
    assert strict[0] < out[3]


def test_ew_reward_golden_edges():
    r = EWF1Reward()
    texts = [
        "<answer>happy, relieved</answer>",
        "<answer></answer>",
        "no tags",
        "<answer>happy</answer>",
    ]
    out = r(texts, emotions=[["happy", "relieved"], ["happy"], ["happy"], "['happy', 'relieved']"])
    assert out[0] == pytest.approx(1.0)
    assert out[1] == 0.0 and out[2] == 0.0
    assert 0.0 < out[3] <= 1.0
    assert r(["<answer>happy</answer>"], emotions=[[]]) == [None]
    assert r(["<answer>happy</answer>"], emotions=[["neutral"]]) == [None]


def test_label_count_penalty():
    r = LabelCountPenalty(K=3, kappa=0.25)
    texts = [
        "<answer>a, b, c</answer>",
        "<answer>a, b, c, d, e</answer>",
        "<answer>" + ", ".join("abcdefghij") + "</answer>",
        "",
    ]
    assert r(texts) == [0.0, -0.5, -1.0, 0.0]
    assert [c["n_labels"] for c in r.last_components] == [3, 5, 10, 0]


# -- AU-set F1 ------------------------------------------------------------------------------
def test_au_f1_required_edge_cases():
    r = AUF1Reward(column="AUs")
    texts = [GOOD, "<think>nothing</think><answer>x</answer>", GOOD, "no think AU6 AU12"]
    gts = [["AU6", "AU12"], ["AU6"], [], ["AU6", "AU12"]]
    assert r(texts, AUs=gts) == [1.0, -1.0, 0.0, -1.0]


def test_au_f1_partial_and_rescale():
    text = "<think>AU4 and AU12 visible, AU4 again</think><answer>x</answer>"
    assert AUF1Reward()([text], aus=[["AU4", "AU15"]]) == [pytest.approx(0.0)]
    r01 = AUF1Reward(rescale="[0,1]")
    assert r01([text, "<think></think>"], aus=[["AU4", "AU15"]] * 2) == [pytest.approx(0.5), 0.0]
    assert r01.last_components[0]["n_predicted"] == 2


def test_au_ids_normalisation_and_parity():
    text = "<think>AU04 raised</think><answer>x</answer>"
    assert AUF1Reward()([text], aus=[["AU4"]]) == [1.0]
    assert AUF1Reward(normalise_ids=False)([text], aus=[["AU4"]]) == [-1.0]
    assert au_ids("AU4, AU15") == {"AU4", "AU15"}
    assert au_ids([4, "12", "AU1"]) == {"AU4", "AU12", "AU1"}
    assert AUF1Reward()([text], aus=[None]) == [None]


def test_au_f1_negated_mentions():
    text = "<think>no AU12 here, but AU4 is strong</think><answer>angry</answer>"
    assert AUF1Reward()([text], aus=[["AU4"]]) == [pytest.approx(2 * (2 / 3) - 1)]
    assert AUF1Reward(drop_negated=True)([text], aus=[["AU4"]]) == [1.0]


def test_caption_overlap():
    r = CaptionOverlapReward()
    out = r(
        ["<answer>A woman smiles.</answer>", "<answer></answer>", "x"],
        caption=["a woman smiles at the camera", "c", None],
    )
    assert out == [pytest.approx(2 * 3 / (3 + 6)), 0.0, None]


@pytest.mark.parametrize("recipe", ["cue_text", "emotion_thinker", "facial_r1", "video_emotion"])
def test_accuracy_credits_taxonomy_synonyms_with_the_recipes_settings(recipe):
    """The accuracy reward exactly as each recipe builds it: "joy" for "happy" scores 1, as
    prediction maps joy to happy; a different emotion or a negation still scores 0."""
    from mmemo.config import instantiate, load_config
    from mmemo.resources import recipes_dir

    cfg = load_config(recipes_dir() / f"{recipe}.yaml")
    nodes = [n for n in cfg["rewards"] if n["_component_"].endswith("get_accuracy_reward")]
    assert nodes, f"{recipe} has no accuracy reward"
    acc = instantiate(nodes[0], drop=("weight",))
    col = acc.column
    answers = ["joy", "Joyful", "furious", "not happy", "sad", "happiness"]
    out = acc([f"<think>x</think><answer>{a}</answer>" for a in answers], **{col: ["happy"] * 6})
    assert out == [1.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    assert acc(["<answer>furious</answer>"], **{col: ["anger"]}) == [1.0]
    canonical = AccuracyReward(column=col, match="canonical")
    assert canonical(["<answer>joy</answer>"], **{col: ["happy"]}) == [0.0]
