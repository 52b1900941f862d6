"""Publishing with moto: S3 layout and encryption, the scan-cache record, SNS, retries."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from moto.sns.models import sns_backends

from scanner_runner import writers
from scanner_runner.publish import (
    Clients,
    Published,
    Targets,
    exported_variables,
    key_prefix,
    make_clients,
    publish,
    report_uri,
    subject,
)
from scanner_runner.report import ImageInfo, ScannerInfo, ScanReport, TriggerInfo
from tests.runner.conftest import denied_inventory_report, error_policy, fixed_report

NOW = datetime(2026, 3, 1, 10, 0, 42, tzinfo=UTC)
BUCKET, TABLE = "scan-results", "scan-cache"
DIGEST = "sha256:" + "0123456789abcdef" * 4


class _Body:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.data


def fail_first(client: Any, event: str, times: int, status: int, body: bytes) -> list[int]:
    """Answer the first `times` requests of `event` with an error, as a flaky AWS would."""
    seen: list[int] = []

    def handler(request: Any, **_: Any) -> AWSResponse | None:
        seen.append(1)
        if len(seen) <= times:
            return AWSResponse(request.url, status, {}, _Body(body))
        return None

    client.meta.events.register_first(f"before-send.{event}", handler)
    return seen


def publish_at_p(
    world: dict[str, Any],
    report: ScanReport,
    out: Path,
    *,
    targets: Targets | None = None,
    clients: Clients | None = None,
    cache_keys: Iterable[str] = (f"digest#{DIGEST}",),
) -> Published:
    """`publish` under the key prefix `p/` at NOW, with the world's targets and clients."""
    chosen = targets or world["targets"]
    uri = f"s3://{chosen.bucket}/p/report.json" if chosen.bucket else ""
    return publish(
        report.with_(report_uri=uri),
        out,
        targets=chosen,
        clients=clients or world["clients"],
        cache_keys=cache_keys,
        now=NOW,
    )


@pytest.fixture
def world(aws: None) -> dict[str, Any]:
    targets = Targets(
        bucket=BUCKET,
        prefix="deployscan",
        table=TABLE,
        ttl_hours=24,
        topic_arn="",
    )
    session = boto3.session.Session(region_name="us-east-1")
    s3 = session.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    session.client("dynamodb").create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    topic = session.client("sns").create_topic(Name="scan-alerts")["TopicArn"]
    targets = Targets(**{**targets.__dict__, "topic_arn": topic})
    return {"targets": targets, "session": session, "clients": make_clients(targets, session)}


def outputs(tmp_path: Path, **changes: Any) -> tuple[Any, Path]:
    report = fixed_report(**changes)
    writers.write_all(report, tmp_path)
    (tmp_path / "qscanner").mkdir()
    (tmp_path / "qscanner" / f"{'f' * 64}-ScanResult.json").write_text("{}")
    (tmp_path / "sbom.cdx.json").write_text("{}")
    (tmp_path / "exported-variables.env").write_text("SCAN_STATUS=x\n")
    return report, tmp_path


def item(world: dict[str, Any], key: str) -> dict[str, Any]:
    answer = world["session"].client("dynamodb").get_item(TableName=TABLE, Key={"pk": {"S": key}})
    return dict(answer.get("Item", {}))


def test_s3_key_layout_is_the_contract_and_safe() -> None:
    report = fixed_report()
    assert key_prefix(report, "deployscan", NOW) == (
        "deployscan/123456789012/eu-west-1/shop/api/sha256-"
        + "0123456789abcdef" * 4
        + "/20260301T100042Z-deployscan-scan_5e0c2f4a-aaaa-bbbb-cccc-000000000001/"
    )
    hostile = fixed_report(
        image=ImageInfo(ref="x", repository="../../etc/passwd", digest=DIGEST),
        trigger=TriggerInfo(account="../x", region="/abs"),
        build_id="../../b",
    )
    key = key_prefix(hostile, "/deployscan/", NOW)
    assert ".." not in key.split("/") and not key.startswith("/")
    assert "//" not in key


def test_publish_uploads_encrypted_objects_records_and_notifies(
    world: dict[str, Any], tmp_path: Path
) -> None:
    report, out = outputs(tmp_path)
    prefix = key_prefix(report, "deployscan", NOW)
    assert report_uri(report, world["targets"], NOW) == f"s3://{BUCKET}/{prefix}report.json"
    result = publish(
        report.with_(report_uri=report_uri(report, world["targets"], NOW)),
        out,
        targets=world["targets"],
        clients=world["clients"],
        cache_keys=[f"digest#{DIGEST}", "ref#example/app:1"],
        now=NOW,
    )
    s3 = world["session"].client("s3")
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"])
    expected = sorted(
        prefix + name
        for name in [
            "report.json",
            "junit.xml",
            "report.sarif.json",
            "report.html",
            "report.md",
            "findings.asff.json",
            "sbom.cdx.json",
            f"qscanner/{'f' * 64}-ScanResult.json",
        ]
    )
    assert keys == expected  # the exported-variables file is not uploaded
    head = s3.head_object(Bucket=BUCKET, Key=prefix + "report.html")
    assert head["ServerSideEncryption"] == "AES256"
    assert head["ContentType"].startswith("text/html")
    assert result.report_uri == f"s3://{BUCKET}/{prefix}report.json"

    record = item(world, f"digest#{DIGEST}")
    assert record["status"] == {"S": "failed"}
    assert record["expires_at"] == {"N": str(int(NOW.timestamp()) + 24 * 3600)}
    assert record["counts"]["M"]["critical"] == {"N": "2"}
    assert record["report_uri"] == {"S": result.report_uri}
    assert record["completed_at"] == {"N": str(int(NOW.timestamp()))}
    assert record["build_id"]["S"].startswith("deployscan-scan:")
    assert record["compute_tier"] == {"S": "lambda"}  # where it ran: the dispatcher's retry rule
    assert item(world, "ref#example/app:1")["status"] == {"S": "failed"}

    topic = sns_backends["123456789012"]["us-east-1"].topics[world["targets"].topic_arn]
    ((_, message, subject_line, _, _),) = [n[:5] for n in topic.sent_notifications]
    assert subject_line == "deployscan: shop/api@0123456789ab 2C/1H FAILED"
    assert f"{BUCKET}/{prefix}report.html" in message
    assert result.notified and not result.failed


def test_error_scans_expire_at_once_so_the_next_deploy_rescans(
    world: dict[str, Any], tmp_path: Path
) -> None:
    report, out = outputs(tmp_path, status="error", findings=(), policy=error_policy())
    publish_at_p(world, report, out)
    record = item(world, f"digest#{DIGEST}")
    assert record["status"] == {"S": "error"}
    assert record["expires_at"] == {"N": str(int(NOW.timestamp()))}


def test_inventory_only_does_not_suppress_a_real_scan_later(
    world: dict[str, Any], tmp_path: Path
) -> None:
    report, out = outputs(tmp_path, findings=(), status="passed", vulnerability_data=False)
    targets = Targets(**{**world["targets"].__dict__, "topic_arn": ""})
    publish_at_p(world, report, out, targets=targets)
    record = item(world, f"digest#{DIGEST}")
    assert record["status"] == {"S": "passed"}
    assert record["expires_at"] == {"N": str(int(NOW.timestamp()))}


def test_a_syft_inventory_is_kept_and_says_it_had_no_vulnerability_data(
    world: dict[str, Any], tmp_path: Path
) -> None:
    syft = ScannerInfo("syft", "1.0.0", "inventory-only")
    report, out = outputs(
        tmp_path, findings=(), status="passed", vulnerability_data=False, scanner=syft
    )
    targets = Targets(**{**world["targets"].__dict__, "topic_arn": ""})
    publish_at_p(world, report, out, targets=targets)
    record = item(world, f"digest#{DIGEST}")
    assert record["vuln_data"] == {"BOOL": False}
    assert int(record["expires_at"]["N"]) > int(NOW.timestamp())


def test_the_policy_reason_is_recorded_for_the_gate(world: dict[str, Any], tmp_path: Path) -> None:
    report, out = outputs(tmp_path, findings=(), status="passed")
    targets = Targets(**{**world["targets"].__dict__, "topic_arn": ""})
    publish_at_p(world, report, out, targets=targets)
    record = item(world, f"digest#{DIGEST}")
    assert report.policy.reason
    assert record["reason"] == {"S": report.policy.reason}


def test_clean_pass_sends_no_notification(world: dict[str, Any], tmp_path: Path) -> None:
    report, out = outputs(tmp_path, findings=(), status="passed")
    result = publish_at_p(world, report, out, cache_keys=[])
    assert not result.notified


def test_transient_failures_are_retried(world: dict[str, Any], tmp_path: Path) -> None:
    report, out = outputs(tmp_path)
    clients: Clients = world["clients"]
    s3_calls = fail_first(
        clients.s3, "s3.PutObject", 2, 503, b"<Error><Code>SlowDown</Code></Error>"
    )
    ddb_calls = fail_first(
        clients.dynamodb,
        "dynamodb.UpdateItem",
        1,
        400,
        b'{"__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException", "message": "slow"}',
    )
    sns_calls = fail_first(clients.sns, "sns.Publish", 1, 500, b"<ErrorResponse/>")
    publish_at_p(world, report, out, clients=clients)
    assert len(s3_calls) == 8 + 2  # eight files, two of them needed a retry
    assert len(ddb_calls) == 2 and len(sns_calls) == 2
    assert item(world, f"digest#{DIGEST}")["status"] == {"S": "failed"}


def test_persistent_failure_is_reported_after_the_other_steps(
    world: dict[str, Any], tmp_path: Path
) -> None:
    report, out = outputs(tmp_path)
    clients: Clients = world["clients"]
    fail_first(
        clients.sns,
        "sns.Publish",
        99,
        403,
        b"<ErrorResponse><Error><Code>AuthorizationError</Code><Message>no</Message></Error></ErrorResponse>",
    )
    result = publish_at_p(world, report, out, clients=clients)
    assert result.failures == ("SNS publish: AuthorizationError: no",)
    assert not result.notified
    record = item(world, f"digest#{DIGEST}")
    assert record["status"] == {"S": "failed"}  # still recorded, with its reports
    assert record["report_uri"] == {"S": f"s3://{BUCKET}/p/report.json"}
    # but the alert never went out: the verdict must not suppress the next deploy's scan
    assert record["expires_at"] == {"N": str(int(NOW.timestamp()))}


def test_missing_bucket_is_a_publish_error(world: dict[str, Any], tmp_path: Path) -> None:
    report, out = outputs(tmp_path)
    targets = Targets(bucket="no-such-bucket")
    result = publish_at_p(world, report, out, targets=targets, cache_keys=[])
    assert result.failed and not result.stored
    assert re.match(r"S3 upload of report\.json: NoSuchBucket", result.failures[0])


def test_subject_is_one_ascii_line_under_100_characters() -> None:
    long_repo = "team/" + "x" * 150 + "/\u00e9\n"
    text = subject(fixed_report(image=ImageInfo(ref="r", repository=long_repo, digest=DIGEST)))
    assert len(text) <= 100 and text.isascii() and "\n" not in text
    assert text.endswith("@0123456789ab 2C/1H FAILED")


def test_subject_shows_counts_only_when_there_are_counts() -> None:
    head = "deployscan: shop/api@0123456789ab "
    error = fixed_report(status="error", findings=(), policy=error_policy(), error="pull failed")
    assert subject(error) == head + "SCAN ERROR"
    inventory = fixed_report(status="passed", findings=(), vulnerability_data=False)
    assert subject(inventory) == head + "INVENTORY ONLY"
    assert subject(denied_inventory_report()) == (
        head + "INVENTORY ONLY - FAILED deny list (1 package)"
    )
    hostile = ImageInfo(ref="r", repository="team/" + "y" * 120 + "\x1b[2J\t\u00e9", digest=DIGEST)
    text = subject(denied_inventory_report(image=hostile))
    assert len(text) <= 100 and text.endswith(
        "y[2J ?@0123456789ab INVENTORY ONLY - FAILED deny list (1 package)"
    )
    assert all(" " <= c <= "~" for c in text)


def test_exported_variables_are_shell_quoted() -> None:
    text = exported_variables(fixed_report(), "failed", "s3://b/k $(reboot)/report.json")
    assert text.splitlines() == [
        "SCAN_STATUS=failed",
        "SCAN_CRITICAL=2",
        "SCAN_HIGH=1",
        "SCAN_MEDIUM=1",
        "SCAN_LOW=1",
        "SCAN_INFO=0",
        "SCAN_REPORT_URI='s3://b/k $(reboot)/report.json'",
    ]


def test_reports_missing_from_s3_do_not_suppress_the_next_scan(
    world: dict[str, Any], tmp_path: Path
) -> None:
    """A verdict whose reports never reached S3 is recorded, but expires at once."""
    report, out = outputs(tmp_path)
    clients: Clients = world["clients"]
    fail_first(
        clients.s3,
        "s3.PutObject",
        999,
        403,
        b"<Error><Code>AccessDenied</Code><Message>no</Message></Error>",
    )
    result = publish_at_p(world, report, out, clients=clients)
    assert re.match(r"S3 upload of report\.json: AccessDenied", result.failures[0])
    record = item(world, f"digest#{DIGEST}")
    assert record["status"] == {"S": "failed"}
    assert record["expires_at"] == {"N": str(int(NOW.timestamp()))}
    assert record["report_uri"] == {"S": "-"}
