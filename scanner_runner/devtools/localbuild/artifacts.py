"""UPLOAD_ARTIFACTS for the primary artifact: the files the buildspec names, copied out."""

from __future__ import annotations

import shutil
from pathlib import Path

from scanner_runner.devtools.localbuild.buildspec import ArtifactsSpec


def collect_artifacts(spec: ArtifactsSpec | None, src_dir: Path, build_dir: Path) -> list[Path]:
    """Copy the artifact files (regular files, no symlinks) to build_dir/artifacts/<name>."""
    if spec is None:
        return []
    base = (src_dir / spec.base_directory).resolve()
    target_root = build_dir / "artifacts" / (spec.name or "primary")
    copied = []
    for pattern in spec.files:
        for path in sorted(base.glob(pattern)):
            if not path.is_file() or path.is_symlink():
                continue
            relative = Path(path.name) if spec.discard_paths else path.relative_to(base)
            target = target_root / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
            copied.append(target)
    return copied
