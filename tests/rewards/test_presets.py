import pickle

import pytest

from mmemo.rewards import presets
from mmemo.rewards.core import WeightedSum, to_trl
from mmemo.rewards.shapers import TrustWeightedReasoning, apply_shapers
from tests.rewards.helpers import CUES, columns_for

GOOD = "<think>Cheeks raised, AU6 and AU12, high pitch.</think>\n<answer>happy</answer>"


@pytest.mark.parametrize(
    "name", ["facial_r1", "emotion_thinker_ptr", "affectgpt_r1", "videmo_tree", "cue_grounded"]
)
def test_presets_build_score_and_pickle(name):
    preset = getattr(presets, name)()
    components, shapers, trainer = preset
    assert components and isinstance(trainer, dict)
    funcs, weights = to_trl(components)
    cols = columns_for(2)
    for func in funcs:
        values = func([GOOD, ""], completion_ids=[[1] * 10, []], **cols)
        assert len(values) == 2
    total = WeightedSum(components)([GOOD, ""], completion_ids=[[1] * 10, []], **cols)
    assert total[0] > total[1]
    assert pickle.loads(pickle.dumps(preset)).components[0][0].__name__ == funcs[0].__name__


def test_facial_r1_weights_and_values():
    components, shapers, trainer = presets.facial_r1()
    assert [(r.__name__, w) for r, w, _ in components] == [
        ("format_reward", 1.0), ("accuracy_reward", 1.0), ("au_f1_reward", 1.0),
    ]  # fmt: skip
    assert shapers == [] and trainer["num_generations"] == 8 and trainer["beta"] == 0.0
    total = WeightedSum(components)([GOOD], emotion=["happy"], aus=[["AU6", "AU12"]])
    assert total == [3.0]


def test_affectgpt_no_think_variant():
    components, _, _ = presets.affectgpt_r1(think=False)
    fmt = components[1][0]
    assert fmt.mode == "answer_only" and components[1][1] == 0.5
    assert fmt(["<answer>happy, relieved</answer>"]) == [1.0]


def test_emotion_thinker_ptr_end_to_end_shaping():
    components, shapers, _ = presets.emotion_thinker_ptr()
    assert isinstance(shapers[0], TrustWeightedReasoning)
    texts = [GOOD, GOOD.replace("happy</answer>", "sad</answer>")] * 2
    cols = {"emotion": ["happy"] * 4, "cues": [CUES] * 4}
    names = [r.__name__ for r, _, _ in components]
    matrix = [[r(texts, **cols)[i] for r, _, _ in components] for i in range(4)]
    state = {"global_step": 1000, "max_steps": 1000}
    shaped = apply_shapers(shapers, matrix, names, group_size=2, trainer_state=state)
    judge = names.index("judge_reward")
    # each group has one correct and one wrong (a = 0 < 0.2: not judged) rollout
    assert shaped[0, judge] == pytest.approx(0.3 * matrix[0][judge])
    assert shaped[1, judge] == 0.0


@pytest.mark.parametrize(("outcome", "trust_below_one"), [("graded", True), ("accuracy", False)])
def test_ptr_trust_acts_only_with_a_graded_outcome(outcome, trust_below_one):
    """Wrong-but-close answers with well-grounded text and right answers with contradicted
    text, scored by the preset's real rewards on encoder-written cues: the graded outcome
    lets the judge see the wrong rollouts, so trust < 1; 0/1 accuracy never judges them."""
    from tests.cue_builders import media_cues

    cues = media_cues({"AU1": 2.0, "AU2": 2.0, "AU4": 2.5, "AU20": 2.0}, "high", "high", "high")
    good = f"<think>{cues.describe()}</think>\n<answer>angry</answer>"  # fearful's near miss
    bad = "<think>AU12 smile, low pitch, slow and soft.</think>\n<answer>fearful</answer>"
    components, shapers, _ = presets.emotion_thinker_ptr(outcome=outcome)
    texts = [bad, bad, good, good]
    cols = {"emotion": ["fearful"] * 4, "cues": [cues.to_dict(contours=False)] * 4}
    names = [r.__name__ for r, _, _ in components]
    scores = [r(texts, **cols) for r, _, _ in components]
    matrix = [[col[i] for col in scores] for i in range(4)]
    state = {"global_step": 1000, "max_steps": 1000}
    apply_shapers(shapers, matrix, names, group_size=4, trainer_state=state)
    trust = shapers[0].last_metrics["trust"]
    assert (trust < 1.0) == trust_below_one, (names, matrix, shapers[0].last_metrics)
