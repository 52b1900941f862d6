"""Buildspec version 0.2, parsed into frozen values with CodeBuild's rules checked up front.

Covers what the local executor runs: `env` (shell, variables, parameter-store, secrets-manager,
exported-variables), `phases` (commands, finally, on-failure, install's runtime-versions),
`reports`, `artifacts`, `cache`.
A buildspec CodeBuild would refuse is refused here with `BuildspecError`, before any shell runs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from scanner_runner.devtools.localbuild.errors import BuildspecError

PHASE_NAMES = ("install", "pre_build", "build", "post_build")
PHASE_TYPES = {name: name.upper() for name in PHASE_NAMES}
ON_FAILURE = frozenset({"ABORT", "CONTINUE"})
TEST_REPORT_FORMATS = frozenset(
    {"JUNITXML", "CUCUMBERJSON", "NUNITXML", "NUNIT3XML", "TESTNGXML", "VISUALSTUDIOTRX"}
)
COVERAGE_FORMATS = frozenset({"CLOVERXML", "COBERTURAXML", "JACOCOXML", "SIMPLECOV"})
MAX_REPORT_GROUPS = 5
SHELLS = frozenset({"bash", "sh", "/bin/bash", "/bin/sh"})
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TOP_LEVEL = frozenset(
    {"version", "run-as", "env", "proxy", "batch", "phases", "reports", "artifacts", "cache"}
)


@dataclass(frozen=True)
class Phase:
    """One phase: its commands, its `finally` block and what a failure does to the build."""

    name: str
    commands: tuple[str, ...]
    finally_commands: tuple[str, ...] = ()
    on_failure: str = "ABORT"
    on_failure_given: bool = False  # written in the file (Lambda compute refuses it)
    runtime_versions: Mapping[str, str] = field(default_factory=dict)  # install phase only

    @property
    def phase_type(self) -> str:
        """CodeBuild's name for the phase (`PRE_BUILD`, ...)."""
        return PHASE_TYPES[self.name]


@dataclass(frozen=True)
class ReportSpec:
    """One `reports:` entry: a report group name (or ARN) and the files that feed it."""

    group: str
    files: tuple[str, ...]
    base_directory: str = ""
    discard_paths: bool = False
    file_format: str = "JUNITXML"


@dataclass(frozen=True)
class ArtifactsSpec:
    """The `artifacts:` section (primary artifact only)."""

    files: tuple[str, ...]
    base_directory: str = ""
    discard_paths: bool = False
    name: str = ""


@dataclass(frozen=True)
class Buildspec:
    """A parsed buildspec 0.2."""

    shell: str = "bash"
    variables: Mapping[str, str] = field(default_factory=dict)
    parameter_store: Mapping[str, str] = field(default_factory=dict)
    secrets_manager: Mapping[str, str] = field(default_factory=dict)
    exported_variables: tuple[str, ...] = ()
    phases: tuple[Phase, ...] = ()
    reports: tuple[ReportSpec, ...] = ()
    artifacts: ArtifactsSpec | None = None
    cache_paths: tuple[str, ...] = ()


def load_buildspec(path: Path) -> Buildspec:
    """Read and parse a buildspec file; raise `BuildspecError` with the file name on any fault."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BuildspecError(f"cannot read buildspec {path}: {exc.strerror}") from exc
    return parse_buildspec(text, source=str(path))


def parse_buildspec(text: str, *, source: str = "<buildspec>") -> Buildspec:
    """Parse buildspec YAML text (YAML 1.1 as CodeBuild reads it, through PyYAML's safe loader)."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise BuildspecError(f"{source}: not valid YAML: {exc}") from exc
    if not isinstance(document, dict):
        raise BuildspecError(f"{source}: a buildspec is a mapping")
    unknown = set(document) - _TOP_LEVEL
    if unknown:
        raise BuildspecError(f"{source}: unknown top-level keys {sorted(unknown)}")
    if str(document.get("version")) != "0.2":
        raise BuildspecError(f"{source}: only buildspec version 0.2 is supported")

    env = _mapping(document.get("env") or {}, "env", source)
    variables = _string_map(env.get("variables"), "env.variables", source)
    parameter_store = _string_map(env.get("parameter-store"), "env.parameter-store", source)
    secrets_manager = _string_map(env.get("secrets-manager"), "env.secrets-manager", source)
    exported = tuple(_string_list(env.get("exported-variables"), "exported-variables", source))
    _check_exported(exported, {**parameter_store, **secrets_manager}, source)
    shell = str(env.get("shell", "bash"))
    if shell not in SHELLS:
        raise BuildspecError(f"{source}: env.shell {shell!r} is not supported on Linux")

    return Buildspec(
        shell=shell,
        variables=variables,
        parameter_store=parameter_store,
        secrets_manager=secrets_manager,
        exported_variables=exported,
        phases=_phases(document.get("phases"), source),
        reports=_reports(document.get("reports"), source),
        artifacts=_artifacts(document.get("artifacts"), source),
        cache_paths=tuple(
            _string_list(
                _mapping(document.get("cache") or {}, "cache", source).get("paths"),
                "cache.paths",
                source,
            )
        ),
    )


def _phases(raw: object, source: str) -> tuple[Phase, ...]:
    phases_map = _mapping(raw, "phases", source)
    unknown = set(phases_map) - set(PHASE_NAMES)
    if unknown:
        raise BuildspecError(f"{source}: unknown phases {sorted(unknown)}")
    phases = []
    for name in PHASE_NAMES:  # CodeBuild's order, whatever the file's order
        if name not in phases_map:
            continue
        body = _mapping(phases_map[name] or {}, f"phases.{name}", source)
        on_failure = str(body.get("on-failure", "ABORT")).upper()
        if on_failure not in ON_FAILURE:
            raise BuildspecError(f"{source}: phases.{name}.on-failure must be ABORT or CONTINUE")
        runtimes = _string_map(
            body.get("runtime-versions"), f"phases.{name}.runtime-versions", source
        )
        if runtimes and name != "install":
            raise BuildspecError(f"{source}: runtime-versions belongs to the install phase only")
        commands = tuple(_string_list(body.get("commands"), f"phases.{name}.commands", source))
        finally_raw = body.get("finally")
        finally_commands = tuple(_string_list(finally_raw, f"phases.{name}.finally", source))
        if not commands and finally_commands:
            raise BuildspecError(f"{source}: phases.{name} has `finally` without `commands`")
        phases.append(
            Phase(
                name,
                commands,
                finally_commands,
                on_failure,
                on_failure_given="on-failure" in body,
                runtime_versions=runtimes,
            )
        )
    return tuple(phases)


def _reports(raw: object, source: str) -> tuple[ReportSpec, ...]:
    reports_map = _mapping(raw or {}, "reports", source)
    if len(reports_map) > MAX_REPORT_GROUPS:
        raise BuildspecError(f"{source}: at most {MAX_REPORT_GROUPS} report groups per project")
    reports = []
    for group, body_raw in reports_map.items():
        body = _mapping(body_raw, f"reports.{group}", source)
        files = tuple(_string_list(body.get("files"), f"reports.{group}.files", source))
        if not files:
            raise BuildspecError(f"{source}: reports.{group}.files is required")
        file_format = str(body.get("file-format", "JUNITXML")).upper()
        if file_format not in TEST_REPORT_FORMATS | COVERAGE_FORMATS:
            raise BuildspecError(f"{source}: reports.{group}: unknown file-format {file_format}")
        reports.append(
            ReportSpec(
                group=str(group),
                files=files,
                base_directory=str(body.get("base-directory", "")),
                discard_paths=_yes(body.get("discard-paths", False)),
                file_format=file_format,
            )
        )
    return tuple(reports)


def _artifacts(raw: object, source: str) -> ArtifactsSpec | None:
    if raw is None:
        return None
    body = _mapping(raw, "artifacts", source)
    files = tuple(_string_list(body.get("files"), "artifacts.files", source))
    if not files:
        raise BuildspecError(f"{source}: artifacts.files is required")
    return ArtifactsSpec(
        files=files,
        base_directory=str(body.get("base-directory", "")),
        discard_paths=_yes(body.get("discard-paths", False)),
        name=str(body.get("name", "")),
    )


def _check_exported(names: tuple[str, ...], secret_names: Mapping[str, str], source: str) -> None:
    for name in names:
        if not _NAME_RE.match(name):
            raise BuildspecError(f"{source}: exported variable {name!r} is not a variable name")
        if name.startswith("AWS_"):
            raise BuildspecError(
                f"{source}: cannot export {name}: names starting AWS_ are reserved"
            )
        if name in secret_names:
            raise BuildspecError(f"{source}: cannot export {name}: it holds a secret")


def _mapping(value: object, where: str, source: str) -> dict[str, Any]:
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise BuildspecError(f"{source}: {where} must be a mapping")
    return value


def _string_map(value: object, where: str, source: str) -> dict[str, str]:
    result: dict[str, str] = {}
    for key, item in _mapping(value or {}, where, source).items():
        if not _NAME_RE.match(key):
            raise BuildspecError(f"{source}: {where}: {key!r} is not a variable name")
        if isinstance(item, bool | dict | list) or item is None:
            raise BuildspecError(f"{source}: {where}.{key} must be a scalar")
        result[key] = str(item)
    return result


def _string_list(value: object, where: str, source: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BuildspecError(f"{source}: {where} must be a list of strings")
    return list(value)


def _yes(value: object) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).lower() in {"yes", "true", "on"}
