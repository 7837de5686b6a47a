"""Affective-tree edit-distance reward (VidEmo, rewards.md §12; mmemo's implementation).

Trees are ``{"label": str, "children": [...]}``. The think span is parsed as either one
JSON object (the first ``{`` to the last ``}``) or indented ``Attribute:``/``Expression:``/
``Emotion:`` lines, nested by role: root → attributes → expressions → emotion (an
``Expression`` attaches to the last ``Attribute``, an ``Emotion`` to the last ``Expression``;
missing parents attach to the root).

``R_tree = 1 − TED(T̂, T) / max(|T̂|, |T|)`` with the Zhang–Shasha edit distance, unit insert
and delete costs, and substitution cost 0 when both labels are equal after normalisation or
map to the same emotion-wheel cluster (wheel ``wheel``, level 1), else 1. Both trees count
their root. Trees are truncated to ``max_nodes`` nodes (pre-order) so one sample costs at
most O(max_nodes⁴) in the worst case. Unparsable prediction → 0; no reference → ``None``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from mmemo.rewards.core import Reward, Score, column
from mmemo.rewards.parsing import think_span

Tree = dict[str, Any]
_ROLES = {"attribute": 1, "attributes": 1, "expression": 2, "expressions": 2, "emotion": 3}


def _clean(label: Any) -> str:
    return " ".join(str(label).strip().strip(".,;:\"'").lower().split())


def tree_from_json(value: Any, max_nodes: int = 64) -> Tree | None:
    """A ``{label, children}`` tree from a dict or JSON string; ``None`` if malformed."""
    if isinstance(value, str):
        start, end = value.find("{"), value.rfind("}")
        if start < 0 or end <= start or end - start > 200_000:
            return None
        try:
            value = json.loads(value[start : end + 1])
        except ValueError:
            return None
    if not isinstance(value, dict) or "label" not in value:
        return None
    budget = [max_nodes]

    def build(node: Any, depth: int) -> Tree | None:
        if not isinstance(node, dict) or budget[0] <= 0 or depth > 32:
            return None
        budget[0] -= 1
        kids = node.get("children") or []
        children = []
        if isinstance(kids, list):
            for kid in kids:
                built = build(kid, depth + 1)
                if built is not None:
                    children.append(built)
        return {"label": _clean(node.get("label", "")), "children": children}

    return build(value, 0)


def tree_from_lines(text: str, max_nodes: int = 64) -> Tree | None:
    """A tree from ``Attribute:``/``Expression:``/``Emotion:`` lines; ``None`` if there are none.

    >>> t = tree_from_lines("Attribute: mouth\\n  Expression: smile\\n    Emotion: happy")
    >>> t["children"][0]["children"][0]["children"][0]["label"]
    'happy'
    """
    root: Tree = {"label": "root", "children": []}
    last: dict[int, Tree] = {0: root}
    count = 1
    for line in text.splitlines():
        head, sep, rest = line.strip().lstrip("-*• ").partition(":")
        depth = _ROLES.get(head.strip().lower()) if sep else None
        if depth is None or not rest.strip():
            continue
        if count >= max_nodes:
            break
        parent = next(last[d] for d in range(depth - 1, -1, -1) if d in last)
        node: Tree = {"label": _clean(rest), "children": []}
        parent["children"].append(node)
        last[depth] = node
        for deeper in [d for d in last if d > depth]:
            del last[deeper]
        count += 1
    return root if root["children"] else None


def parse_tree(text: str, max_nodes: int = 64) -> Tree | None:
    """JSON tree if the text holds one, else the role-line tree, else ``None``."""
    if "{" in text:
        tree = tree_from_json(text, max_nodes)
        if tree is not None:
            return tree
    return tree_from_lines(text, max_nodes)


def _postorder(tree: Tree) -> tuple[list[str], list[int]]:
    """Post-order labels and leftmost-leaf indices (0-based), iteratively.

    A subtree occupies a contiguous post-order range that starts at its leftmost leaf, so a
    node's leftmost index is the label count when the node was first reached.
    """
    labels: list[str] = []
    leftmost: list[int] = []
    stack: list[list[Any]] = [[tree, 0, 0]]  # node, next child, first post-order index
    while stack:
        top = stack[-1]
        node, child_i = top[0], top[1]
        kids = node["children"]
        if child_i < len(kids):
            top[1] += 1
            stack.append([kids[child_i], 0, len(labels)])
            continue
        stack.pop()
        labels.append(node["label"])
        leftmost.append(top[2])
    return labels, leftmost


def _size(tree: Tree) -> int:
    total, stack = 0, [tree]
    while stack:
        node = stack.pop()
        total += 1
        stack.extend(node["children"])
    return total


def tree_edit_distance(
    a: Tree, b: Tree, sub_cost: Callable[[str, str], float] | None = None
) -> float:
    """Zhang–Shasha tree edit distance with unit insert/delete and ``sub_cost`` (default 0/1).

    >>> leaf = lambda s: {"label": s, "children": []}
    >>> tree_edit_distance({"label": "r", "children": [leaf("a"), leaf("b")]},
    ...                    {"label": "r", "children": [leaf("a")]})
    1.0
    """
    cost = sub_cost or (lambda x, y: 0.0 if x == y else 1.0)
    la, lla = _postorder(a)
    lb, llb = _postorder(b)
    na, nb = len(la), len(lb)
    keyroots_a = sorted({max(i for i in range(na) if lla[i] == left) for left in set(lla)})
    keyroots_b = sorted({max(j for j in range(nb) if llb[j] == left) for left in set(llb)})
    td = [[0.0] * nb for _ in range(na)]
    for i in keyroots_a:
        for j in keyroots_b:
            li, lj = lla[i], llb[j]
            rows, cols = i - li + 2, j - lj + 2
            fd = [[0.0] * cols for _ in range(rows)]
            for x in range(1, rows):
                fd[x][0] = fd[x - 1][0] + 1.0
            for y in range(1, cols):
                fd[0][y] = fd[0][y - 1] + 1.0
            for x in range(1, rows):
                ai = li + x - 1
                for y in range(1, cols):
                    bj = lj + y - 1
                    if lla[ai] == li and llb[bj] == lj:
                        fd[x][y] = min(
                            fd[x - 1][y] + 1.0,
                            fd[x][y - 1] + 1.0,
                            fd[x - 1][y - 1] + cost(la[ai], lb[bj]),
                        )
                        td[ai][bj] = fd[x][y]
                    else:
                        p, q = lla[ai] - li, llb[bj] - lj
                        fd[x][y] = min(
                            fd[x - 1][y] + 1.0, fd[x][y - 1] + 1.0, fd[p][q] + td[ai][bj]
                        )
    return td[na - 1][nb - 1]


class AffectTreeReward(Reward):
    """``1 − TED/max(|T̂|, |T|)`` between the think-span tree and ``affect_tree`` (range [0, 1]).

    Labels are compared after lowercasing/stripping and, through ``mmemo.taxonomy``, by
    emotion-wheel cluster (``wheel`` k, level 1). See the module docstring for parsing.

    >>> ref = {"label": "root", "children": [{"label": "mouth", "children": [
    ...     {"label": "smile", "children": [{"label": "happy", "children": []}]}]}]}
    >>> AffectTreeReward(use_wheels=False)(
    ...     ["<think>Attribute: mouth\\nExpression: smile\\nEmotion: happy</think>"], affect_tree=[ref])
    [1.0]
    """

    __name__ = "affect_tree_reward"
    value_range = (0.0, 1.0)

    def __init__(
        self,
        column: str = "affect_tree",
        wheel: int = 1,
        use_wheels: bool = True,
        max_nodes: int = 64,
        style: str | Sequence[str] = "xml",
    ) -> None:
        super().__init__()
        self.column, self.wheel, self.use_wheels = column, wheel, use_wheels
        self.max_nodes, self.style = max_nodes, style
        self._wheels: Any = None
        self._cluster_cache: dict[str, str | None] = {}

    def prepare(self, columns: dict[str, Any], trainer_state: Any) -> None:
        if self.use_wheels and self._wheels is None:
            from mmemo.taxonomy import load_wheels

            self._wheels = load_wheels()

    def _cluster(self, label: str) -> str | None:
        if label in self._cluster_cache:
            return self._cluster_cache[label]
        value = None
        if self._wheels is not None:
            from mmemo.taxonomy import normalise_label

            word = normalise_label(label) or label
            value = self._wheels.map(word, self.wheel, level="level1")
        if len(self._cluster_cache) < 8192:
            self._cluster_cache[label] = value
        return value

    def _sub(self, x: str, y: str) -> float:
        if x == y:
            return 0.0
        cx = self._cluster(x)
        return 0.0 if cx is not None and cx == self._cluster(y) else 1.0

    def score(self, text: str, index: int, columns: dict[str, Any], ids: Any) -> Score:
        ref = tree_from_json(column(columns, self.column, index), self.max_nodes)
        if ref is None:
            return None
        think = think_span(text, self.style)
        pred = parse_tree(think, self.max_nodes)
        if pred is None:
            return 0.0
        if "{" not in think:  # role-line trees get the reference's root label
            pred["label"] = ref["label"]
        ted = tree_edit_distance(pred, ref, self._sub)
        return {"overall": 1.0 - ted / max(_size(pred), _size(ref)), "ted": ted}

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_wheels"] = None
        state["_cluster_cache"] = {}
        return state


def get_affect_tree_reward(**params: Any) -> AffectTreeReward:
    """Factory for :class:`AffectTreeReward`."""
    return AffectTreeReward(**params)
