"""requirements.lock: the exact runtime packages finlit is tested with, and the check CI runs.

    .venv/bin/python .ci/lock.py > requirements.lock   # regenerate from what .venv has installed
    .venv/bin/python .ci/lock.py --check               # CI: the lock is complete and installed

The lock is finlit's runtime dependencies and everything they need, each at the version installed
in ``.venv`` (test tools are not in it). pyproject.toml gives every runtime dependency a range with
an upper bound; the lock pins one version inside it, and ``pip install -c requirements.lock -e .``
installs exactly those. ``--check`` fails when a dependency in pyproject.toml has no upper bound,
when the lock misses a package finlit needs or names one it does not, or when the installed
version differs from the lock's.
"""

from __future__ import annotations

import importlib.metadata as metadata
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements.lock"
HEADER = """\
# finlit's runtime packages at the versions CI tests (generated; do not edit by hand).
# Install exactly these:  .venv/bin/pip install -c requirements.lock -e .
# Regenerate after changing dependencies in pyproject.toml (in a fresh .venv, installed with
# `pip install -e .` and no constraints, so each package takes its newest allowed version):
#   .venv/bin/python .ci/lock.py > requirements.lock
# .ci/run installs with this file and checks it with `.ci/lock.py --check`.
"""


def declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return [Requirement(line) for line in project["dependencies"]]


def installed_closure() -> dict[str, str]:
    """Every package finlit's runtime needs, as installed here: name -> version."""
    found: dict[str, str] = {}
    visited: set[tuple[str, frozenset[str]]] = set()

    def walk(requirement: Requirement) -> None:
        name = canonicalize_name(requirement.name)
        key = (name, frozenset(requirement.extras))
        if key in visited:
            return
        visited.add(key)
        try:
            distribution = metadata.distribution(requirement.name)
        except metadata.PackageNotFoundError:
            message = f"{requirement.name} is not installed: run pip install -e . first"
            raise SystemExit(message) from None
        found[name] = distribution.version
        extras = tuple(requirement.extras) or ("",)
        for line in distribution.requires or []:
            needed = Requirement(line)
            if needed.marker is not None and not any(
                needed.marker.evaluate({"extra": extra}) for extra in extras
            ):
                continue
            walk(needed)

    for requirement in declared():
        walk(requirement)
    return found


def read_lock() -> dict[str, str]:
    pins: dict[str, str] = {}
    for raw in LOCK.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[canonicalize_name(name)] = version.strip()
    return pins


def problems() -> list[str]:
    found = []
    for requirement in declared():
        bounds = [s for s in requirement.specifier if s.operator in ("<", "<=", "==", "~=")]
        if not bounds:
            found.append(f"pyproject.toml: {requirement} has no upper bound")
    locked, installed = read_lock(), installed_closure()
    for name in sorted(installed.keys() - locked.keys()):
        found.append(f"requirements.lock: {name} is needed but not locked")
    for name in sorted(locked.keys() - installed.keys()):
        found.append(f"requirements.lock: {name} is locked but finlit does not need it")
    for name in sorted(locked.keys() & installed.keys()):
        if locked[name] != installed[name]:
            found.append(
                f"requirements.lock: {name}=={locked[name]}, but {installed[name]} is installed"
            )
    for requirement in declared():
        name = canonicalize_name(requirement.name)
        if name in locked and locked[name] not in requirement.specifier:
            found.append(f"requirements.lock: {name}=={locked[name]} is outside {requirement}")
    return found


def main() -> int:
    if sys.argv[1:] == ["--check"]:
        found = problems()
        for problem in found:
            print(problem, file=sys.stderr)
        if found:
            print("regenerate: .venv/bin/python .ci/lock.py > requirements.lock", file=sys.stderr)
            return 1
        print(f"requirements.lock: {len(read_lock())} packages, all installed as locked")
        return 0
    if sys.argv[1:]:
        print(__doc__, file=sys.stderr)
        return 2
    closure = installed_closure()
    sys.stdout.write(HEADER)
    for name in sorted(closure):
        sys.stdout.write(f"{name}=={closure[name]}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
