"""`deployscan verdict`: exit codes and output over the scan cache in moto; the wait's polling."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner

from dispatcher.gate.verdict import GateVerdict
from dispatcher.imageref import ImageRef
from dispatcher.scancache import ScanCacheTable, cache_key
from dispatcher.scanitems import Verdict
from scanner_runner.cli import main
from scanner_runner.cli.verdict import exit_code, poll
from tests.dispatcher.conftest import D1, ECR, REGION, TABLE

IMAGE = f"{ECR}/shop/api@{D1}"
ENV = {
    "SCAN_PROJECT_NAME": "deployscan-scan",
    "SCAN_CACHE_TABLE": TABLE,
    "GATE_MODE": "enforce",
    "SCANNER": "qscanner",
}


def run(*args: str, **env: str) -> Any:
    return CliRunner().invoke(main, ["verdict", "--region", REGION, *args], env={**ENV, **env})


def record(dynamodb: Any, status: str) -> None:
    verdict = Verdict(status, IMAGE, "deployscan-scan:b-1", "s3://r/report.json", {"high": 1})
    key = cache_key(ImageRef.parse(IMAGE))
    ScanCacheTable(dynamodb, TABLE).record(key, verdict, now=0, keep_seconds=4_000_000_000)


@pytest.mark.parametrize(("status", "code", "outcome"), [("passed", 0, "allow"),
                                                         ("failed", 1, "deny")])  # fmt: skip
def test_a_completed_scan_exits_with_its_verdict(
    dynamodb: Any, status: str, code: int, outcome: str
) -> None:
    record(dynamodb, status)
    result = run(IMAGE, "--json")
    assert result.exit_code == code, result.output
    line = json.loads(result.output)
    assert (line["image"], line["verdict"], line["vulnerability_data"]) == (IMAGE, outcome, True)


def test_audit_mode_exits_0_on_a_failed_scan(dynamodb: Any) -> None:
    record(dynamodb, "failed")
    result = run(IMAGE, GATE_MODE="audit")
    assert result.exit_code == 0
    assert result.output.startswith("allow\t") and "would deny" in result.output


def test_never_scanned_exits_3_without_waiting(dynamodb: Any) -> None:
    result = run(IMAGE)
    assert result.exit_code == 3
    assert result.output.startswith("unknown\t")


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (("not a ref!",), {}),
        ((IMAGE, "--wait", "-1"), {}),
        ((IMAGE,), {"GATE_MODE": "block"}),
        ((IMAGE,), {"SCAN_CACHE_TABLE": ""}),
        ((IMAGE, "--start"), {"SCAN_PROJECT_NAME": ""}),
    ],
)
def test_bad_input_exits_2(aws: None, args: tuple[str, ...], env: dict[str, str]) -> None:
    result = run(*args, **env)
    assert result.exit_code == 2


def answer(outcome: str) -> GateVerdict:
    return GateVerdict(IMAGE, outcome, "why")


class Clock:
    """A fake clock that `sleep` advances."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_pending_past_the_wait_exits_3() -> None:
    clock, starts = Clock(), []

    def ask(first: bool) -> list[GateVerdict]:
        starts.append(first)
        return [answer("pending")]

    answers = poll(ask, 60, interval=15, clock=clock, sleep=clock.sleep)
    assert exit_code(answers) == 3
    assert clock.now == 60
    assert starts == [True, False, False, False, False]  # a scan is started once at most


def test_the_wait_ends_at_the_first_final_answer() -> None:
    clock = Clock()
    replies = iter(["pending", "pending", "deny"])
    answers = poll(lambda _: [answer(next(replies))], 600, interval=10, clock=clock,
                   sleep=clock.sleep)  # fmt: skip
    assert (exit_code(answers), clock.now) == (1, 20)


def test_any_deny_wins_and_all_must_allow() -> None:
    assert exit_code([answer("allow"), answer("deny"), answer("pending")]) == 1
    assert exit_code([answer("allow"), answer("unknown")]) == 3
    assert exit_code([answer("allow")]) == 0
