"""The gate's verdict core over the scan cache in moto: each outcome, audit mode, the scanner's
note, errors, break-glass, and starting a missing scan once through the dispatcher's lease."""

from __future__ import annotations

import json
import logging
from typing import Any

import boto3
import pytest

from dispatcher.errors import SettingsError
from dispatcher.gate.breakglass import BreakGlass, load_breakglass, parse_breakglass
from dispatcher.gate.core import Starter, evaluate
from dispatcher.gate.settings import GateSettings
from dispatcher.imageref import ImageRef
from dispatcher.scancache import cache_key
from dispatcher.scancache.gatereads import GateCacheTable
from dispatcher.scanitems import Verdict
from tests.dispatcher.conftest import D1, ECR, REGION, TABLE, RecordingLauncher, settings
from tests.dispatcher.fakes import CountingClient

NOW = 1_800_000_000.0
IMAGE = ImageRef.parse(f"{ECR}/shop/api@{D1}")
ENFORCE = GateSettings(mode="enforce", scanner="qscanner")


@pytest.fixture
def cache(counting: CountingClient) -> GateCacheTable:
    """The scan-cache table over moto, with the gate's batch read."""
    return GateCacheTable(counting, TABLE)


def clock() -> float:
    return NOW


def record(cache: GateCacheTable, status: str, **counts: int) -> None:
    verdict = Verdict(status, str(IMAGE), "deployscan-scan:b-1", "s3://r/report.json", counts)
    cache.record(cache_key(IMAGE), verdict, now=NOW - 60, keep_seconds=3600)


def one(cache: GateCacheTable, gate: GateSettings = ENFORCE, **kwargs: Any) -> Any:
    [answer] = evaluate([IMAGE], gate, cache, clock, **kwargs)
    return answer


def test_a_passed_scan_allows(cache: GateCacheTable) -> None:
    record(cache, "passed")
    answer = one(cache)
    assert (answer.outcome, answer.report_uri, answer.vulnerability_data) == (
        "allow", "s3://r/report.json", True
    )  # fmt: skip


def test_a_failed_scan_denies_with_its_counts(cache: GateCacheTable) -> None:
    record(cache, "failed", critical=2)
    answer = one(cache)
    assert answer.outcome == "deny"
    assert "critical 2" in answer.reason


def test_a_denial_repeats_the_policy_reason(cache: GateCacheTable) -> None:
    why = "deny list: 1 denied package(s) (xz-utils 5.6.1-1: xz backdoor (CVE-2024-3094))"
    verdict = Verdict("failed", str(IMAGE), "b-2", "s3://r/report.json", {}, reason=why)
    cache.record(cache_key(IMAGE), verdict, now=NOW - 60, keep_seconds=3600)
    answer = one(cache)
    assert answer.outcome == "deny"
    assert answer.reason.endswith(why)


def test_audit_mode_never_denies_but_says_it_would(
    cache: GateCacheTable, caplog: pytest.LogCaptureFixture
) -> None:
    record(cache, "failed", high=1)
    with caplog.at_level(logging.WARNING):
        answer = one(cache, GateSettings(mode="audit", scanner="qscanner"))
    assert (answer.outcome, answer.would_deny) == ("allow", True)
    assert answer.reason.startswith("audit mode, would deny")
    assert "would deny" in caplog.text


def test_an_in_flight_scan_is_pending(cache: GateCacheTable) -> None:
    key = cache_key(IMAGE)
    cache.take(key, image=str(IMAGE), lease_id="l-1", now=NOW, seconds=600, ttl=3600)
    cache.started(key, "l-1", "deployscan-scan:b-9", NOW, 600)
    answer = one(cache)
    assert answer.outcome == "pending"
    assert "deployscan-scan:b-9" in answer.reason


def test_an_expired_scan_is_unknown(cache: GateCacheTable) -> None:
    verdict = Verdict("passed", str(IMAGE), "b-1")
    cache.record(cache_key(IMAGE), verdict, now=NOW - 7200, keep_seconds=3600)
    assert one(cache).outcome == "unknown"


def test_syft_verdicts_count_and_say_they_had_no_vulnerability_data(
    cache: GateCacheTable,
) -> None:
    record(cache, "passed")
    answer = one(cache, GateSettings(mode="enforce", scanner="syft"))
    assert (answer.outcome, answer.vulnerability_data) == ("allow", False)
    assert "no vulnerability data" in answer.reason


def test_a_missing_scan_is_started_once_through_the_lease(cache: GateCacheTable) -> None:
    launcher = RecordingLauncher()
    starter = Starter(settings(region=REGION), launcher, adapter="ecs-hook")
    first = one(cache, starter=starter)
    second = one(cache, starter=starter)
    assert (first.outcome, second.outcome) == ("pending", "pending")
    [request] = launcher.requests
    assert request.trigger == "gate:ecs-hook"
    assert request.environment()["IMAGE_DIGEST"] == D1
    assert request.lease_id is not None


class BrokenDynamoDB:
    """A DynamoDB client whose every read fails, as an outage would."""

    def get_item(self, **request: Any) -> Any:
        raise RuntimeError("connection refused")

    def batch_get_item(self, **request: Any) -> Any:
        raise RuntimeError("connection refused")


@pytest.mark.parametrize(("on_error", "outcome"), [("allow", "allow"), ("deny", "deny")])
def test_an_unreadable_cache_answers_gate_on_error(on_error: str, outcome: str) -> None:
    gate = GateSettings(mode="enforce", on_error=on_error, scanner="qscanner")
    answer = one(GateCacheTable(BrokenDynamoDB(), TABLE), gate)
    assert answer.outcome == outcome
    assert "GATE_ON_ERROR" in answer.reason


def test_a_break_glass_entry_allows_and_is_logged(
    cache: GateCacheTable, caplog: pytest.LogCaptureFixture
) -> None:
    record(cache, "failed", critical=1)
    entries = [BreakGlass("shop/api", "", NOW + 60, "INC-42 hotfix")]
    with caplog.at_level(logging.WARNING):
        answer = one(cache, breakglass=entries)
    assert answer.outcome == "allow"
    assert "INC-42 hotfix" in answer.reason
    assert "break-glass allow" in caplog.text


def test_an_expired_break_glass_entry_is_ignored(cache: GateCacheTable) -> None:
    record(cache, "failed", critical=1)
    entries = [BreakGlass("", D1, NOW - 1, "old incident")]
    assert one(cache, breakglass=entries).outcome == "deny"


DOCUMENT = json.dumps(
    {"entries": [{"digest": D1, "expires": "2027-02-01T00:00:00Z", "reason": "INC-7"}]}
)


def test_the_break_glass_list_loads_from_s3_and_ssm(aws: None) -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="gate")
    s3.put_object(Bucket="gate", Key="breakglass.json", Body=DOCUMENT.encode())
    ssm = boto3.client("ssm", region_name="us-east-1")
    ssm.put_parameter(Name="/gate/breakglass", Value=DOCUMENT, Type="String")
    from_s3 = load_breakglass("s3://gate/breakglass.json", s3=s3)
    assert from_s3 == load_breakglass("ssm:/gate/breakglass", ssm=ssm)
    assert from_s3[0].covers(IMAGE, NOW)


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        '{"entries": {}}',
        '[{"digest": "sha256:x", "expires": "2027-01-01"}]',
        '[{"repository": "a", "digest": "b", "expires": "2027-01-01", "reason": "r"}]',
        '[{"repository": "a", "expires": "soon", "reason": "r"}]',
    ],
)
def test_a_malformed_break_glass_list_is_refused(text: str) -> None:
    with pytest.raises(SettingsError):
        parse_breakglass(text)


def test_gate_settings_read_once_from_the_environment() -> None:
    assert GateSettings.from_env({}) == GateSettings()
    env = {"GATE_MODE": "enforce", "GATE_MAX_WAIT_MINUTES": "5", "GATE_ON_ERROR": "allow"}
    gate = GateSettings.from_env(env)
    assert (gate.enforcing, gate.max_wait_minutes, gate.on_error) == (True, 5, "allow")
    buckets = GateSettings.from_env({"GATE_CODE_BUCKETS": " code-a, code.b ,code-a"})
    assert buckets.code_buckets == ("code-a", "code.b")
    for bad in ({"GATE_MODE": "block"}, {"GATE_MAX_WAIT_MINUTES": "-1"}, {"SCANNER": "trivy"},
                {"GATE_CODE_BUCKETS": "s3://x/y"}, {"GATE_CODE_BUCKETS": "Upper"}):  # fmt: skip
        with pytest.raises(SettingsError):
            GateSettings.from_env(bad)


def inventory_only(cache: GateCacheTable) -> None:
    verdict = Verdict("passed", str(IMAGE), "b-1", vulnerability_data=False)
    cache.record(cache_key(IMAGE), verdict, now=NOW - 60, keep_seconds=3600)


def test_an_inventory_only_record_counts_with_syft(cache: GateCacheTable) -> None:
    inventory_only(cache)
    answer = one(cache, GateSettings(mode="enforce", scanner="syft"))
    assert (answer.outcome, answer.vulnerability_data) == ("allow", False)
    assert "no vulnerability data" in answer.reason


def test_an_inventory_only_record_does_not_count_with_qscanner(cache: GateCacheTable) -> None:
    inventory_only(cache)
    answer = one(cache)
    assert answer.outcome == "unknown"
    assert "inventory-only" in answer.reason


def test_a_scan_error_without_vulnerability_data_is_an_error_with_qscanner(
    cache: GateCacheTable,
) -> None:
    verdict = Verdict("error", str(IMAGE), "b-3", vulnerability_data=False)
    cache.record(cache_key(IMAGE), verdict, now=NOW - 60, keep_seconds=0)
    answer = one(cache, since=NOW - 120)
    assert answer.outcome == "deny"
    assert "the last scan ended in error" in answer.reason
