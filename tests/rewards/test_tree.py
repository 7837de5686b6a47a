import itertools
import json

import pytest

from mmemo.rewards.tree import AffectTreeReward, parse_tree, tree_edit_distance, tree_from_json


def node(label, *children):
    return {"label": label, "children": list(children)}


REF = node("root", node("mouth", node("smile", node("happy"))), node("eyes", node("crinkled")))
LINES = "Attribute: mouth\n  Expression: smile\n    Emotion: happy\nAttribute: eyes\n  Expression: crinkled"


def test_zhang_shasha_classic_example():
    t1 = node("f", node("d", node("a"), node("c", node("b"))), node("e"))
    t2 = node("f", node("c", node("d", node("a"), node("b"))), node("e"))
    assert tree_edit_distance(t1, t2) == 2.0
    assert tree_edit_distance(t1, t1) == 0.0
    assert tree_edit_distance(node("a"), node("b")) == 1.0


def _brute_ted_single_chain(a, b):
    # chains (each node has <= 1 child) reduce to string edit distance
    m, n = len(a), len(b)
    d = [[i + j if i * j == 0 else 0 for j in range(n + 1)] for i in range(m + 1)]
    for i, j in itertools.product(range(1, m + 1), range(1, n + 1)):
        d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1]))
    return d[m][n]


@pytest.mark.parametrize(
    "a,b", [("abc", "abd"), ("abcd", "ad"), ("a", "xyz"), ("kitten", "sitting")]
)
def test_ted_on_chains_equals_string_edit_distance(a, b):
    def chain(s):
        tree = node(s[-1])
        for ch in reversed(s[:-1]):
            tree = node(ch, tree)
        return tree

    assert tree_edit_distance(chain(a), chain(b)) == _brute_ted_single_chain(a, b)


def test_parse_lines_and_json():
    tree = parse_tree(LINES)
    assert tree_edit_distance(tree, REF) == 0.0
    assert parse_tree("prefix " + json.dumps(REF) + " suffix") == tree_from_json(REF)
    assert parse_tree("no tree here") is None
    assert parse_tree("{broken json") is None
    assert tree_from_json({"label": "r", "children": "bad"}) == node("r")


def test_tree_reward_golden_values():
    r = AffectTreeReward(use_wheels=False)
    missing_leaf = LINES.rsplit("\n", 1)[0]  # drop the "crinkled" expression
    texts = [
        f"<think>{LINES}</think><answer>happy</answer>",
        f"<think>{missing_leaf}</think><answer>happy</answer>",
        f"<think>{LINES.replace('happy', 'sad')}</think>",
        "<think>I cannot tell.</think>",
        "",
    ]
    out = r(texts, affect_tree=[REF] * 5)
    assert out == [1.0, pytest.approx(1 - 1 / 6), pytest.approx(1 - 1 / 6), 0.0, 0.0]
    assert r(texts[:1], affect_tree=[None]) == [None]
    assert r(texts[:1], affect_tree=[json.dumps(REF)]) == [1.0]


def test_tree_reward_wheel_substitution():
    r = AffectTreeReward(use_wheels=True)
    same_cluster = LINES.replace("happy", "joyful")
    other = LINES.replace("happy", "furious")
    out = r([f"<think>{same_cluster}</think>", f"<think>{other}</think>"], affect_tree=[REF] * 2)
    assert out == [1.0, pytest.approx(1 - 1 / 6)]


def test_tree_size_is_capped():
    wide = node("root", *[node(f"a{i}") for i in range(500)])
    assert len(tree_from_json(wide, max_nodes=64)["children"]) == 63
