"""Label-list CSVs (``name,openset`` with ``"['happy', 'sad']"`` cells) read in numpy.

``mmemo metrics ew`` at reference scale (100k samples) spent most of its time reading the two
CSVs and splitting their list strings. :func:`read_label_csv` does both on the file's bytes
with whole-array numpy operations: quoted regions from the quote positions, rows and fields
from the newlines and commas outside them, and the label words of each cell as runs of bytes
between separators, split and stripped exactly as ``split_labels(cell, answer_tags=False)``
does (metrics.md 1.1). Words stay byte ranges into the file; :class:`LabelCells` hashes them
for a vocabulary lookup (:meth:`mmemo.taxonomy.compiled.CompiledWheels.lookup_spans`).

It is a fast path, not a CSV parser: it returns None for anything it does not handle the way
``csv`` + ``split_labels`` would, and the caller then uses the Python reader, which also names
the problem (a missing column, an empty or duplicate name, a malformed row). None for: non-ASCII
bytes (curly quotes, lowercasing), a quote that does not open or close a field, a bracket
other than the one leading ``[`` / trailing ``]`` of a label cell, a blank line, a row with
another number of fields than the header, a ``status`` column, an empty or space-padded name
or one with quotes inside.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

_QUOTE, _COMMA, _LF, _CR = 34, 44, 10, 13
_PAD = 64  # zero bytes after the data: 8-byte reads past a word's end stay in the buffer
# str.strip() whitespace among ASCII bytes
_SPACE = np.zeros(256, bool)
_SPACE[[9, 10, 11, 12, 13, 28, 29, 30, 31, 32]] = True
# split_labels' separators: quotes (the backtick is a quote, mmemo.taxonomy.text._QUOTES), commas
_SEPARATOR = np.zeros(256, bool)
_SEPARATOR[[ord("'"), ord('"'), ord(","), ord("`")]] = True
# the low k bytes of a little-endian uint64
_BYTES = np.array([(1 << (8 * k)) - 1 for k in range(9)], dtype=np.uint64)
# odd 64-bit multipliers of the word hash (fixed: hashes are compared within one run only)
_MIX = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9,
                 0xD6E8FEB86659FD93, 0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53,
                 0x27D4EB2F165667C5, 0x94D049BB133111EB], dtype=np.uint64)  # fmt: skip


@dataclass
class LabelCells:
    """The label words of every row: ``sample[i]`` is the row of word ``i``, which is the
    bytes ``data[start[i]:stop[i]]`` (stripped, not yet lowercased)."""

    data: np.ndarray  # uint8, the rows' bytes, then _PAD zero bytes
    n: int  # rows
    sample: np.ndarray  # int64 [words]
    start: np.ndarray  # int64 [words]
    stop: np.ndarray  # int64 [words]
    name_start: np.ndarray  # int64 [rows]
    name_stop: np.ndarray  # int64 [rows]

    def names(self) -> list[str]:
        raw = self.data.tobytes()
        return [raw[a:b].decode() for a, b in zip(self.name_start.tolist(),
                                                   self.name_stop.tolist(), strict=True)]  # fmt: skip

    def name_keys(self, width: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(hash, bytes)`` of each name (see :func:`spans_key`), to compare two files'."""
        return spans_key(self.data, self.name_start, self.name_stop, lower=False, width=width)


def spans_key(
    data: np.ndarray, start: np.ndarray, stop: np.ndarray, *, lower: bool, width: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``(hash uint64 [n], bytes uint64 [n, width / 8])`` of the byte ranges of ``data``
    (which ends with :data:`_PAD` zero bytes), zero-padded to ``width`` (default: the longest,
    rounded up to 8); ASCII-lowercased with ``lower``. A range longer than ``width`` gets
    all-ones bytes: it matches no word of at most ``width`` bytes."""
    length = stop - start
    if width is None:
        width = int(length.max()) if len(length) else 0
    width = max(8, -(-width // 8) * 8)
    if len(data) < 8 or (len(start) and int(start.max()) + width > len(data)):
        data = np.concatenate((data, np.zeros(width + 8, np.uint8)))
    # every 8 bytes of the buffer as one (unaligned) uint64: a word's bytes in width / 8 reads
    as_u64 = np.ndarray((len(data) - 7,), np.uint64, buffer=data, strides=(1,))
    words = np.empty((len(start), width // 8), np.uint64)
    for j in range(width // 8):
        w = as_u64[start + 8 * j] & _BYTES[np.clip(length - 8 * j, 0, 8)]
        if lower:  # A-Z: bytes >= 'A' and not > 'Z' get 0x20 (ASCII only, no carries)
            upper = (w + _ONES * 0x3F) & ~(w + _ONES * 0x25) & (_ONES * 0x80)
            w |= upper >> np.uint64(2)
        words[:, j] = w
    too_long = length > width
    if too_long.any():
        words[too_long] = np.uint64(0xFFFFFFFFFFFFFFFF)
    return hash_rows(words), words


_ONES = np.uint64(0x0101010101010101)


def hash_rows(words: np.ndarray) -> np.ndarray:
    """A 64-bit hash of each row of a uint64 matrix (xor, wrapping multiply, shift mix)."""
    h = np.zeros(len(words), np.uint64)
    for j in range(words.shape[1]):
        h = (h ^ words[:, j]) * _MIX[j % len(_MIX)]
        h ^= h >> np.uint64(29)
    return h


def all_distinct(values: np.ndarray) -> bool:
    """No value twice (by sorting: ``np.unique`` hashes, several times slower here)."""
    if len(values) < 2:
        return True
    ordered = np.sort(values)
    return bool((ordered[1:] != ordered[:-1]).all())


def _regions(start: np.ndarray, stop: np.ndarray, size: int) -> np.ndarray:
    """Boolean ``[size]``: inside one of the sorted, disjoint ranges ``[start, stop)``."""
    bounds = np.empty(2 * len(start) + 2, np.int64)
    bounds[0], bounds[-1] = 0, size
    bounds[1:-1:2], bounds[2:-1:2] = start, stop
    flags = np.zeros(len(bounds) - 1, bool)
    flags[1::2] = True
    return np.repeat(flags, np.diff(bounds))


def read_label_csv(path: str | Path, column: str) -> LabelCells | None:
    """The rows of ``path`` (key column ``name``, else ``id``) and the words of ``column``;
    None when the fast path does not apply (see the module doc)."""
    import csv

    path = Path(path)
    if path.suffix.lower() == ".jsonl" or not path.is_file():
        return None
    size = path.stat().st_size
    buf = bytearray(size + 1 + _PAD)  # the file, a newline if it has none, zero padding
    with path.open("rb") as fh:
        size = fh.readinto(memoryview(buf)[:size])
    begin = 3 if buf.startswith(b"\xef\xbb\xbf") else 0
    head_end = buf.find(b"\n", begin, size)
    if head_end < 0:
        return None
    try:
        fields = next(csv.reader([buf[begin:head_end].decode("ascii").rstrip("\r")]))
    except (UnicodeDecodeError, StopIteration, csv.Error):
        return None
    key = "name" if "name" in fields else "id" if "id" in fields else None
    if key is None or column not in fields or "status" in fields or len(set(fields)) != len(fields):
        return None
    width = len(fields)
    if width < 2:
        return None
    if buf[size - 1] != _LF:
        buf[size] = _LF
        size += 1
    data = np.frombuffer(buf, np.uint8)[head_end + 1 :]
    b = data[: size - head_end - 1]
    if len(b) < 2 or int(b.max()) >= 0x80:
        return None

    # ---- quoted regions: quotes pair up; an opening quote starts a field (or is the second
    # half of an escaped ""), a closing one ends it (or is the first half of "").
    # The whole-file passes write into one reused boolean (``scratch``): a fresh 5 MB
    # temporary per pass costs more in page faults than the comparison itself.
    scratch = np.empty(len(b), bool)

    def positions(value: int) -> np.ndarray:
        return np.flatnonzero(np.equal(b, value, out=scratch))

    n_cr = 0  # bytes.find: memchr, stops at the first
    if buf.find(b"\r", head_end + 1, size) >= 0:
        n_cr = np.count_nonzero(np.equal(b, _CR, out=scratch))
    q = positions(_QUOTE)
    if len(q) % 2:
        return None
    opening, closing = q[0::2], q[1::2]
    before = np.where(opening > 0, b[np.maximum(opening - 1, 0)], _LF)
    if not np.isin(before, (_COMMA, _LF, _QUOTE)).all():
        return None
    if not np.isin(data[closing + 1], (_COMMA, _LF, _CR, _QUOTE)).all():
        return None
    lf = positions(_LF)
    outside = None
    if len(q):  # keep the newlines and commas outside [open, close] (quotes included)
        outside = _regions(opening, closing + 1, len(b))
        np.logical_not(outside, out=outside)
        lf = lf[outside[lf]]
        commas = np.flatnonzero(np.logical_and(np.equal(b, _COMMA, out=scratch), outside,
                                               out=scratch))  # fmt: skip
    else:
        commas = positions(_COMMA)
    if n_cr and not (n_cr == len(lf) and (data[lf - 1] == _CR).all()):
        # CRs other than one before each row's newline: find them (those inside quotes stay)
        cr = positions(_CR)
        cr = cr[outside[cr]] if outside is not None else cr
        if len(cr) and not (data[cr + 1] == _LF).all():
            return None
    has_cr = n_cr > 0

    # ---- rows and fields from the newlines and commas outside quotes
    row_start = np.concatenate(([0], lf[:-1] + 1))
    row_stop = lf - (data[np.maximum(lf - 1, 0)] == _CR) if has_cr else lf
    if (row_stop <= row_start).any():  # a blank line
        return None
    n = len(lf)
    if len(commas) != n * (width - 1):
        return None
    commas = commas.reshape(n, width - 1)
    if (commas[:, 0] < row_start).any() or (commas[:, -1] >= row_stop).any():
        return None  # some row has another number of fields than the header
    f_start = np.concatenate((row_start[:, None], commas + 1), axis=1)
    f_stop = np.concatenate((commas, row_stop[:, None]), axis=1)

    # ---- names: not empty, no surrounding spaces, quoted only whole (else the Python reader)
    i_key, i_col = fields.index(key), fields.index(column)
    ns, ne = f_start[:, i_key].copy(), f_stop[:, i_key].copy()
    named = ne > ns
    if not named.all():
        return None
    quoted = b[ns] == _QUOTE
    if quoted.any():  # "name": its two quotes only (no "" inside)
        if (np.searchsorted(q, ne[quoted]) - np.searchsorted(q, ns[quoted]) != 2).any():
            return None
        ns[quoted] += 1
        ne[quoted] -= 1
    if (ne <= ns).any() or _SPACE[b[ns]].any() or _SPACE[b[ne - 1]].any():
        return None

    # ---- the label cells: quoted content without its quotes; the one leading [ and the
    # one trailing ] of a cell are separators, any other bracket in a cell sends the file back
    cs, ce = f_start[:, i_col].copy(), f_stop[:, i_col].copy()
    quoted = (ce > cs) & (b[cs] == _QUOTE)
    cs[quoted] += 1
    ce[quoted] -= 1
    full = ce > cs
    lead = cs[full & (data[cs] == ord("["))]
    trail = ce[full & (data[np.maximum(ce - 1, 0)] == ord("]"))] - 1
    in_cell = _regions(cs, ce, len(b))
    n_open = np.count_nonzero(np.equal(b, ord("["), out=scratch))
    n_close = np.count_nonzero(np.equal(b, ord("]"), out=scratch))
    if (n_open, n_close) != (len(lead), len(trail)):  # brackets elsewhere: count the cells'
        in_open = np.count_nonzero(in_cell & (b == ord("[")))
        if (in_open, np.count_nonzero(in_cell & (b == ord("]")))) != (len(lead), len(trail)):
            return None
    separator = np.equal(b, ord("'"))
    for byte in (_COMMA, _QUOTE, ord("`")):
        separator |= np.equal(b, byte, out=scratch)
    separator |= np.logical_not(in_cell, out=in_cell)
    separator[lead] = True
    separator[trail] = True
    # a lone space between separators (the one in ', ') would be a run that strips to
    # nothing: a separator too, so the runs below are (nearly) the words
    lone = np.equal(b[1:-1], 32, out=scratch[1:-1])
    lone &= separator[:-2]
    lone &= separator[2:]
    separator[1:-1] |= lone
    # words: runs of non-separator bytes (the buffer starts and ends with separators)
    changes = in_cell  # reused: changes[i], byte i differs from byte i - 1
    changes[0] = False
    np.not_equal(separator[1:], separator[:-1], out=changes[1:])
    edges = np.flatnonzero(changes)
    start, stop = edges[0::2], edges[1::2]
    # strip: a run that is one space (between ', ') goes; the rare run with spaces at its
    # ends is trimmed one byte at a time
    lead_space, trail_space = _SPACE[data[start]], _SPACE[data[stop - 1]]
    if lead_space.any() or trail_space.any():
        keep = ~(lead_space & (stop - start == 1))
        start, stop = start[keep], stop[keep]
        lead_space, trail_space = lead_space[keep], trail_space[keep]
        for idx, step in ((np.flatnonzero(lead_space), 1), (np.flatnonzero(trail_space), -1)):
            for _ in range(64):
                if not len(idx):
                    break
                at = start[idx] if step == 1 else stop[idx] - 1
                idx = idx[_SPACE[data[at]] & (start[idx] < stop[idx])]
                if step == 1:
                    start[idx] += 1
                else:
                    stop[idx] -= 1
            else:
                return None  # more than 64 spaces around a word
        keep = start < stop
        start, stop = start[keep], stop[keep]
    per_row = np.diff(np.searchsorted(start, np.concatenate((row_start, [len(b)]))))
    sample = np.repeat(np.arange(n, dtype=np.int64), per_row)
    return LabelCells(data, n, sample, start.astype(np.int64, copy=False),
                      stop.astype(np.int64, copy=False), ns.astype(np.int64, copy=False),
                      ne.astype(np.int64, copy=False))  # fmt: skip


__all__ = ["LabelCells", "all_distinct", "hash_rows", "read_label_csv", "spans_key"]
