"""The built-in project-authored wheels: structure, levels, neutral policy, speed helpers."""

from __future__ import annotations

import pickle

import pytest

from mmemo.taxonomy import load_wheels
from mmemo.taxonomy.lexicon import get_lexicon
from mmemo.taxonomy.wheels import Wheel, builtin_wheels


def _wheel(name: str) -> Wheel:
    return {w.name: w for w in builtin_wheels()}[name]


def test_each_wheel_has_citation_version_and_levels():
    for w in builtin_wheels():
        assert w.citation and w.version and w.title
        n1, n2, n3 = w.sizes()
        assert n1 >= 4 and n2 > n1 and n3 > 0


def test_plutchik_structure():
    w = _wheel("plutchik")
    assert sorted(w.tree) == sorted(
        ["joy", "trust", "fear", "surprise", "sadness", "disgust", "anger", "anticipation"]
    )
    assert all(len(children) == 3 for children in w.tree.values())  # three intensities
    dyads = w.extra["dyads"]
    assert {k: len(v) for k, v in dyads.items()} == {"primary": 8, "secondary": 8, "tertiary": 8}
    for kind in dyads.values():
        for name, (a, b) in kind.items():
            assert a in w.tree and b in w.tree
            home = [l1 for l1, ch in w.tree.items() for leaves in ch.values() if name in leaves]
            assert home and home[0] in (a, b), name  # placed under one of its components


def test_parrott_willcox_geneva_structure():
    assert sorted(_wheel("parrott").tree) == sorted(
        ["love", "joy", "surprise", "anger", "sadness", "fear"]
    )
    will = _wheel("willcox")
    assert sorted(will.tree) == sorted(["mad", "sad", "scared", "joyful", "powerful", "peaceful"])
    assert all(len(ch) == 6 for ch in will.tree.values())  # middle ring: 6 per core
    gew = _wheel("geneva")
    families = [f for ch in gew.tree.values() for f in ch]
    assert len(families) == len(set(families)) == 20
    assert all(len(ch) == 5 for ch in gew.tree.values())


def test_every_wheel_word_is_in_the_lexicon_and_maps_to_itself():
    lex = get_lexicon()
    ws = load_wheels()
    for k, w in enumerate(ws.wheels, start=1):
        for l1, children in w.tree.items():
            for l2, leaves in children.items():
                for word in [l2, *leaves]:
                    assert word in lex.surface, (w.name, word)
                    assert ws.map(word, k) == l1, (w.name, word)
                for leaf in leaves:
                    assert ws.map(leaf, k, "level2") == l2, (w.name, leaf)


def test_level2_of_a_level1_word_is_its_first_listed_child():
    ws = load_wheels()
    k = ws.names.index("willcox") + 1
    assert ws.map("joyful", k, "level1") == "joyful"
    assert ws.map("joyful", k, "level2") == "cheerful"
    assert ws.map("mad", k, "level2") == "angry"


def test_examples_across_wheels():
    ws = load_wheels()
    assert ws.map_all("happy") == ("joy", "joy", "joyful", "positive-high-control")
    assert ws.map_all("nervous") == ("fear", "fear", "scared", "negative-high-control")
    assert ws.map_all("furious", "level2") == ("anger", "rage", "angry", "anger")
    assert ws.map_all("relieved", "level2")[1] == "relief"


def test_neutral_policy():
    drop = load_wheels(neutral="drop")
    keep = load_wheels(neutral="cluster")
    assert drop.map_all("neutral") == (None,) * 4
    assert keep.map_all("Neutral") == ("neutral",) * 4
    assert keep.map_all("expressionless", "level2") == ("neutral",) * 4
    assert keep.map_all("happy") == drop.map_all("happy")
    with pytest.raises(ValueError, match="neutral"):
        load_wheels(neutral="maybe")


def test_map_api_and_cache():
    ws = load_wheels()
    assert ws.n_wheels == 4
    assert ws.map("happy", 1) == "joy"
    with pytest.raises(IndexError):
        ws.map("happy", 0)
    with pytest.raises(ValueError, match="level"):
        ws.map_all("happy", "level3")
    first = ws.map_all("elated")
    assert ws.map_all("elated") is first  # cached tuple
    assert load_wheels() is ws
    assert "plutchik" in ws.describe()
    assert ws.clusters(1) == sorted(_wheel("plutchik").tree)


def test_subset_and_pickle():
    sub = load_wheels(names=["plutchik", "geneva"])
    assert sub.names == ["plutchik", "geneva"]
    assert sub.map_all("happy") == ("joy", "positive-high-control")
    with pytest.raises(ValueError, match="unknown"):
        load_wheels(names=["nope"])
    clone = pickle.loads(pickle.dumps(load_wheels()))
    assert clone.map_all("furious") == load_wheels().map_all("furious")
