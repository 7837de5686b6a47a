"""The house: lower layers never import higher ones, and no modules import each other in a circle."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "mmemo"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """mmemo module -> the mmemo modules it imports anywhere in its body (lazy imports too)."""
    modules = {_module_name(p): p for p in ROOT.rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text())):
            targets = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            for t in targets:
                if t in modules and t != name:
                    graph[name].add(t)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_the_detector_sees_a_circle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_heads_have_no_import_circle():
    graph = import_graph()
    heads = {m: {t for t in ts if t.startswith("mmemo.heads")} for m, ts in graph.items()}
    heads = {m: ts for m, ts in heads.items() if m.startswith("mmemo.heads")}
    assert cycles(heads) == []


def test_the_package_has_no_import_circle():
    graph = import_graph()
    assert graph.get("mmemo.taxonomy.wheels") and graph.get("mmemo.media")  # it saw them
    assert cycles(graph) == []


def test_heads_never_import_the_recipe_stages_and_stages_never_import_heads():
    graph = import_graph()
    for module, targets in graph.items():
        if module.startswith("mmemo.heads"):
            assert not {t for t in targets if t.startswith("mmemo.training")}, module
        if module.startswith("mmemo.training"):
            assert not {t for t in targets if t.startswith("mmemo.heads")}, module


def test_lower_layers_never_import_higher_ones():
    graph = import_graph()
    higher = ("mmemo.heads", "mmemo.training", "mmemo.models", "mmemo.predict", "mmemo.cli")
    for module, targets in graph.items():
        if module.startswith(("mmemo.encoders", "mmemo.metrics", "mmemo.taxonomy")):
            assert not {t for t in targets if t.startswith(higher)}, module
