"""Each package's public surface: ``__all__`` is exactly what it exports, every name imports
(a missing import once crashed two README commands), and a package import is cheap (its
names load on first use). httpx's test_exported_members.py is the model."""

from __future__ import annotations

import importlib
import subprocess
import sys
import types

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
