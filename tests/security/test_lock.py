"""Every runtime dependency has an upper bound and a pin in requirements.lock (.ci/lock.py)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]


def lock_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("finlit_ci_lock", ROOT / ".ci" / "lock.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_every_runtime_dependency_has_an_upper_bound() -> None:
    lock = lock_tool()
    unbounded = [
        str(requirement)
        for requirement in lock.declared()
        if not any(s.operator in ("<", "<=", "==", "~=") for s in requirement.specifier)
    ]
    assert unbounded == []


def test_the_lock_pins_every_declared_dependency_inside_its_range() -> None:
    lock = lock_tool()
    pins = lock.read_lock()
    for requirement in lock.declared():
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is not in requirements.lock"
        assert pins[name] in requirement.specifier, f"{name}=={pins[name]} outside {requirement}"


def test_the_lock_covers_what_is_installed_for_finlit() -> None:
    """The packages finlit's runtime pulls in here are all in the lock (versions: CI checks)."""
    lock = lock_tool()
    missing = sorted(lock.installed_closure().keys() - lock.read_lock().keys())
    assert missing == [], "regenerate: .venv/bin/python .ci/lock.py > requirements.lock"
