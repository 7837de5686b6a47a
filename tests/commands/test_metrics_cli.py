"""``mmemo metrics``: CSV in, EW / one-hot scores out; parity against an independent EW."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pytest

from mmemo.cli import main
from tests.taxonomy.ref_tables import write_tables, write_worked_example


def _write_csv(path: Path, rows: dict[str, str], column: str = "openset") -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["name", column])
        for name, value in rows.items():
            w.writerow([name, value])
    return path


def _run_json(capsys, argv: list[str]) -> tuple[int, dict]:
    rc = main(argv)
    out = capsys.readouterr().out
    return rc, json.loads(out)


# --- independent re-implementation of metrics.md 1.2-1.3, from the pseudo-code -------------------
def _reference_ew(wheels, formats, synonyms, gt_rows, pred_rows, level):
    def parse(s):  # metrics.md 1.1 list parsing
        s = s.strip()
        if s.startswith("["):
            s = s[1:]
        if s.endswith("]"):
            s = s[:-1]
        out = []
        for chunk in s.replace('"', ",").replace("'", ",").split(","):
            if chunk.strip():
                out.append(chunk.strip().lower())
        return out

    format_map: dict[str, list[str]] = {}
    for base, variants in formats.items():
        for v in variants:
            format_map.setdefault(v, []).append(base)
        format_map.setdefault(base, []).append(base)
    syn_map: dict[str, set[str]] = {}
    for word, runs in synonyms.items():
        for run in runs:
            syn_map.setdefault(word, set()).add(word)
            for s in run:
                syn_map.setdefault(s, set()).add(word)
    wheel_maps = []
    for tree in wheels:
        m = {}
        for l1, children in tree.items():
            m[l1] = l1 if level == "level1" else sorted(children)[0]
            for l2, leaves in children.items():
                m[l2] = l1 if level == "level1" else l2
                for l3 in leaves:
                    m[l3] = l1 if level == "level1" else l2
        wheel_maps.append(m)

    def map_k(w, k):
        if w not in format_map:
            return None
        cands = []
        for b in format_map[w]:
            if b in syn_map:
                cands.extend(syn_map[b])
        for c in sorted(cands):
            if c in wheel_maps[k]:
                return wheel_maps[k][c]
        return None

    fs, ps, rs = [], [], []
    for k in range(len(wheels)):
        prec, rec = [], []
        for name, g in gt_rows.items():
            G = {map_k(x, k) for x in parse(g)} - {None}
            if not G:
                continue
            P = {map_k(x, k) for x in parse(pred_rows.get(name, ""))} - {None}
            if not P:
                prec.append(0.0)
                rec.append(0.0)
            else:
                prec.append(len(G & P) / len(P))
                rec.append(len(G & P) / len(G))
        p = sum(prec) / len(prec) if prec else 0.0
        r = sum(rec) / len(rec) if rec else 0.0
        fs.append(0.0 if p + r == 0 else 2 * p * r / (p + r))
        ps.append(p)
        rs.append(r)
    return sum(fs) / len(fs), sum(ps) / len(ps), sum(rs) / len(rs), fs


def _random_tables(rng: random.Random):
    pool = [f"w{i}" for i in range(40)]
    wheels = []
    for _ in range(5):
        words = iter(rng.sample(pool, len(pool)))
        tree = {}
        for _ in range(rng.randint(2, 4)):
            l1 = next(words)
            tree[l1] = {}
            for _ in range(rng.randint(1, 3)):
                tree[l1][next(words)] = [next(words) for _ in range(rng.randint(1, 2))]
        wheels.append(tree)
    on_wheel = sorted({w for t in wheels for l1, ch in t.items() for l2, lv in ch.items()
                       for w in [l1, l2, *lv]})  # fmt: skip
    syn_pool = [f"s{i}" for i in range(15)] + on_wheel
    synonyms = {w: [rng.sample(syn_pool, rng.randint(0, 2)) for _ in range(2)] for w in on_wheel}
    bases = rng.sample(on_wheel + [f"s{i}" for i in range(15)] + ["b0", "b1"], 25)
    variants = [f"v{i}" for i in range(20)]
    formats = {b: rng.sample(variants, rng.randint(0, 2)) for b in bases}
    vocab = on_wheel + [f"s{i}" for i in range(15)] + variants + ["u0", "u1", "b0"]
    return wheels, formats, synonyms, vocab


def _list_string(rng: random.Random, words: list[str]) -> str:
    styled = []
    for w in words:
        w = rng.choice([w, w.upper(), f" {w} "])
        styled.append(rng.choice([w, f"'{w}'", f'"{w}"']))
    return "[" + ", ".join(styled) + "]" if rng.random() < 0.8 else ",".join(styled)


@pytest.mark.parametrize("seed", range(12))
def test_cli_ew_parity_with_independent_implementation(tmp_path, capsys, seed):
    rng = random.Random(seed)
    wheels, formats, synonyms, vocab = _random_tables(rng)
    ref = write_tables(tmp_path / "ref", wheels, formats, synonyms)
    for trial in range(4):
        n = rng.randint(1, 25)
        gt = {f"clip{i}": _list_string(rng, rng.sample(vocab, rng.randint(0, 3))) for i in range(n)}
        pred = {k: _list_string(rng, rng.sample(vocab, rng.randint(0, 4))) for k in gt}
        level = rng.choice(["level1", "level2"])
        g = _write_csv(tmp_path / f"gt{trial}.csv", gt)
        p = _write_csv(tmp_path / f"pred{trial}.csv", pred)
        rc, res = _run_json(
            capsys,
            ["metrics", "ew", str(g), str(p), "--reference-tables", str(ref), "--level", level,
             "--json"],
        )  # fmt: skip
        assert rc == 0
        fs, ps, rs, per = _reference_ew(wheels, formats, synonyms, gt, pred, level)
        assert res["fs"] == pytest.approx(fs, abs=1e-9)
        assert res["precision"] == pytest.approx(ps, abs=1e-9)
        assert res["recall"] == pytest.approx(rs, abs=1e-9)
        assert [w["fs"] for w in res["per_wheel"]] == pytest.approx(per, abs=1e-9)


def test_cli_worked_example_table(tmp_path, capsys):
    ref = write_worked_example(tmp_path / "ref")
    g = _write_csv(tmp_path / "gt.csv", {"s1": "[happy, relieved]"})
    p = _write_csv(tmp_path / "pred.csv", {"s1": "[joyful, grateful, nervous]"})
    rc = main(["metrics", "ew", str(g), str(p), "--reference-tables", str(ref)])
    out = capsys.readouterr().out
    assert rc == 0
    lines = {ln.split()[0]: ln.split()[1:] for ln in out.splitlines()[2:]}
    for k in range(1, 5):
        assert lines[f"wheel{k}"][1:3] == ["0.5000", "1.0000"]
    assert lines["wheel5"][1:3] == ["0.6667", "1.0000"]


def test_cli_builtin_strict_and_missing_names(tmp_path, capsys):
    g = _write_csv(tmp_path / "gt.csv", {"a": "[happy]", "b": "[neutral]", "c": "[sad]"})
    p = _write_csv(tmp_path / "pred.csv", {"a": "[glad, blorf]", "b": "[neutral]", "x": "[sad]"})
    rc, res = _run_json(capsys, ["metrics", "ew", str(g), str(p), "--mode", "strict", "--json"])
    assert rc == 1  # "c" has no prediction
    assert res["n_missing_predictions"] == 1
    # a: P 1/2 R 1; b: neutral cluster 1, 1; c: empty prediction 0, 0
    assert res["ps"] == pytest.approx((0.5 + 1 + 0) / 3)
    assert res["rs"] == pytest.approx((1 + 1 + 0) / 3)
    assert res["n_common"] == 3 and res["wheels"] == "builtin"
    rc = main(["metrics", "ew", str(g), str(p)])
    captured = capsys.readouterr()
    assert rc == 1
    assert "1 GT names have no prediction (scored as empty): c" in captured.err
    assert "1 predicted names are not in GT (ignored): x" in captured.err


def test_cli_bad_inputs(tmp_path, capsys):
    good = _write_csv(tmp_path / "gt.csv", {"a": "[happy]"})
    bad = tmp_path / "bad.csv"
    bad.write_text("id,labels\na,happy\n")
    assert main(["metrics", "ew", str(good), str(bad)]) == 2
    assert "bad.csv" in capsys.readouterr().err
    dup = tmp_path / "dup.csv"
    dup.write_text("name,openset\na,[happy]\na,[sad]\n")
    assert main(["metrics", "ew", str(dup), str(good)]) == 2
    assert "dup.csv row 3" in capsys.readouterr().err
    assert main(["metrics", "ew", str(good), str(tmp_path / "none.csv")]) == 2
    assert main(["metrics", "ew", str(good), str(good), "--reference-tables",
                 str(tmp_path)]) == 2  # fmt: skip
    assert "missing reference tables" in capsys.readouterr().err
    assert main(["metrics"]) == 2


def test_cli_cls(tmp_path, capsys):
    g = _write_csv(tmp_path / "gt.csv", dict(zip("abcde", ["a", "a", "b", "b", "c"])), "label")
    p = _write_csv(tmp_path / "pred.csv", dict(zip("abcde", ["a", "b", "b", "b", "a"])), "label")
    rc, res = _run_json(capsys, ["metrics", "cls", str(g), str(p), "--json"])
    assert rc == 0
    assert res["war"] == pytest.approx(0.6)
    assert res["uar"] == pytest.approx(0.5)
    assert res["weighted_f1"] == pytest.approx((0.5 * 2 + 0.8 * 2) / 5)
    assert res["confusion_matrix"] == [[1, 1, 0], [0, 2, 0], [1, 0, 0]]
    rc = main(["metrics", "cls", str(g), str(p)])
    assert rc == 0 and "war" in capsys.readouterr().out


def test_cli_cls_normalise(tmp_path, capsys):
    g = _write_csv(tmp_path / "gt.csv", {"1": "angry", "2": "happy", "3": "sad"}, "label")
    p = _write_csv(tmp_path / "pred.csv", {"1": "Furious", "2": "joyful", "3": "angry"}, "label")
    _, raw = _run_json(capsys, ["metrics", "cls", str(g), str(p), "--json"])
    _, norm = _run_json(capsys, ["metrics", "cls", str(g), str(p), "--json", "--normalise"])
    assert raw["war"] == 0.0
    assert norm["war"] == pytest.approx(2 / 3)


@pytest.mark.parametrize("to_file", [False, True])
def test_console_exit_keeps_output_and_exit_code(tmp_path, capsys, to_file):
    """The ``mmemo`` executable (``cli.console``) ends ``metrics`` without the interpreter's
    teardown: the process still prints everything ``main`` printed and exits with its code."""
    import os
    import subprocess
    import sys

    rng = random.Random(5)
    wheels, formats, synonyms, vocab = _random_tables(rng)
    ref = write_tables(tmp_path / "ref", wheels, formats, synonyms)
    gt = {f"clip{i}": _list_string(rng, rng.sample(vocab, 2)) for i in range(30)}
    pred = {k: _list_string(rng, rng.sample(vocab, 3)) for k in gt if k != "clip3"}
    argv = ["metrics", "ew", str(_write_csv(tmp_path / "gt.csv", gt)),
            str(_write_csv(tmp_path / "pred.csv", pred)), "--reference-tables", str(ref),
            "--json"]  # fmt: skip
    main(argv)  # builds the tables' array cache: both runs below read it
    capsys.readouterr()
    rc = main(argv)
    want = capsys.readouterr()
    assert rc == 1  # a missing prediction
    code = "from mmemo.cli import console; console()"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # buffered output
    out_path = tmp_path / "out.json"
    with out_path.open("w") as fh:
        proc = subprocess.run([sys.executable, "-c", code, *argv], text=True,
                              stdout=fh if to_file else subprocess.PIPE, stderr=subprocess.PIPE,
                              env=env)  # fmt: skip
    out = out_path.read_text() if to_file else proc.stdout
    assert proc.returncode == 1
    assert out == want.out and json.loads(out)["n_missing_predictions"] == 1
    assert proc.stderr == want.err and "clip3" in proc.stderr
