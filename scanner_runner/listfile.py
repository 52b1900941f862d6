"""The JSON list files users write (ignore list, deny list): `{"<key>": [...]}` or a bare list."""

from __future__ import annotations

import json
from typing import Any

from scanner_runner.errors import PolicyError


def list_items(text: str, source: str, key: str) -> list[Any]:
    """The entries of a list file; `PolicyError` (one line) when it is not JSON or not a list."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PolicyError(f"{source}: not JSON ({exc.msg} at line {exc.lineno})") from exc
    except RecursionError as exc:
        raise PolicyError(f"{source}: JSON nests too deeply") from exc
    items = data.get(key) if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise PolicyError(f'{source}: expected {{"{key}": [...]}} or a JSON list')
    return items
