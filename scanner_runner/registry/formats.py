"""Archive formats by name: the one place `--format` maps to an implementation."""

from __future__ import annotations

from scanner_runner.registry import docker_archive, oci_archive
from scanner_runner.registry.archive import ArchiveFormat

FORMATS: dict[str, ArchiveFormat] = {
    "oci-archive": oci_archive.members,
    "docker-archive": docker_archive.members,
}
DEFAULT_FORMAT = "oci-archive"
