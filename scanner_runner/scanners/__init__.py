"""Scanner adapters. `SCANNERS` is the one place a `--scanner` name maps to an implementation."""

from __future__ import annotations

from collections.abc import Callable

from scanner_runner.errors import ScannerError
from scanner_runner.scanners import qscanner, syft
from scanner_runner.scanners.interface import Scanner, ScannerOptions

SCANNERS: dict[str, Callable[[ScannerOptions], Scanner]] = {
    qscanner.NAME: qscanner.QScanner,
    syft.NAME: syft.Syft,
}


def default_scanner_name(options: ScannerOptions) -> str:
    """`qscanner` when its binary is found, else `syft` (the report then says inventory-only)."""
    return qscanner.NAME if qscanner.find_binary(options) else syft.NAME


def make_scanner(name: str | None, options: ScannerOptions) -> Scanner:
    """The scanner called `name` (or the default); ScannerError for an unknown name."""
    chosen = name or default_scanner_name(options)
    factory = SCANNERS.get(chosen)
    if factory is None:
        raise ScannerError(f"unknown scanner {chosen!r}; choose from {', '.join(SCANNERS)}")
    return factory(options)
