"""The shape of the house, enforced: who may import whom, no import circles, small modules.

Read from the source with ``ast`` (every import counts, including those under TYPE_CHECKING and
inside functions: a lazy import is still a dependency). See ../shared/STYLE.md, "The shape of the
house", and the layers in README.md.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BOT = REPO / "bot"
MAX_LINES = 500

# What the core may import besides the standard library and itself: pure libraries, no I/O.
CORE_LIBRARIES = frozenset(
    {"pydantic", "jinja2", "markupsafe", "yaml", "opencc", "rank_bm25", "Stemmer"}
)

# Who may import whom, by layer (the first two parts of a module's name: ``bot.core``,
# ``bot.store``, ``bot.telegram``...; a top-level module such as ``bot.settings`` is its own layer).
# Each layer imports only itself and the layers listed; a layer not listed here fails the test, so
# a new package has to take its place in the house on purpose.
ALLOWED: dict[str, frozenset[str]] = {
    "bot.core": frozenset(),
    "bot.settings": frozenset({"bot.core"}),
    "bot.logs": frozenset({"bot.core", "bot.settings"}),
    "bot.pictures": frozenset({"bot.core"}),
    "bot.store": frozenset({"bot.core"}),
    "bot.housekeeping": frozenset({"bot.core", "bot.settings", "bot.store"}),
    "bot.telegram": frozenset(
        {"bot.core", "bot.settings", "bot.store", "bot.logs", "bot.housekeeping"}
    ),
    # Puts the administrators' desk together for every channel (Telegram, preview, CLI).
    "bot.assembly": frozenset({"bot.core", "bot.settings", "bot.store", "bot.pictures"}),
    "bot.preview": frozenset(
        {"bot.core", "bot.settings", "bot.store", "bot.pictures", "bot.assembly"}
    ),
    "bot.app": frozenset(
        {
            "bot.core",
            "bot.settings",
            "bot.store",
            "bot.telegram",
            "bot.housekeeping",
            "bot.pictures",
            "bot.logs",
            "bot.assembly",
        }
    ),
    "bot.cli": frozenset(
        {
            "bot.core",
            "bot.settings",
            "bot.store",
            "bot.telegram",
            "bot.preview",
            "bot.app",
            "bot.logs",
            "bot.pictures",
            "bot.assembly",
        }
    ),
    "bot.__main__": frozenset({"bot.cli"}),
    "bot": frozenset(),
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES: dict[str, Path] = {module_name(p): p for p in sorted(BOT.rglob("*.py"))}


def layer(module: str) -> str:
    return ".".join(module.split(".")[:2])


def imports(module: str) -> Iterator[str]:
    """Every name ``module`` imports, absolute, with ``from a import b`` as ``a.b`` when b is a
    module of bot/ (importing a submodule does not depend on its package's other modules)."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join([*base, node.module] if node.module else base)
            else:
                source = node.module or ""
            submodules = [f"{source}.{alias.name}" for alias in node.names]
            found = [name for name in submodules if name in MODULES]
            yield from found
            if len(found) < len(submodules):
                yield source


def owner(name: str) -> str | None:
    """The module of bot/ that ``name`` refers to (a module, or a name inside one)."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def internal_edges() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {module: set() for module in MODULES}
    for module in MODULES:
        for name in imports(module):
            if name == "bot" or name.startswith("bot."):
                target = owner(name)
                if target is not None and target != module:
                    edges[module].add(target)
    return edges


def test_the_core_imports_only_itself_the_standard_library_and_pure_libraries() -> None:
    offenders = []
    for module in MODULES:
        if layer(module) != "bot.core":
            continue
        for name in imports(module):
            top = name.split(".")[0]
            if top == "bot":
                if not (name == "bot.core" or name.startswith("bot.core.")):
                    offenders.append(f"{module} imports {name}")
            elif top not in sys.stdlib_module_names and top not in CORE_LIBRARIES:
                offenders.append(f"{module} imports {name}")
    assert offenders == []


@pytest.mark.parametrize("library", ["telegram", "sqlalchemy", "starlette", "uvicorn", "asyncpg"])
def test_only_the_layers_that_speak_to_it_import_each_io_library(library: str) -> None:
    speakers = {
        "telegram": {"bot.telegram", "bot.app", "bot.cli"},
        # bot.settings parses DATABASE_URL with SQLAlchemy's URL parser (no engine, no I/O).
        "sqlalchemy": {"bot.store", "bot.cli", "bot.settings"},
        "starlette": {"bot.telegram"},
        "uvicorn": {"bot.telegram", "bot.cli"},
        "asyncpg": {"bot.store"},
    }[library]
    offenders = [
        f"{module} imports {name}"
        for module in MODULES
        for name in imports(module)
        if name.split(".")[0] == library and layer(module) not in speakers
    ]
    assert offenders == []


def test_each_layer_imports_only_the_layers_below_it() -> None:
    offenders = []
    for module, targets in internal_edges().items():
        own = layer(module)
        if own not in ALLOWED:
            offenders.append(f"{module}: layer {own} has no place in the house (ALLOWED)")
            continue
        for target in targets:
            other = layer(target)
            if other != own and other not in ALLOWED[own]:
                offenders.append(f"{module} imports {target}")
    assert offenders == []


def test_no_import_circles_between_modules() -> None:
    edges = internal_edges()
    circles = strongly_connected(edges)
    assert circles == []


def test_no_module_is_longer_than_it_can_be_read_in_one_sitting() -> None:
    long = {
        module: lines
        for module, path in MODULES.items()
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}


def strongly_connected(edges: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm: the groups of modules that import each other, directly or not."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_the_guard_sees_a_circle_and_a_forbidden_import() -> None:
    """The guard itself: a circle and a core module importing the store are both caught."""
    assert strongly_connected({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert "bot.store" not in ALLOWED["bot.core"]
    assert "bot.telegram" not in ALLOWED["bot.store"]
