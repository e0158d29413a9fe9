"""Each package's public surface: ``__all__`` is exactly what it exports, every name imports
(a missing import once crashed two README commands), and a package import is cheap (its
names load on first use). httpx's test_exported_members.py is the model."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
import types
from pathlib import Path

import pytest

PACKAGES = ["plans", "scheduler", "notifiers"]


@pytest.mark.parametrize("package", PACKAGES)
def test_all_is_exactly_what_the_package_exports(package: str) -> None:
    module = importlib.import_module(package)
    assert sorted(module.__all__) == sorted(set(module.__all__)), "a name is listed twice"
    exported = {name for name in module._EXPORTS} | {
        name for name in vars(module) if not name.startswith("_") and name.isupper()}
    assert set(module.__all__) == exported


@pytest.mark.parametrize("package", PACKAGES)
def test_every_name_in_all_imports(package: str) -> None:
    module = importlib.import_module(package)
    for name in module.__all__:
        assert getattr(module, name) is not None, name
    public = {name for name, value in vars(module).items()
              if not name.startswith("_") and not isinstance(value, types.ModuleType)}  # channels are modules
    assert public <= set(module.__all__), f"public but not in __all__: {public - set(module.__all__)}"
    with pytest.raises(AttributeError):
        module.no_such_name  # noqa: B018 - the lookup is the test


def test_importing_the_packages_loads_none_of_their_heavy_parts() -> None:
    code = ("import sys, plans, scheduler, notifiers; "
            "print(sorted(m for m in ('sqlalchemy', 'httpx', 'pydantic', 'alembic', 'plans._extract') "
            "if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
    when = ("import sys; from typer.testing import CliRunner; import cli; "
            "assert CliRunner().invoke(cli.app, ['when', '4月底前']).exit_code == 0; "
            "print(sorted(m for m in ('sqlalchemy', 'httpx', 'pydantic', 'alembic', 'plans._extract') "
            "if m in sys.modules))")
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, "-c", when], capture_output=True, text=True, check=True, cwd=root)
    # `jiedian when` starts without the store, the channels or the plan file's schema (pydantic:
    # typer 0.29 imports it for its parameters, hence pyproject's pin)
    assert done.stdout.strip() == "[]"


def _imports(path: Path) -> set[str]:
    """The project modules ``path`` imports, at its top or inside a function (an import
    moved into a function to dodge a cycle is still the cycle); ``if TYPE_CHECKING:`` blocks
    are for types only and do not count."""
    found: set[str] = set()

    def walk(nodes: list[ast.stmt] | list[ast.AST]) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module)
            walk(list(ast.iter_child_nodes(node)))

    walk(ast.parse(path.read_text(encoding="utf-8")).body)
    return {name for name in found if name.split(".")[0] in (*PACKAGES, "cli")}


def _modules() -> dict[str, set[str]]:
    root = Path(__file__).resolve().parent.parent
    graph = {"cli": _imports(root / "cli.py")}
    for package in PACKAGES:
        for path in sorted((root / package).glob("*.py")):
            name = package if path.stem == "__init__" else f"{package}.{path.stem}"
            graph[name] = _imports(path)
    return graph


def test_imports_run_one_way_as_the_readme_says() -> None:
    """cli → scheduler → plans, notifiers; plans and notifiers know neither scheduler nor each other."""
    allowed = {"cli": set(PACKAGES) | {"cli"}, "scheduler": {"scheduler", "plans", "notifiers"},
               "plans": {"plans"}, "notifiers": {"notifiers"}}
    wrong = [f"{module} imports {target}" for module, targets in _modules().items()
             for target in targets if target.split(".")[0] not in allowed[module.split(".")[0]]]
    assert not wrong


def test_no_module_imports_itself_back_through_others() -> None:
    graph = _modules()
    cycles = []

    def visit(module: str, path: list[str]) -> None:
        for target in sorted(graph.get(module, ())):
            if target in path:
                cycles.append(" → ".join([*path[path.index(target):], target]))
            elif target in graph and len(path) < 30:
                visit(target, [*path, target])

    for start in graph:
        visit(start, [start])
    assert not cycles, sorted(set(cycles))[:5]
