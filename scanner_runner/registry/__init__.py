"""Pull images over the registry HTTP API into verified archives (no docker daemon)."""

from __future__ import annotations

from dispatcher.platforms import Platform
from scanner_runner.errors import PullError
from scanner_runner.registry.formats import FORMATS
from scanner_runner.registry.pull import DEFAULT_PLATFORM, PullResult, pull

__all__ = ["DEFAULT_PLATFORM", "FORMATS", "Platform", "PullError", "PullResult", "pull"]
