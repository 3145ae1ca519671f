"""Dependencies point one way, and this test says which (issue 14; DESIGN.md, "Layout").

Every import in ``src/levelhead`` counts: at the top of a module, inside a function, and under
``TYPE_CHECKING``. Each package may import the packages its row of ``MAY_IMPORT`` names, and no
module may take part in an import cycle. Adding a package means adding its row here.

    cli, web → report → analysis → stats, store → records
    runner → targets, probes, judges, store
    probes → analysis (never report); behaviour packages never import each other
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

import levelhead

SRC = Path(levelhead.__file__).resolve().parent
ROOT = "<root>"  # the package's own __init__ (the curated public API)

# The leaves: imported by many, importing (almost) nothing.
BASE = {"errors", "records", "registry", "_version", "_csv"}
MAY_IMPORT: dict[str, set[str]] = {
    "_version": set(),
    "_csv": {"errors"},
    "errors": set(),
    "records": set(),
    "registry": {"errors"},
    "stats": set(),  # pure: numpy, scipy and statsmodels only (tests/stats/test_stats_api.py)
    "store": {"errors", "records", "_version"},
    "targets": {"errors", "records", "registry"},
    "judges": {"errors", "records", "registry", "stats", "targets", "_csv"},
    "analysis": {"errors", "records", "stats", "store", "judges"},
    "probes": {"errors", "records", "registry", "stats", "judges", "targets", "analysis", "_csv"},
    "spec": {"errors", "registry", "targets", "probes", "judges"},
    "report": {"errors", "records", "registry", "stats", "store", "judges", "probes", "spec",
               "analysis"},
    "runner": {"errors", "records", "registry", "_version", "targets", "probes", "judges", "store",
               "spec"},
    "cli": BASE | {"stats", "store", "targets", "judges", "analysis", "probes", "spec", "report",
                   "runner", "web", "guard", "monitor"},
    "guard": {"errors", "registry", "judges", "store"},  # store: where its decisions go
    "monitor": {"errors", "records", "registry", "judges", "stats", "store"},
    "web": {"errors", "records", "registry", "stats", "store", "judges", "analysis", "report"},
    ROOT: {"_version", "errors", "records", "runner", "spec", "store", "report"},  # report: lazily
    "__main__": {"cli"},
}
# The behaviour packages: every sub-package of levelhead.probes (found, so that a new one is held
# to the same rules without touching this file).
BEHAVIOURS = tuple(sorted(p.parent.name for p in (SRC / "probes").glob("*/__init__.py")))


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(SRC.rglob("*.py")):
        parts = ("levelhead", *path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _resolve(name: str) -> str | None:
    """The longest prefix of a dotted name that is a levelhead module."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(module: str) -> set[str]:
    """Every levelhead module ``module`` imports, wherever the import statement is."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            # ``from pkg import name``: the submodule pkg.name where there is one, else pkg.
            names = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for name in names:
            if name == "levelhead" or name.startswith("levelhead."):
                target = _resolve(name)
                if target is not None and target != module:
                    found.add(target)
    return found


GRAPH = {m: _imports(m) for m in MODULES}


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ROOT


def test_every_package_has_a_row():
    assert {_package(m) for m in MODULES} <= set(MAY_IMPORT)


@pytest.mark.parametrize("package", sorted(MAY_IMPORT))
def test_package_imports_only_what_its_row_allows(package):
    wrong = sorted(f"{m} imports {t}" for m, targets in GRAPH.items() if _package(m) == package
                   for t in targets
                   if _package(t) != package and _package(t) not in MAY_IMPORT[package])
    assert not wrong, "\n".join(wrong)


def test_probes_never_import_the_report_and_behaviour_packages_stay_apart():
    wrong = []
    for module, targets in GRAPH.items():
        if _package(module) != "probes":
            continue
        own = module.split(".")[2] if len(module.split(".")) > 2 else None
        for target in targets:
            parts = target.split(".")
            other = parts[2] if len(parts) > 2 and parts[1] == "probes" else None
            if other in BEHAVIOURS and other != own:
                wrong.append(f"{module} imports {target}")
    assert not wrong, "\n".join(wrong)


def test_each_behaviour_package_keeps_its_prompt_data():
    assert {"politics", "sycophancy", "scolding", "pressure"} <= set(BEHAVIOURS)
    for name in BEHAVIOURS:
        assert list((SRC / "probes" / name / "data").glob("*.jsonl")), f"{name} has no data/"


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    out.append(sorted(component))
    return out


def test_no_import_cycle_among_levelhead_modules():
    cycles = _cycles(GRAPH)
    assert not cycles, "import cycles:\n" + "\n".join(" ↔ ".join(c) for c in cycles)


def test_the_cycle_finder_finds_a_cycle():
    graph = defaultdict(set, {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}})
    assert _cycles(graph) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []
