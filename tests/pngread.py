"""Read an 8-bit RGB(A) PNG into pixels with the standard library (for screenshot checks)."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

SIGNATURE = b"\x89PNG\r\n\x1a\n"


def read_png(path: Path, max_rows: int | None = None) -> tuple[int, int, list[bytes]]:
    """(width, height, the first `max_rows` rows as RGB bytes); ValueError for what this reader
    does not handle. Pure Python: read only the rows a check needs."""
    data = path.read_bytes()
    if not data.startswith(SIGNATURE):
        raise ValueError(f"{path.name} is not a PNG")
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    channels = {2: 3, 6: 4}.get(colour)
    if depth != 8 or channels is None or interlace:
        raise ValueError(f"{path.name}: only 8-bit RGB/RGBA, not interlaced")
    stride = width * channels
    wanted = height if max_rows is None else min(height, max_rows)
    raw = zlib.decompressobj().decompress(idat, (stride + 1) * wanted)
    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(wanted):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        _unfilter(kind, line, previous, channels)
        rgb = bytes(b for i, b in enumerate(line) if i % channels < 3)
        rows.append(rgb)
        previous = line
    return width, height, rows


def _unfilter(kind: int, line: bytearray, up: bytearray, bpp: int) -> None:
    for i in range(len(line)):
        left = line[i - bpp] if i >= bpp else 0
        above = up[i]
        corner = up[i - bpp] if i >= bpp else 0
        if kind == 1:
            line[i] = (line[i] + left) & 0xFF
        elif kind == 2:
            line[i] = (line[i] + above) & 0xFF
        elif kind == 3:
            line[i] = (line[i] + (left + above) // 2) & 0xFF
        elif kind == 4:
            p = left + above - corner
            pa, pb, pc = abs(p - left), abs(p - above), abs(p - corner)
            pred = left if pa <= pb and pa <= pc else above if pb <= pc else corner
            line[i] = (line[i] + pred) & 0xFF


def has_colour(rows: list[bytes], rgb: tuple[int, int, int], tolerance: int = 6,
               minimum: int = 200) -> bool:  # fmt: skip
    """True when at least `minimum` pixels are within `tolerance` of `rgb` (a badge, not a dot)."""
    count = 0
    for row in rows:
        for x in range(0, len(row), 3):
            if all(abs(row[x + c] - rgb[c]) <= tolerance for c in range(3)):
                count += 1
                if count >= minimum:
                    return True
    return False
