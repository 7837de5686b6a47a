"""Reference tables compiled to integer arrays, cached beside the user's tables.

Reading ``synonym.xlsx`` and five ``wheelK.xlsx`` files costs about a second and a half
(openpyxl) every run. :func:`compiled_reference_tables` does it once, maps every word of the
reference vocabulary (the keys of ``format.csv``, where the reference looks words up) through
every wheel at both levels with the same :class:`~mmemo.taxonomy.wheelset.WheelSet` the metric
uses, and stores the result as plain arrays in ``DIR/.mmemo_ew_cache.npz`` (no pickled
objects: it loads with ``allow_pickle=False``). The cache is keyed on the names, sizes and
modification times of the source files, the neutral policy and :data:`VERSION`; a stale or
unreadable cache is rebuilt. When ``DIR`` is read-only the cache goes to
``~/.cache/mmemo/ew/``.

A word outside the vocabulary maps to nothing in every wheel, as in the reference (its
``map_k`` returns NONE for a word not in the format table). The vectorised dataset metric
over these arrays is :func:`mmemo.metrics_compiled.ew_score_compiled`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mmemo.taxonomy.wheels import LEVELS

VERSION = 1
CACHE_NAME = ".mmemo_ew_cache.npz"
_SOURCES = ("format.csv", "synonym.xlsx", "wheel_mapping.npz")


@dataclass
class CompiledWheels:
    """``table[level][k, v]``: cluster index of vocabulary word ``v`` in wheel ``k`` (-1: none)."""

    words: dict[str, int]
    clusters: list[str]
    table: dict[str, np.ndarray]  # level -> int32 [K, V + 1]; column V is "not in vocabulary"
    names: list[str]
    description: str
    source: str  # "cache" or "tables"

    @property
    def n_wheels(self) -> int:
        return len(self.names)

    def ids(self, words: list[str]) -> list[int]:
        """Vocabulary index of each word (lowercased, stripped); V for unknown words."""
        unknown = len(self.words)
        get = self.words.get
        return [get(w.lower().strip(), unknown) for w in words]

    def flat_ids(self, samples: list) -> tuple[np.ndarray, np.ndarray]:
        """``(sample index, vocabulary index)`` of every label of every sample.

        A sample is a word list, or a list string parsed as ``split_labels(s,
        answer_tags=False)`` does (metrics.md 1.1); list strings are tokenised all at once
        in numpy when that gives the same words (no ``[``/``]`` inside a string), else one
        by one.
        """
        if _is_arrow(samples):
            fast = _tokenise_arrow(samples)
            if fast is not None:
                sample, tokens = fast
                return sample, self._lookup_arrow(tokens)
            samples = samples.to_pylist()
        samples = list(samples)
        n = len(samples)
        if n and all(isinstance(x, str) for x in samples):
            fast = _tokenise(samples)
            if fast is not None:
                sample, tokens = fast
                return sample, self._lookup(tokens)
        from mmemo.taxonomy.text import split_labels

        ids = [
            self.ids(split_labels(x, answer_tags=False) if isinstance(x, str) else list(x))
            for x in samples
        ]
        sample = np.repeat(np.arange(n, dtype=np.int64), [len(x) for x in ids])
        return sample, np.fromiter((i for x in ids for i in x), np.int64, count=len(sample))

    def prepare_spans(self) -> bool:
        """Build the hash table of :meth:`lookup_spans` now (before threads share it);
        False when it cannot be built (two vocabulary words with one hash)."""
        if not hasattr(self, "_span_table"):
            self._span_table = _span_table(self.words)
        return self._span_table is not None

    def lookup_spans(self, cells) -> np.ndarray | None:
        """Vocabulary index (V for unknown) of each word of ``cells``
        (:class:`mmemo.taxonomy.label_csv.LabelCells`: byte ranges, lowercased here): a 64-bit
        hash looked up in an open-addressing table, then checked byte for byte. None when two
        vocabulary words share a hash."""
        from mmemo.taxonomy.label_csv import spans_key

        if not self.prepare_spans():
            return None
        v_hash, v_words, slot_id, shift, probes = self._span_table
        unknown = len(self.words)
        h, words = spans_key(cells.data, cells.start, cells.stop, lower=True,
                             width=v_words.shape[1] * 8)  # fmt: skip
        out = np.full(len(h), unknown, np.int64)
        todo = np.arange(len(h))
        slot = (h >> np.uint64(shift)).astype(np.int64)
        mask = len(slot_id) - 1
        for _ in range(probes):  # linear probing, all words a step at a time
            cand = slot_id[slot]
            hit = (cand >= 0) & (v_hash[np.maximum(cand, 0)] == h[todo])
            out[todo[hit]] = cand[hit]
            more = (cand >= 0) & ~hit
            todo, slot = todo[more], (slot[more] + 1) & mask
            if not len(todo):
                break
        known = np.flatnonzero(out < unknown)
        ids = out[known]
        same = v_words[:, 0][ids] == words[:, 0][known]  # column by column: .all(axis=1)
        for j in range(1, v_words.shape[1]):  # over a short axis is several times slower
            same &= v_words[:, j][ids] == words[:, j][known]
        out[known[~same]] = unknown  # a hash shared with a word that is not this one
        return out

    def _lookup(self, tokens: np.ndarray) -> np.ndarray:
        if not hasattr(self, "_sorted"):
            order = sorted(self.words)
            self._sorted = np.array(order or [""], dtype=str)
            self._sorted_ids = np.array([self.words[w] for w in order] or [0], np.int64)
        pos = np.searchsorted(self._sorted, tokens).clip(0, len(self._sorted) - 1)
        found = self._sorted[pos] == tokens
        return np.where(found, self._sorted_ids[pos], len(self.words))

    def _lookup_arrow(self, tokens) -> np.ndarray:
        import pyarrow as pa
        import pyarrow.compute as pc

        if not hasattr(self, "_vocab_arrow"):  # from buffers: pa.array() would import pandas
            order = sorted(self.words, key=self.words.__getitem__)
            data = [w.encode() for w in order]
            offsets = np.zeros(len(data) + 1, np.int32)
            np.cumsum([len(b) for b in data], out=offsets[1:])
            self._vocab_arrow = pa.StringArray.from_buffers(
                len(data), pa.py_buffer(offsets.tobytes()), pa.py_buffer(b"".join(data))
            )
        ids = _ints(pc.index_in(tokens, value_set=self._vocab_arrow))
        return np.where(ids < 0, len(self.words), ids)


def _span_table(vocab: dict[str, int]):
    """``(hash by id, bytes by id, slot -> id, shift, probes)``: the vocabulary in an
    open-addressing hash table of at least 4 slots per word; None on a hash collision."""
    from mmemo.taxonomy.label_csv import all_distinct, spans_key

    order = sorted(vocab, key=vocab.__getitem__)
    raw = [w.encode() for w in order]
    lengths = np.array([len(w) for w in raw], np.int64)
    data = np.frombuffer(b"".join(raw) + bytes(64), np.uint8)
    stop = np.cumsum(lengths)
    h, words = spans_key(data, stop - lengths, stop, lower=False)
    if not all_distinct(h):
        return None
    bits = max(8, (4 * max(1, len(h))).bit_length())
    shift = 64 - bits
    slot_id = np.full(1 << bits, -1, np.int64)
    home = (h >> np.uint64(shift)).astype(np.int64)
    pending, probe = np.arange(len(h)), 0
    while len(pending):  # place a probe step at a time; the first claimant wins a slot
        cand = (home[pending] + probe) & ((1 << bits) - 1)
        free = np.flatnonzero(slot_id[cand] < 0)
        slots, first = np.unique(cand[free], return_index=True)
        slot_id[slots] = pending[free[first]]
        placed = np.zeros(len(pending), bool)
        placed[free[first]] = True
        pending, probe = pending[~placed], probe + 1
    return h, words, slot_id, shift, probe + 1


def _ints(arr) -> np.ndarray:
    """An Arrow integer array as int64 numpy, nulls as -1, read from its buffers (to_numpy
    makes pyarrow import pandas, about 0.3 s of a metric run)."""
    dtype = {8: np.int8, 16: np.int16, 32: np.int32, 64: np.int64}[arr.type.bit_width]
    n, off = len(arr), arr.offset
    out = np.frombuffer(arr.buffers()[1], dtype=dtype)[off : off + n].astype(np.int64)
    if arr.null_count:
        bits = np.unpackbits(np.frombuffer(arr.buffers()[0], np.uint8), bitorder="little")
        out[bits[off : off + n] == 0] = -1
    return out


def _is_arrow(x) -> bool:
    return type(x).__module__.startswith("pyarrow")


def _tokenise_arrow(cells) -> tuple[np.ndarray, object] | None:
    """:func:`_tokenise` on a pyarrow string array, in Arrow's compute kernels."""
    import pyarrow.compute as pc

    from mmemo.taxonomy.text import _QUOTES

    x = cells  # a null (a name without a prediction) yields no tokens: an empty list
    trimmed = pc.utf8_trim_whitespace(x)
    for bracket, at in (("[", pc.starts_with), ("]", pc.ends_with)):
        count = pc.count_substring(x, bracket)
        if pc.sum(count).as_py() != pc.sum(pc.cast(at(trimmed, bracket), "int64")).as_py():
            return None  # a bracket inside a string: split_labels keeps it in the word
        if pc.max(count).as_py() not in (None, 0, 1):
            return None
    ascii_only = pc.all(pc.string_is_ascii(x)).as_py() is not False
    quotes = "".join(chr(c) for c in _QUOTES)  # curly quotes, acute accent, backtick
    seps = "[]'\"" + "".join(q for q in quotes if q.isascii() or not ascii_only)
    for ch in seps:  # plain replacements then one plain split: 3x faster than a regex split
        x = pc.replace_substring(x, ch, ",")
    parts = pc.split_pattern(x, ",")
    flat = pc.list_flatten(parts)
    if ascii_only:
        tokens = pc.ascii_lower(pc.ascii_trim_whitespace(flat))
    else:
        tokens = pc.utf8_lower(pc.utf8_trim_whitespace(flat))
    keep = pc.cast(pc.utf8_length(tokens), "bool")  # non-empty (no Python scalar: see above)
    sample = pc.filter(pc.list_parent_indices(parts), keep)
    return _ints(sample), pc.filter(tokens, keep)


_SEP = "\x01"  # not NUL: numpy strings drop trailing NULs
_TO_COMMA = str.maketrans({"'": ",", '"': ",", "[": ",", "]": ",", _SEP: f",{_SEP},"})


def _tokenise(cells: list[str]) -> tuple[np.ndarray, np.ndarray] | None:
    """Vectorised ``split_labels(cell, answer_tags=False)`` over all cells, or None when a
    cell holds a bracket other than one leading ``[`` / one trailing ``]`` (or the separator)."""
    import re

    from mmemo.taxonomy.text import _QUOTES

    big = _SEP.join(cells).translate(_QUOTES)
    if big.count(_SEP) != len(cells) - 1:
        return None
    lead = len(re.findall(r"(?:^|\x01)\s*\[", big))
    trail = len(re.findall(r"\]\s*(?=\x01|$)", big))
    if big.count("[") != lead or big.count("]") != trail:
        return None
    tokens = np.array(big.lower().translate(_TO_COMMA).split(","), dtype=str)
    tokens = np.strings.strip(tokens)
    sep = tokens == _SEP
    sample = np.cumsum(sep)
    keep = ~sep & (tokens != "")
    return sample[keep].astype(np.int64), tokens[keep]


def _signature(directory: Path, neutral: str) -> str:
    files = sorted(
        p for p in directory.iterdir() if p.name in _SOURCES or p.name.startswith("wheel")
    )
    parts = [f"v{VERSION}", neutral]
    for p in files:
        if p.is_file() and p.name != CACHE_NAME:
            st = p.stat()
            parts.append(f"{p.name}:{st.st_size}:{st.st_mtime_ns}")
    return "|".join(parts)


def _cache_paths(directory: Path):
    """The cache beside the tables, then the one under ``~/.cache/mmemo/ew/`` (a generator:
    the second path, and the hashlib import it needs, only when the first will not do)."""
    yield directory / CACHE_NAME
    import hashlib  # (OpenSSL: a few ms of a metric run)

    key = hashlib.sha256(str(directory.resolve()).encode()).hexdigest()[:16]
    home = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "mmemo" / "ew"
    yield home / f"{key}.npz"


def _load(path: Path, signature: str) -> CompiledWheels | None:
    try:
        with np.load(path, allow_pickle=False) as z:
            if str(z["signature"]) != signature:
                return None
            words = z["words"].tolist()  # Python strs, in one call
            return CompiledWheels(
                words={w: i for i, w in enumerate(words)},
                clusters=z["clusters"].tolist(),
                table={lv: z[f"table_{lv}"].astype(np.int32) for lv in LEVELS},
                names=z["names"].tolist(),
                description=str(z["description"]),
                source="cache",
            )
    except (OSError, KeyError, ValueError):
        return None


def compile_wheelset(ws, vocabulary: list[str]) -> CompiledWheels:
    """Map every vocabulary word through ``ws`` (a ``WheelSet``) at both levels."""
    clusters: dict[str, int] = {}
    table = {}
    for lv in LEVELS:
        t = np.full((ws.n_wheels, len(vocabulary) + 1), -1, np.int32)
        for v, word in enumerate(vocabulary):
            for k, c in enumerate(ws.map_all(word, lv)):
                if c is not None:
                    t[k, v] = clusters.setdefault(c, len(clusters))
        table[lv] = t
    return CompiledWheels(
        words={w: i for i, w in enumerate(vocabulary)},
        clusters=list(clusters),
        table=table,
        names=list(ws.names),
        description=ws.describe(),
        source="tables",
    )


def compiled_reference_tables(
    directory: str | Path, *, neutral: str = "drop", allow_pickle: bool = False
) -> CompiledWheels:
    """The reference tables of ``directory`` as arrays: from the cache, else built and cached."""
    d = Path(directory)
    if not d.is_dir():
        from mmemo.taxonomy.reference import ReferenceTableError

        raise ReferenceTableError(f"{d}: reference-table directory not found")
    signature = _signature(d, neutral)
    for path in _cache_paths(d):
        if path.is_file():
            hit = _load(path, signature)
            if hit is not None:
                return hit
    from mmemo.taxonomy.reference import load_reference_tables

    ws = load_reference_tables(d, neutral=neutral, allow_pickle=allow_pickle)
    vocabulary = sorted(set(ws._resolver.fmap) | ({"neutral"} if neutral == "cluster" else set()))
    compiled = compile_wheelset(ws, vocabulary)
    arrays = {
        "signature": np.array(signature),
        "words": np.array(vocabulary, dtype=str),
        "clusters": np.array(compiled.clusters, dtype=str),
        "names": np.array(compiled.names, dtype=str),
        "description": np.array(compiled.description),
        **{f"table_{lv}": compiled.table[lv].astype(np.int16) for lv in LEVELS},
    }
    for path in _cache_paths(d):
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.name + f".{os.getpid()}.tmp.npz")
            np.savez_compressed(tmp, **arrays)
            os.replace(tmp, path)
            break
        except OSError:
            continue
    return compiled


def describe_cache(compiled: CompiledWheels) -> str:
    """One line for stderr: the wheels and where they came from."""
    where = "cached arrays" if compiled.source == "cache" else "read from the tables, now cached"
    return f"{compiled.description} [{where}; {len(compiled.words)} words]"


__all__ = ["CompiledWheels", "compile_wheelset", "compiled_reference_tables", "describe_cache"]
