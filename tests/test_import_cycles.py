"""No two modules of the packages import each other, directly or round a longer circle (lazy,
function-level imports counted: they are still a dependency)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("calib", "circuits", "cosim", "nmpkit")


def _module_of(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(files: dict[str, str]) -> dict[str, set[str]]:
    """module -> the project modules it imports (``files``: module name -> source). ``from P
    import name`` names the module ``P.name`` where that is one, else ``P``."""
    graph: dict[str, set[str]] = {m: set() for m in files}
    for mod, src in files.items():
        for node in ast.walk(ast.parse(src)):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in files
                           else node.module for a in node.names]
            else:
                continue
            graph[mod] |= {t for t in targets if t in files and t != mod}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
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

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_checker_finds_a_lazy_two_module_circle():
    files = {"p.a": "from p.b import x\n",
             "p.b": "def f():\n    from p.a import y\n",
             "p.c": "import p.a\n"}
    assert cycles(import_graph(files)) == [["p.a", "p.b"]]


def test_no_import_cycles_in_the_packages():
    files = {_module_of(p): p.read_text(encoding="utf-8")
             for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}
    assert len(files) > 100
    found = cycles(import_graph(files))
    assert not found, f"modules that import each other: {found}"
