"""Fixtures for the local build executor: a source folder with a buildspec, and a job for it."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from scanner_runner.devtools.localbuild.executor import new_build_id
from scanner_runner.devtools.localbuild.model import BuildJob

MakeJob = Callable[..., BuildJob]


@pytest.fixture
def make_job(tmp_path: Path) -> MakeJob:
    """Build a `BuildJob` whose source holds `buildspec` (dedented YAML text)."""
    counter = iter(range(1, 1000))

    def make(buildspec: str, **overrides: Any) -> BuildJob:
        number = next(counter)
        src = tmp_path / f"src{number}"
        (src / "buildspecs").mkdir(parents=True)
        (src / "buildspecs" / "test.yml").write_text(textwrap.dedent(buildspec))
        fields: dict[str, Any] = {
            "project": "demo-scan",
            "build_id": new_build_id("demo-scan"),
            "build_number": number,
            "region": "us-east-1",
            "account": "123456789012",
            "src_dir": src,
            "build_dir": tmp_path / f"build{number}",
            "buildspec": "buildspecs/test.yml",
            "base_env": {"PATH": os.environ["PATH"], "LANG": "C.UTF-8"},
            "timeout_seconds": 60.0,
        }
        fields.update(overrides)
        return BuildJob(**fields)

    return make
