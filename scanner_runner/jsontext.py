"""JSON text the writers share: one reusable encoder, and layered indentation."""

from __future__ import annotations

import json
from typing import Any

# One encoder for every value: json.dumps with options builds a new encoder on each call.
encode = json.JSONEncoder(ensure_ascii=False).encode


def dumps_layered(value: Any, levels: int, indent: int = 2, _level: int = 0) -> str:
    """JSON indented for the first `levels` levels, each deeper value on one line.

    Readable and diffable (one finding per line), and fast: the deep part goes through the C
    encoder, which `json.dumps(indent=...)` never uses.
    """
    if _level < levels and isinstance(value, dict | list) and value:
        pad, close = " " * indent * (_level + 1), " " * indent * _level
        if isinstance(value, dict):
            parts = [
                f"{pad}{encode(k)}: " + dumps_layered(v, levels, indent, _level + 1)
                for k, v in value.items()
            ]
            return "{\n" + ",\n".join(parts) + "\n" + close + "}"
        parts = [pad + dumps_layered(v, levels, indent, _level + 1) for v in value]
        return "[\n" + ",\n".join(parts) + "\n" + close + "]"
    return encode(value)
