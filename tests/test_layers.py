"""The package's layers and wings: imports point down only (docs/architecture.md draws this table).

``ALLOWED`` is the one place the rule lives. Every module of the package is parsed (imports
inside functions count too) and imported, and a test fails naming the module, the line and the
layer it may not reach.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

PACKAGE = "cluster_credit_cli"
ROOT = Path(__file__).resolve().parents[1] / PACKAGE

# Folder (or "top" for the modules directly in the package) -> the folders it may import from.
# A folder may always import its own modules; "top" is reachable from everywhere.
ALLOWED: dict[str, set[str]] = {
    "top": set(),
    "model": set(),
    "inputs": {"model"},
    "rating": {"inputs", "model"},
    "outputs": {"rating", "model"},
    "survey": {"outputs", "inputs", "model"},
    "weights": {"rating", "outputs", "model", "inputs"},
    "register": {"rating", "outputs", "inputs", "model"},
    "batch": {"rating", "outputs", "register", "inputs", "model"},
    "pool": {"register", "rating", "outputs", "inputs", "model"},
    "validation": {"pool", "register", "rating", "outputs", "inputs", "model"},
    "dossier": {"register", "rating", "outputs", "inputs", "model"},
    # The typer layer: may import everything; nothing imports it (see test_nothing_imports_the_cli).
    "commands": {"model", "inputs", "rating", "outputs", "survey", "weights", "register", "batch", "pool",
                 "validation", "dossier"},
}
CLI_MODULES = {"cli", "__main__"}  # top-level files that belong to the typer layer


def _modules() -> list[tuple[str, Path]]:
    out = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        parts = [p for p in rel.parts if p != "__init__"]
        out.append((".".join([PACKAGE, *parts]), path))
    return out


def _layer(module: str) -> str:
    parts = module.split(".")[1:]
    if not parts:
        return "top"
    if len(parts) == 1:
        return "commands" if parts[0] in CLI_MODULES else ("top" if parts[0] not in ALLOWED else parts[0])
    return parts[0]


def _imports(path: Path, module: str) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_pkg = path.name == "__init__.py"
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == PACKAGE]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base[: len(base) - node.level + (1 if is_pkg else 0)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != PACKAGE:
                continue
            if target == PACKAGE:  # "from cluster_credit_cli import x": x may be a module
                found += [(node.lineno, f"{PACKAGE}.{a.name}") for a in node.names]
            else:
                found.append((node.lineno, target))
    return found


MODULES = _modules()


def test_every_folder_has_a_rule():
    folders = {_layer(m) for m, _ in MODULES}
    assert folders <= set(ALLOWED), f"folders without a rule in ALLOWED: {sorted(folders - set(ALLOWED))}"


@pytest.mark.parametrize("module,path", MODULES, ids=[m for m, _ in MODULES])
def test_imports_point_down(module, path):
    here = _layer(module)
    bad = []
    for line, target in _imports(path, module):
        if target == f"{PACKAGE}.__version__" or target == PACKAGE:
            continue
        there = _layer(target)
        if there == "commands" and here != "commands":
            bad.append(f"{path.relative_to(ROOT.parent)}:{line} imports {target}: nothing below the CLI imports it")
        elif there not in ({here, "top"} | ALLOWED[here]):
            bad.append(f"{path.relative_to(ROOT.parent)}:{line} imports {target}: "
                       f"{here} may import only {sorted(ALLOWED[here]) or 'the top level'}")
    assert not bad, "\n".join(bad)


def test_nothing_imports_the_cli():
    """The command modules hand their commands to cli.py; none imports cli.py back (no circle)."""
    for module, path in MODULES:
        if module.endswith(".cli") or module.endswith(".__main__"):
            continue
        targets = [t for _, t in _imports(path, module)]
        assert f"{PACKAGE}.cli" not in targets, f"{module} imports {PACKAGE}.cli"


@pytest.mark.parametrize("module", [m for m, _ in MODULES if not m.endswith(".__main__")])  # __main__ runs the CLI
def test_every_module_imports(module):
    importlib.import_module(module)


def test_layers_test_catches_an_upward_import(tmp_path):
    """The walker itself: an import from the rating core up into a wing is reported."""
    src = tmp_path / "pipeline.py"
    src.write_text("def f():\n    from cluster_credit_cli.weights.sensitivity import rank_sensitivity\n")
    targets = _imports(src, f"{PACKAGE}.rating.pipeline")
    assert targets == [(2, f"{PACKAGE}.weights.sensitivity")]
    assert _layer(targets[0][1]) not in ALLOWED["rating"] | {"rating", "top"}
    rel = tmp_path / "x.py"
    rel.write_text("from ..weights import ahp\nfrom . import merge\n")
    assert _imports(rel, f"{PACKAGE}.rating.x") == [(1, f"{PACKAGE}.weights"), (2, f"{PACKAGE}.rating")]
