"""Each package's ``__all__`` names things that exist (a missing import once crashed two
README commands)."""

from __future__ import annotations

import importlib

import pytest


@pytest.mark.parametrize("package", ["plans", "scheduler", "notifiers"])
def test_every_name_in_all_exists(package: str) -> None:
    module = importlib.import_module(package)
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert not missing, f"{package}.__all__ names what it does not import: {missing}"
