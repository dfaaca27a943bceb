"""YAML as the content and the fixtures use it: safe loading, by libyaml when PyYAML has it.

The pure-Python parser took about 0.7 s of every start (and of every content check) for the
curriculum's 25 files; libyaml's (``CSafeLoader``, in PyYAML's wheels) parses the same safe
subset several times faster. Errors are ``yaml.YAMLError`` with a ``problem_mark`` either way.
"""

from __future__ import annotations

from typing import Any

import yaml

_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text: str) -> Any:
    """The data of one YAML document, loaded safely (no Python objects)."""
    return yaml.load(text, Loader=_LOADER)
