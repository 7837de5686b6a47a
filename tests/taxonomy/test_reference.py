"""Loader for user-supplied MER/AffectGPT reference tables (tiny tables written in tmp_path)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from mmemo.taxonomy import load_wheels
from mmemo.taxonomy.reference import ReferenceTableError
from tests.taxonomy.ref_tables import write_tables, write_worked_example


@pytest.fixture
def worked(tmp_path):
    return load_wheels(write_worked_example(tmp_path / "ref"))


def test_layout_and_sizes(worked):
    assert worked.kind == "reference"
    assert worked.names == [f"wheel{k}" for k in range(1, 6)]
    assert worked.sizes()["wheel1"] == (3, 4, 5)
    assert worked.sizes()["wheel5"] == (4, 5, 5)
    assert worked.info["source"] == "xlsx/csv"


def test_format_then_synonym_then_wheel(worked):
    assert worked.map("happiness", 1) == "joy"  # format variant -> happy -> itself
    assert worked.map("glad", 1) == "joy"  # glad is a synonym of happy (run 1)
    assert worked.map("cheery", 1) is None  # synonym of happy but no format row: OOV
    assert worked.map("  Relief ", 5) == "peaceful"  # lowercased and stripped only
    assert worked.map("worried", 1) is None
    assert worked.map("happy!", 1) is None  # no mmemo normalisation in reference mode


def test_forward_fill_of_blank_cells(worked):
    # rows 2.. of a level2 group have blank level1/level2 cells in the xlsx
    assert worked.map("relieved", 1) == "joy"
    assert worked.map("relieved", 1, "level2") == "happy"


def test_alphabetical_tie_break(tmp_path):
    wheels = [{"anger": {"annoyed": ["irritated"]}, "sadness": {"sad": ["down"]}}]
    formats = {"frustrated": ["frustration"]}
    synonyms = {"sad": [["frustrated"]], "annoyed": [["frustrated"]], "irritated": [[]],
                "down": [[]]}  # fmt: skip
    ws = load_wheels(write_tables(tmp_path / "t", wheels, formats, synonyms))
    # candidates of "frustration": sorted(["sad", "annoyed"]) -> "annoyed" first -> anger
    assert ws.map("frustration", 1) == "anger"
    assert ws.ambiguity("frustration") == 1


def test_level2_of_level1_word_is_alphabetical_first_child(tmp_path):
    wheels = [{"joy": {"zest": ["zeal"], "cheer": ["glee"]}}]
    formats = {"joy": []}
    synonyms = {"joy": [[]], "zest": [[]], "cheer": [[]], "zeal": [[]], "glee": [[]]}
    ws = load_wheels(write_tables(tmp_path / "t", wheels, formats, synonyms))
    assert ws.map("joy", 1, "level2") == "cheer"  # alphabetical, not first listed ("zest")
    assert ws.map("joy", 1, "level1") == "joy"


def test_synonym_runs_are_merged_by_union(tmp_path):
    wheels = [{"joy": {"happy": ["glad"]}, "fear": {"afraid": ["scared"]}}]
    formats = {"cheerful": [], "nervy": []}
    synonyms = {"happy": [["cheerful"], []], "afraid": [[], ["nervy"]], "glad": [[], []],
                "scared": [[], []]}  # fmt: skip
    ws = load_wheels(write_tables(tmp_path / "t", wheels, formats, synonyms))
    assert ws.map("cheerful", 1) == "joy"
    assert ws.map("nervy", 1) == "fear"


def test_neutral_cluster_option(tmp_path):
    d = write_worked_example(tmp_path / "ref")
    assert load_wheels(d).map("neutral", 1) is None
    assert load_wheels(d, neutral="cluster").map_all("neutral") == ("neutral",) * 5


def test_missing_and_malformed_tables(tmp_path):
    with pytest.raises(ReferenceTableError, match="not found"):
        load_wheels(tmp_path / "absent")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ReferenceTableError, match="missing reference tables"):
        load_wheels(tmp_path / "empty")
    d = write_worked_example(tmp_path / "bad")
    (d / "format.csv").write_text("word,variants\nhappy,glad\n")
    with pytest.raises(ReferenceTableError, match="format.csv"):
        load_wheels(d)


def test_synonym_word_not_on_a_wheel_is_reported(tmp_path):
    wheels = [{"joy": {"happy": ["glad"]}}]
    with pytest.raises(ReferenceTableError, match=r"synonym.xlsx row 3: word_run1='sad'"):
        load_wheels(
            write_tables(tmp_path / "t", wheels, {"happy": []}, {"happy": [[]], "sad": [[]]})
        )


def test_npz_needs_explicit_opt_in(tmp_path):
    d = tmp_path / "npz"
    d.mkdir()
    wheel = {
        "level1": {"happy": "joy", "sad": "sadness"},
        "level2": {"happy": "happy", "sad": "sad"},
    }
    np.savez(
        d / "wheel_mapping.npz",
        format_mapping=np.array({"happy": ["happy"], "happiness": ["happy"], "sad": ["sad"]}),
        raw_mapping=np.array({"happy": ["happy"], "sad": ["sad"]}),
        wheel_map_whole=np.array({"wheel1": wheel, "wheel2": wheel}),
    )
    with pytest.raises(ReferenceTableError, match="allow_pickle"):
        load_wheels(d)
    ws = load_wheels(d, allow_pickle=True)
    assert ws.names == ["wheel1", "wheel2"]
    assert ws.map_all("happiness") == ("joy", "joy")
    assert ws.info["source"] == "wheel_mapping.npz"


def test_reference_wheelset_pickles(worked):
    clone = pickle.loads(pickle.dumps(worked))
    assert clone.map_all("glad") == worked.map_all("glad")
