"""Write tiny MER/AffectGPT-layout reference tables (docs/metrics.md 8) for tests.

The tables are made up on the spot; the real reference tables are never shipped or read.
"""

from __future__ import annotations

import csv
from pathlib import Path


def write_tables(
    directory: Path,
    wheels: list[dict[str, dict[str, list[str]]]],
    formats: dict[str, list[str]],
    synonyms: dict[str, list[list[str]]],
    *,
    fill_blanks: bool = True,
) -> Path:
    """Write format.csv, synonym.xlsx and wheel1..K.xlsx into ``directory``.

    ``wheels[k]``: tree {level1: {level2: [level3, ...]}}; repeated level1/level2 cells are left
    blank (the reader forward-fills them) when ``fill_blanks``.
    ``formats``: base word -> variants (comma-joined in the csv).
    ``synonyms``: wheel word -> one synonym list per run (list strings in the xlsx).
    """
    import openpyxl

    directory.mkdir(parents=True, exist_ok=True)
    with (directory / "format.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["name", "format"])
        for base, variants in formats.items():
            w.writerow([base, ",".join(variants)])
    n_runs = max((len(v) for v in synonyms.values()), default=1)
    wb = openpyxl.Workbook()
    ws = wb.active
    header = []
    for r in range(1, n_runs + 1):
        header += [f"word_run{r}", f"synonym_run{r}"]
    ws.append(header)
    for word, runs in synonyms.items():
        row = []
        for r in range(n_runs):
            syns = runs[r] if r < len(runs) else []
            row += [word, "[" + ", ".join(f"'{s}'" for s in syns) + "]"]
        ws.append(row)
    wb.save(directory / "synonym.xlsx")
    for k, tree in enumerate(wheels, start=1):
        wb = openpyxl.Workbook()
        ws = wb.active
        ws.append(["level1", "level2", "level3"])
        for l1, children in tree.items():
            first1 = True
            for l2, leaves in children.items():
                first2 = True
                for l3 in leaves:
                    c1 = l1 if (first1 or not fill_blanks) else None
                    c2 = l2 if (first2 or not fill_blanks) else None
                    ws.append([c1, c2, l3])
                    first1 = first2 = False
        wb.save(directory / f"wheel{k}.xlsx")
    return directory


# The worked example of metrics.md 1.3: GT [happy, relieved], prediction
# [joyful, grateful, nervous] gives P = 0.5, R = 1.0 in four of the five wheels.
_JOY4 = {
    "joy": {"happy": ["joyful", "relieved"], "thankful": ["grateful"]},
    "fear": {"nervous": ["anxious"]},
    "sadness": {"sad": ["gloomy"]},
}
_WHEEL5 = {
    "joyful": {"happy": ["joyful"]},
    "peaceful": {"relieved": ["calm"], "thankful": ["grateful"]},
    "scared": {"nervous": ["anxious"]},
    "sad": {"sad": ["gloomy"]},
}
WORKED_WHEELS = [_JOY4, _JOY4, _JOY4, _JOY4, _WHEEL5]
WORKED_FORMATS = {
    "happy": ["happiness", "happily"],
    "joyful": ["joyfully", "joyfulness"],
    "relieved": ["relief"],
    "grateful": ["gratitude"],
    "nervous": ["nervousness", "nervously"],
    "glad": ["gladness"],
    "annoyed": ["annoyance"],
    "frustrated": ["frustration"],
    "disappointed": ["disappointment"],
    "calm": ["calmly", "calmness"],
    "sad": ["sadness", "sadly"],
    "gloomy": ["gloom"],
}
# Each wheel word maps to itself; "glad" is a synonym of "happy"; "frustrated" is a synonym of
# both "sad" and "gloomy". "calm" is a wheel word of wheel 5 only, so GT "calm" is skipped in
# wheels 1-4 (per-wheel sample sets differ). "worried" is a synonym but has no format row: OOV.
WORKED_SYNONYMS = {
    "happy": [["glad"], ["glad", "cheery"]],
    "joyful": [[], []],
    "relieved": [[], []],
    "thankful": [[], []],
    "grateful": [["appreciative"], []],
    "nervous": [["jittery"], []],
    "anxious": [["worried"], []],
    "sad": [["frustrated"], []],
    "gloomy": [[], ["frustrated"]],
    "calm": [[], []],
}


def write_worked_example(directory: Path) -> Path:
    return write_tables(directory, WORKED_WHEELS, WORKED_FORMATS, WORKED_SYNONYMS)
