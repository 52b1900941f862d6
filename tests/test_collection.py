"""Every test file is collected by the invocation `make test` uses: no folder is skipped silently.

pytest's default `norecursedirs` skips folders such as `build`; a whole folder of tests once went
unrun that way. This runs the same collection (`pytest` from the project root, `testpaths` from
pyproject.toml) and compares the files it collected with every `tests/**/test_*.py` on disk.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def collected_files() -> set[str]:
    """The test files pytest collects from the project root, as `make test` runs it."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return {line.split("::", 1)[0] for line in done.stdout.splitlines() if "::" in line}


def test_every_test_file_is_collected() -> None:
    on_disk = {p.relative_to(ROOT).as_posix() for p in (ROOT / "tests").rglob("test_*.py")}
    assert len(on_disk) > 40
    missing = sorted(on_disk - collected_files())
    assert not missing, f"pytest does not collect: {missing}"
