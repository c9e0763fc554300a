"""The package's shape: layers point one way, private names stay home, modules stay small.

The import graph is read with ``ast`` (imports inside functions included), so a lazy import that
points up fails here as surely as one at the top of a module.
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
    "demo": 6,
    "team": 6,
    "apps": 6,
    "ui": 7,
    "cli": 7,
}
MAX_LINES = 500


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


@pytest.mark.parametrize("path", _modules(), ids=lambda p: _dotted(p))
def test_layers_point_one_way(path):
    assert layer_violations(path) == []


@pytest.mark.parametrize("path", _modules(), ids=lambda p: _dotted(p))
def test_private_names_stay_home(path):
    assert private_violations(path) == []


@pytest.mark.parametrize("path", _modules(), ids=lambda p: _dotted(p))
def test_modules_stay_small(path):
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{_dotted(path)} has {lines} lines: split it by job"


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
