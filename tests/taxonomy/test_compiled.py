"""Reference tables compiled to cached arrays; the vectorised EW equals ``ew_score``."""

from __future__ import annotations

import os
import random

import numpy as np
import pytest

from mmemo.metrics import ew_score
from mmemo.metrics_compiled import ew_score_compiled
from mmemo.taxonomy import load_wheels
from mmemo.taxonomy.compiled import CACHE_NAME, compiled_reference_tables
from tests.commands.test_metrics_cli import _random_tables
from tests.taxonomy.ref_tables import write_tables


@pytest.mark.parametrize("seed", range(6))
def test_vectorised_parity_equals_ew_score(tmp_path, seed):
    rng = random.Random(seed)
    wheels, formats, synonyms, vocab = _random_tables(rng)
    ref = write_tables(tmp_path / "ref", wheels, formats, synonyms)
    ws = load_wheels(ref)
    compiled = compiled_reference_tables(ref)
    n = 300
    gt = [[rng.choice([w, w.upper(), f" {w}"]) for w in rng.sample(vocab, rng.randint(0, 3))]
          for _ in range(n)]  # fmt: skip
    pred = [rng.sample(vocab, rng.randint(0, 4)) for _ in range(n)]
    for level in ("level1", "level2"):
        want = ew_score(gt, pred, wheels=ws, level=level)
        got = ew_score_compiled(gt, pred, compiled, level=level)
        assert got["n_samples"] == want["n_samples"]
        for key in ("fs", "ps", "rs"):
            assert got[key] == pytest.approx(want[key], abs=1e-12)
        assert [w["fs"] for w in got["per_wheel"]] == pytest.approx(
            [w["fs"] for w in want["per_wheel"]], abs=1e-12
        )


def test_cache_is_written_once_reused_and_rebuilt_when_a_table_changes(tmp_path):
    rng = random.Random(0)
    wheels, formats, synonyms, _ = _random_tables(rng)
    ref = write_tables(tmp_path / "ref", wheels, formats, synonyms)
    first = compiled_reference_tables(ref)
    assert first.source == "tables" and (ref / CACHE_NAME).is_file()
    with np.load(ref / CACHE_NAME, allow_pickle=False) as z:  # plain arrays, no pickles
        assert all(z[k].dtype != object for k in z.files)
    again = compiled_reference_tables(ref)
    assert again.source == "cache" and again.words == first.words
    for lv in first.table:
        np.testing.assert_array_equal(again.table[lv], first.table[lv])
    st = (ref / "format.csv").stat()
    os.utime(ref / "format.csv", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert compiled_reference_tables(ref).source == "tables"  # stale cache rebuilt
    assert compiled_reference_tables(ref, neutral="cluster").source == "tables"


def test_list_strings_tokenised_at_once_equal_split_labels(tmp_path):
    from mmemo.taxonomy import split_labels
    from mmemo.taxonomy.compiled import _tokenise

    cells = ["[Happy, 'sad']", ' "joy" ,, ', "[]", "", "calm", "[a]", "\u2018fear\u2019, x",
             "`calm` ANGRY"]  # fmt: skip
    sample, tokens = _tokenise(cells)
    want = [(i, w) for i, c in enumerate(cells) for w in split_labels(c, answer_tags=False)]
    assert list(zip(sample.tolist(), tokens.tolist(), strict=True)) == want
    import pyarrow as pa

    from mmemo.taxonomy.compiled import _tokenise_arrow

    a_sample, a_tokens = _tokenise_arrow(pa.array(cells + [None]))
    assert list(zip(a_sample.tolist(), a_tokens.to_pylist(), strict=True)) == want
    ascii_cells = [c for c in cells if c.isascii()]  # the ASCII kernels
    a_sample, a_tokens = _tokenise_arrow(pa.array(ascii_cells))
    want_ascii = [
        (i, w) for i, c in enumerate(ascii_cells) for w in split_labels(c, answer_tags=False)
    ]
    assert list(zip(a_sample.tolist(), a_tokens.to_pylist(), strict=True)) == want_ascii
    # a bracket inside a string: the one-by-one path, which keeps the reference's words
    assert _tokenise(["[a]b]", "c"]) is None
    assert _tokenise_arrow(pa.array(["[a]b]", "c"])) is None
    assert _tokenise_arrow(pa.array(["x[y", "[z"])) is None
    rng = random.Random(1)
    wheels, formats, synonyms, vocab = _random_tables(rng)
    compiled = compiled_reference_tables(write_tables(tmp_path / "ref", wheels, formats, synonyms))
    odd = [f"[{vocab[0]}]]", f"[{vocab[1]}, {vocab[2]}]"]
    s_fast, i_fast = compiled.flat_ids(odd)
    words = [split_labels(c, answer_tags=False) for c in odd]
    assert i_fast.tolist() == [i for w in words for i in compiled.ids(w)]


def test_cli_arrow_path_joins_shuffled_and_missing_names(tmp_path, capsys):
    import csv
    import json

    from mmemo.cli import main

    rng = random.Random(3)
    wheels, formats, synonyms, vocab = _random_tables(rng)
    ref = write_tables(tmp_path / "ref", wheels, formats, synonyms)
    gt = {f"s{i}": "[" + ", ".join(rng.sample(vocab, 2)) + "]" for i in range(40)}
    pred = {k: "[" + ", ".join(rng.sample(vocab, 3)) + "]" for k in gt}
    del pred["s7"]
    pred["extra"] = "[x]"
    for name, rows in (("gt.csv", gt), ("pred.csv", dict(sorted(pred.items(), reverse=True)))):
        with (tmp_path / name).open("w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["name", "openset"])
            w.writerows(rows.items())
    code = main(["metrics", "ew", str(tmp_path / "gt.csv"), str(tmp_path / "pred.csv"),
                 "--reference-tables", str(ref), "--json"])  # fmt: skip
    printed = capsys.readouterr()
    res = json.loads(printed.out)
    assert code == 1 and res["n_missing_predictions"] == 1
    assert "no prediction (scored as empty): s7" in printed.err and "extra" in printed.err
    want = ew_score(list(gt.values()), [pred.get(k, "") for k in gt], wheels=load_wheels(ref))
    assert res["fs"] == pytest.approx(want["fs"], abs=1e-12)
    assert res["n_samples"] == want["n_samples"]


@pytest.mark.parametrize("seed", range(3))
def test_cli_byte_reader_equals_the_python_reader(tmp_path, capsys, monkeypatch, seed):
    """``metrics ew --reference-tables``: the numpy CSV reader (shuffled names, a missing and
    an extra one, quoted cells, CRLF, upper case, spaces) scores exactly as the Python one."""
    import csv
    import json

    import mmemo.taxonomy.label_csv as label_csv
    from mmemo.cli import main

    rng = random.Random(seed)
    wheels, formats, synonyms, vocab = _random_tables(rng)
    ref = write_tables(tmp_path / "ref", wheels, formats, synonyms)
    compiled_reference_tables(ref)  # cached: both runs print the same note

    def cell(k: int) -> str:
        words = [rng.choice([w, w.upper(), f" {w} "]) for w in rng.sample(vocab, k)]
        words += ["oov"] * rng.randint(0, 1)
        return rng.choice(["[{}]", "{}"]).format(", ".join(f"'{w}'" for w in words))

    gt = {f"s{i}": cell(rng.randint(0, 3)) for i in range(300)}
    pred = {k: cell(rng.randint(0, 4)) for k in gt}
    if seed:
        del pred["s7"]
        pred["extra"] = "[x]"
        pred = dict(sorted(pred.items(), reverse=True))
    for name, rows in (("gt.csv", gt), ("pred.csv", pred)):
        with (tmp_path / name).open("w", newline="") as fh:
            w = csv.writer(fh, lineterminator="\r\n" if seed == 2 else "\n")
            w.writerow(["name", "openset"])
            w.writerows(rows.items())
    argv = ["metrics", "ew", str(tmp_path / "gt.csv"), str(tmp_path / "pred.csv"),
            "--reference-tables", str(ref), "--json"]  # fmt: skip
    real = label_csv.read_label_csv
    for level in ("level1", "level2"):
        calls: list = []
        monkeypatch.setattr(label_csv, "read_label_csv",
                            lambda *a, calls=calls: calls.append(real(*a)) or calls[-1])  # fmt: skip
        code = main([*argv, "--level", level])
        fast = capsys.readouterr()
        assert len(calls) == 2 and all(c is not None for c in calls)  # the byte reader ran
        monkeypatch.setattr(label_csv, "read_label_csv", lambda *a: None)
        assert main([*argv, "--level", level]) == code == (1 if seed else 0)
        slow = capsys.readouterr()
        assert json.loads(fast.out) == json.loads(slow.out)
        assert fast.err == slow.err
