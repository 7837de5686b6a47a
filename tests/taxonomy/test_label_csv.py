"""Label-list CSVs read in numpy: the same rows and words as ``csv`` + ``split_labels``."""

from __future__ import annotations

import csv
import io
import random

import pytest

from mmemo.taxonomy import split_labels
from mmemo.taxonomy.label_csv import read_label_csv

PIECES = ["happy", "Sad", "on edge", "a  b", "x", "FEAR", "calm", "`joy`", "don't", ""]


def _cell(rng: random.Random) -> str:
    words = rng.sample(PIECES, rng.randint(0, 4))
    style = rng.randrange(5)
    if style == 0:
        inner = ", ".join(f"'{w}'" for w in words)
    elif style == 1:
        inner = ",".join(f'"{w}"' for w in words)
    elif style == 2:
        inner = " ,  ".join(f" {w} " for w in words)
    elif style == 3:
        inner = ", ".join(words) + rng.choice(["", ",", ", ,"])
    else:
        inner = "\t".join(words)
    return rng.choice(["[{}]", "{}", "[{}", "{}]", "[ {} ]"]).format(inner)


def _want(text: str, column: str = "openset") -> tuple[list[str], list[tuple[int, str]]]:
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    names = [r["name"] for r in rows]
    words = [(i, w) for i, r in enumerate(rows) for w in split_labels(r[column], answer_tags=False)]
    return names, words


def _got(cells) -> tuple[list[str], list[tuple[int, str]]]:
    raw = cells.data.tobytes()
    words = [(int(s), raw[a:b].decode().lower()) for s, a, b in
             zip(cells.sample, cells.start, cells.stop, strict=True)]  # fmt: skip
    return cells.names(), words


@pytest.mark.parametrize("seed", range(8))
def test_words_equal_csv_and_split_labels(tmp_path, seed):
    rng = random.Random(seed)
    buf = io.StringIO(newline="")
    quoting = [csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC][seed % 3]
    header = ["name", "openset", "note"] if seed % 2 else ["id", "x", "openset"]
    w = csv.writer(buf, quoting=quoting if seed % 4 else csv.QUOTE_MINIMAL,
                   lineterminator="\r\n" if seed % 4 == 3 else "\n")  # fmt: skip
    w.writerow(header)
    for i in range(200):
        row = {"name": f"s{i}", "id": f"s{i}", "openset": _cell(rng), "note": _cell(rng),
               "x": rng.choice(["", "1", 'say "hi", then go'])}  # fmt: skip
        w.writerow([row[h] for h in header])
    text = buf.getvalue()
    path = tmp_path / "labels.csv"
    path.write_text(text if seed != 5 else text.rstrip("\n"), newline="")  # no final newline
    cells = read_label_csv(path, "openset")
    if cells is None:  # only a bracket inside a cell may send the file back
        assert any(_cell_has_inner_bracket(r) for r in csv.DictReader(io.StringIO(text)))
        pytest.skip("fast path declined (inner bracket), as designed")
    if header[0] == "id":
        text = text.replace("id,", "name,", 1).replace('"id",', '"name",', 1)
    assert _got(cells) == _want(text)


def _cell_has_inner_bracket(row: dict) -> bool:
    return any(c.strip("[]").count("[") + c.strip("[]").count("]") for c in row.values())


def test_words_equal_on_cells_without_inner_brackets(tmp_path):
    rng = random.Random(11)
    rows = []
    for i in range(500):
        cell = _cell(rng)
        if cell.startswith("[ ") or cell.endswith(" ]"):
            cell = cell.replace("[ ", "[").replace(" ]", "]")
        rows.append((f"n{i:03d}", cell))
    buf = io.StringIO(newline="")
    csv.writer(buf).writerows([("name", "openset"), *rows])
    path = tmp_path / "a.csv"
    path.write_text(buf.getvalue(), newline="")
    cells = read_label_csv(path, "openset")
    assert cells is not None and cells.n == 500
    assert _got(cells) == _want(buf.getvalue())


@pytest.mark.parametrize(
    "body",
    [
        "a,[x]y]\n",  # a bracket inside a word
        "a, [x]\n",  # space before the bracket: split_labels strips first
        'a,x "y"\n',  # a quote inside an unquoted field
        "a,\u00e9t\u00e9\n",  # non-ASCII (lowercasing, curly quotes)
        "a,x\n\nb,y\n",  # a blank line
        "a,x,extra\n",  # more fields than the header
        " a,x\n",  # a name with a space
        '"a""b",x\n',  # a quote inside a name
        '" a",x\n',  # a space inside a quoted name
        "a,x\rb,y\n",  # a bare carriage return
        "a,x\na,y\n",  # the caller checks duplicates, not the reader
        '"a",x\n',  # a quoted name: read
    ],
)
def test_unusual_files_go_to_the_python_reader(tmp_path, body):
    path = tmp_path / "odd.csv"
    path.write_bytes(("name,openset\n" + body).encode())
    cells = read_label_csv(path, "openset")
    if body.startswith("a,x\na,y"):
        assert cells is not None and cells.names() == ["a", "a"]
    elif body.startswith('"a",'):
        assert cells is not None and cells.names() == ["a"]
    else:
        assert cells is None


def test_missing_column_or_status_column_declined(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("name,label\na,x\n")
    assert read_label_csv(path, "openset") is None
    path.write_text("id,openset,status\na,x,ok\n")
    assert read_label_csv(path, "openset") is None


@pytest.mark.parametrize(
    "body",
    [
        "a,\"['x\r\ny', 'z']\"\r\nb,[w]\r\n",  # CRLF rows, a CRLF inside a quoted cell
        "a,\"['x\ry']\"\nb,[w]\n",  # LF rows, a lone CR inside a quoted cell
        "a,[x]\r\nb,[w]\n",  # CRLF and LF rows mixed
    ],
)
def test_carriage_returns_inside_quotes_are_not_row_ends(tmp_path, body):
    text = "name,openset\r\n" + body
    path = tmp_path / "cr.csv"
    path.write_bytes(text.encode())
    cells = read_label_csv(path, "openset")
    assert cells is not None and cells.n == 2
    assert _got(cells) == _want(text)
