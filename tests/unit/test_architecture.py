"""The package's shape: layers point one way, private names stay home, the modules of a package
import one another without a cycle, modules stay small.

The import graph is read with ``ast`` (imports inside functions included), so a lazy import that
points up, or closes a cycle, fails here as surely as one at the top of a module. Imports under
``if TYPE_CHECKING:`` are no dependency at run time and are not read.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "workbench"

#: Lower number = lower layer. A module may import its own layer or lower, never higher.
LAYERS = {
    "errors": 0,
    "workspace": 1,
    "data": 1,
    "contract": 1,
    "_core": 1,
    "plots": 1,
    "registry": 2,
    "training": 3,
    "serving": 3,
    "scoring": 3,
    "spark": 3,
    "checks": 4,
    "monitoring": 5,
    "runner": 6,
    "fleet": 6,
    "prestart": 6,
    "demo": 6,
    "team": 6,
    "apps": 6,
    "backups": 6,
    "lesson": 6,
    "ui": 7,
    "cli": 7,
}
#: A hint, not a law: a module longer than this is split by job, unless the split would cut one
#: job in two (an import cycle, private names crossing modules); those are listed here, with why.
MAX_LINES = 500
LONGER = {
    # one job: Evidently's scores, the valid tests and the one decision both engines feed
    # (pandas on the rows, Spark on the summaries); split, each half would lean on the other's
    "workbench.monitoring.statistics": 560,
}
#: Packages whose private names (``_x``) stay in their module, not only in their package.
PRIVATE_TO_MODULE = ("monitoring", "spark")
#: Import cycles inside a package, owned elsewhere: each is to be broken, and none may be added.
KNOWN_CYCLES = {
    frozenset({"workbench.checks.base", "workbench.checks.builtin"}),  # base's lazy fairness plots
    frozenset({"workbench.cli", "workbench.cli._monitor"}),  # _monitor takes __init__'s helper
    frozenset({"workbench.registry.audit", "workbench.registry.resolved"}),
    frozenset({"workbench.team.app", "workbench.team.app_guard", "workbench.team.service"}),
}


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def _dotted(path: Path, root: Path = PACKAGE) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _component(dotted: str) -> str | None:
    parts = dotted.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "workbench" else None


def _type_checking_lines(tree: ast.Module) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in ast.walk(node):
                if hasattr(child, "lineno"):
                    lines.add(child.lineno)
    return lines


def imports_of(path: Path, root: Path = PACKAGE) -> list[tuple[int, str, list[str]]]:
    """``(line, module, names)`` of every workbench import in ``path``, relative ones resolved."""
    tree = ast.parse(path.read_text(), filename=str(path))
    skip = _type_checking_lines(tree)
    here = _dotted(path, root)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    out = []
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skip:
            continue
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name, []) for a in node.names if a.name.startswith("workbench")]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join([*base, module] if module else base)
            if module.startswith("workbench"):
                out.append((node.lineno, module, [a.name for a in node.names]))
    return sorted(out)


def layer_violations(path: Path, root: Path = PACKAGE) -> list[str]:
    """Imports in ``path`` that point to a higher layer."""
    here = _dotted(path, root)
    mine = _component(here)
    if mine is None:  # the package root imports lazily by name, for users
        return []
    found = []
    for line, module, names in imports_of(path, root):
        targets = [module] if _component(module) else [f"{module}.{n}" for n in names]
        for target in targets:
            theirs = _component(target)
            if theirs is None or theirs == mine:
                continue
            if mine == "_core" and theirs != "errors":
                found.append(f"{here}:{line} _core imports {target} (only errors is allowed)")
            elif LAYERS.get(theirs, 99) > LAYERS.get(mine, -1):
                found.append(f"{here}:{line} imports {target}, a higher layer")
    return found


def _owner(parts: list[str], i: int, root: Path) -> str:
    """Who may use the private ``parts[i]``: the package it lives in (a stage package shares its
    private modules and names among its files); a top-level module keeps its own."""
    container = root.parent.joinpath(*parts[:i])
    if container.is_dir():  # a private module or a private name of a package's __init__
        return ".".join(parts[:i])
    package = parts[: i - 1]  # a private name inside module parts[:i]
    return ".".join(parts[:i]) if len(package) < 2 else ".".join(package)


def private_violations(path: Path, root: Path = PACKAGE) -> list[str]:
    """Imports of a private name (``_x``) or private module from outside its package."""
    here = _dotted(path, root)
    found = []
    for line, module, names in imports_of(path, root):
        dotted = [module, *(f"{module}.{n}" for n in names)]
        for target in dotted:
            parts = target.split(".")
            for i, part in enumerate(parts):
                if part.startswith("_") and not part.startswith("__"):
                    owner = _owner(parts, i, root)
                    if not (here == owner or here.startswith(owner + ".")):
                        found.append(f"{here}:{line} uses {target} from outside {owner}")
                    break
    return found


def _is_module(dotted: str, root: Path) -> bool:
    path = root.parent.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _child(dotted: str, package: str) -> str | None:
    """The module or subpackage directly inside ``package`` that ``dotted`` is or lies in (the
    package itself for its ``__init__``); None outside ``package``."""
    if dotted == package:
        return package
    if not dotted.startswith(package + "."):
        return None
    return package + "." + dotted[len(package) + 1 :].split(".")[0]


def import_graph(package: Path, root: Path = PACKAGE) -> dict[str, set[str]]:
    """``{module: modules it imports}`` among the modules and subpackages directly inside
    ``package`` (a subpackage's files count as the subpackage; ``__init__`` as the package)."""
    name = _dotted(package / "__init__.py", root)
    graph: dict[str, set[str]] = {}
    for path in sorted(p for p in package.rglob("*.py") if "__pycache__" not in p.parts):
        here = _child(_dotted(path, root), name)
        edges = graph.setdefault(here, set())
        for _, module, names in imports_of(path, root):
            named = [f"{module}.{n}" for n in names if _is_module(f"{module}.{n}", root)]
            for target in named or [module]:
                there = _child(target, name)
                if there is not None and there != here:
                    edges.add(there)
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan): each holds a cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def _packages(root: Path = PACKAGE) -> list[Path]:
    return sorted(p.parent for p in root.rglob("__init__.py") if "__pycache__" not in p.parts)


def module_private_violations(path: Path, root: Path = PACKAGE) -> list[str]:
    """Imports of another module's private name (``from workbench.x.y import _z``); private
    modules (``_y.py``) of a package stay shared within it."""
    here = _dotted(path, root)
    found = []
    for line, module, names in imports_of(path, root):
        for n in names:
            target = f"{module}.{n}"
            private = n.startswith("_") and not n.startswith("__")
            if private and module != here and not _is_module(target, root):
                found.append(f"{here}:{line} uses {target}, private to {module}")
    return found


@pytest.mark.parametrize("path", _modules(), ids=lambda p: _dotted(p))
def test_layers_point_one_way(path):
    assert layer_violations(path) == []


@pytest.mark.parametrize("path", _modules(), ids=lambda p: _dotted(p))
def test_private_names_stay_home(path):
    assert private_violations(path) == []


@pytest.mark.parametrize(
    "path",
    [p for p in _modules() if _component(_dotted(p)) in PRIVATE_TO_MODULE],
    ids=lambda p: _dotted(p),
)
def test_private_names_stay_in_their_module(path):
    assert module_private_violations(path) == []


@pytest.mark.parametrize("package", _packages(), ids=lambda p: _dotted(p / "__init__.py"))
def test_no_import_cycle_inside_a_package(package):
    cycles = import_cycles(import_graph(package))
    assert [c for c in cycles if frozenset(c) not in KNOWN_CYCLES] == []


@pytest.mark.parametrize("path", _modules(), ids=lambda p: _dotted(p))
def test_modules_stay_small(path):
    lines = len(path.read_text().splitlines())
    limit = LONGER.get(_dotted(path), MAX_LINES)
    assert lines <= limit, f"{_dotted(path)} has {lines} lines: split it by job"


def test_every_component_has_a_layer():
    components = {_component(_dotted(p)) for p in _modules()} - {None}
    assert components <= set(LAYERS), f"give these a layer: {sorted(components - set(LAYERS))}"


def test_the_checker_catches_violations(tmp_path):
    """The rules above can fail: an upward import, an upward lazy import, a stolen private name."""
    fake = tmp_path / "workbench"
    for package in ("registry", "serving"):
        (fake / package).mkdir(parents=True)
        (fake / package / "__init__.py").write_text("")
    (fake / "serving" / "client.py").write_text("def _decode():\n    pass\n")
    (fake / "apps.py").write_text("def _launch():\n    pass\n")
    bad = fake / "registry" / "bad.py"
    bad.write_text(
        "from workbench.checks import run_checks\n"
        "def f():\n    import workbench.ui\n"
        "from workbench.serving.client import _decode\n"
        "from workbench.apps import _launch\n"
    )
    layers = layer_violations(bad, fake)
    private = private_violations(bad, fake)
    assert len(layers) == 4 and "workbench.ui" in layers[1], layers
    assert private == [
        "workbench.registry.bad:4 uses workbench.serving.client._decode from outside workbench.serving",
        "workbench.registry.bad:5 uses workbench.apps._launch from outside workbench.apps",
    ]
    sibling = fake / "serving" / "server.py"
    sibling.write_text("from workbench.serving.client import _decode\n")
    assert private_violations(sibling, fake) == []


def test_the_checker_catches_a_cycle(tmp_path):
    """A cycle closed by a lazy import is found; a type-only import closes none; a private name
    taken from a sibling module is caught where names stay in their module."""
    fake = tmp_path / "workbench"
    (fake / "monitoring" / "builtin").mkdir(parents=True)
    for init in ("__init__.py", "monitoring/__init__.py", "monitoring/builtin/__init__.py"):
        (fake / init).write_text("")
    monitoring = fake / "monitoring"
    (monitoring / "report.py").write_text("from workbench.monitoring.result import Result\n")
    (monitoring / "result.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from workbench.monitoring.render import html\n"
        "def save():\n    from workbench.monitoring import spark_drift\n"
    )
    (monitoring / "render.py").write_text("from workbench.monitoring.result import Result\n")
    (monitoring / "spark_drift.py").write_text(
        "def run():\n    from .report import _check_choices\n"
    )
    (monitoring / "builtin" / "x.py").write_text("from workbench.monitoring.render import y\n")
    graph = import_graph(monitoring, fake)
    assert graph["workbench.monitoring.builtin"] == {"workbench.monitoring.render"}
    assert import_cycles(graph) == [
        [
            "workbench.monitoring.report",
            "workbench.monitoring.result",
            "workbench.monitoring.spark_drift",
        ]
    ]
    assert module_private_violations(monitoring / "spark_drift.py", fake) == [
        "workbench.monitoring.spark_drift:2 uses workbench.monitoring.report._check_choices, "
        "private to workbench.monitoring.report"
    ]
    (monitoring / "render.py").write_text("from workbench.monitoring import result\n")
    (monitoring / "result.py").write_text("def show():\n    import workbench.monitoring.render\n")
    assert import_cycles(import_graph(monitoring, fake)) == [
        ["workbench.monitoring.render", "workbench.monitoring.result"]
    ]
