"""`deployscan report` on hostile input: one line and the contract's exit code, no traceback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from scanner_runner.cli import main
from scanner_runner.report import save
from scanner_runner.writers import FORMATS
from tests.runner.conftest import fixed_report


def report(args: list[str]) -> Result:
    return CliRunner().invoke(main, ["report", *args], catch_exceptions=False)


def saved(tmp_path: Path) -> dict[str, Any]:
    save(fixed_report(), tmp_path / "report.json")
    data: dict[str, Any] = json.loads((tmp_path / "report.json").read_text())
    return data


def nested(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = {"x": [value]}
    return value


# (where, the value put there, the field the error names)
WRONG_TYPES = [
    (("findings", 0, "id"), 38001, "findings[0].id"),
    (("findings", 0, "cves"), "CVE-2024-0001", "findings[0].cves"),
    (("findings", 0, "cves"), [1, 2], "findings[0].cves"),
    (("findings", 0, "title"), None, "findings[0].title"),
    (("findings", 0, "violation"), "yes", "findings[0].violation"),
    (("findings", 0), "38001", "findings[0]"),
    (("findings",), {"38001": {}}, "findings"),
    (("image", "ref"), 5, "image.ref"),
    (("image", "digest"), ["sha256:ab"], "image.digest"),
    (("image",), "nginx", "image"),
    (("trigger", "source"), {}, "trigger.source"),
    (("scanner", "version"), 4.8, "scanner.version"),
    (("policy", "reason"), ["x"], "policy.reason"),
    (("policy", "warnings"), "expired", "policy.warnings"),
    (("policy", "ignored"), True, "policy.ignored"),
    (("policy", "thresholds"), [], "policy.thresholds"),
    (("policy", "thresholds"), {"limits": nested(300)}, "policy.thresholds"),
    (("status",), 1, "status"),
    (("started_at",), {}, "started_at"),
    (("error",), None, "error"),
    (("inventory_packages",), "12", "inventory_packages"),
    (("vulnerability_data",), "yes", "vulnerability_data"),
    (("workloads",), "arn:aws:ecs:eu-west-1:123456789012:service/prod/api", "workloads"),
    (("workloads",), [7], "workloads"),
]


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.parametrize(("where", "value", "field"), WRONG_TYPES)
def test_a_wrong_field_type_is_one_line_and_exit_2(
    tmp_path: Path, fmt: str, where: tuple[Any, ...], value: Any, field: str
) -> None:
    data = saved(tmp_path)
    parent = data
    for key in where[:-1]:
        parent = parent[key]
    parent[where[-1]] = value
    (tmp_path / "report.json").write_text(json.dumps(data))
    result = report([str(tmp_path), "--format", fmt])
    assert result.exit_code == 2, result.output
    assert result.output.startswith("deployscan report: error: not a deployscan report: ")
    assert field in result.output
    assert len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize("text", ["[" * 100_000 + "]" * 100_000, '{"a":' * 50_000 + "1"])
def test_deeply_nested_json_is_one_line_and_exit_2(tmp_path: Path, text: str) -> None:
    (tmp_path / "report.json").write_text(text)
    result = report([str(tmp_path), "--format", "junit"])
    assert result.exit_code == 2
    assert "nests too deeply" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_a_missing_optional_field_takes_its_default(tmp_path: Path) -> None:
    data = saved(tmp_path)
    del data["findings"][0]["layer"], data["error"], data["summary"]
    data["added_by_a_later_version"] = {"x": 1}
    (tmp_path / "report.json").write_text(json.dumps(data))
    assert report([str(tmp_path), "--format", "sarif"]).exit_code == 0


@pytest.mark.parametrize("target", ["a-file/copy.xml", "/proc/deployscan/copy.xml"])
def test_an_output_that_cannot_be_written_is_one_line_and_exit_3(
    tmp_path: Path, target: str
) -> None:
    saved(tmp_path)
    (tmp_path / "a-file").write_text("not a directory")
    output = tmp_path / target
    result = report([str(tmp_path), "--format", "junit", "-o", str(output)])
    assert result.exit_code == 3
    assert result.output.startswith(f"deployscan report: error: cannot write {output}: ")
    assert len(result.output.strip().splitlines()) == 1
    assert not output.exists()
