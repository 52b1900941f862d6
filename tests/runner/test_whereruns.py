"""Reports and notifications say where the digest runs when the sweep's in-use index knows it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest

from dispatcher.scancache import CODE_KEY_PREFIX
from dispatcher.scancache.inusewrites import SweepCacheTable
from dispatcher.scanitems import InUseEntry, Place, UnitState
from scanner_runner import publish
from scanner_runner.report import ScanReport, load, save
from scanner_runner.whereruns import with_where
from scanner_runner.writers import asff
from scanner_runner.writers.markdown import render as markdown
from tests.runner.conftest import fixed_report
from tests.runner.test_asff_zip import zip_report

TABLE = "deployscan-scan-cache"
NOW = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)


@pytest.fixture
def table(aws: None) -> Any:
    client = boto3.client("dynamodb", region_name="eu-west-1")
    client.create_table(TableName=TABLE, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                        BillingMode="PAY_PER_REQUEST")  # fmt: skip
    return client


def _runs(client: Any, digest: str, account: str, places: tuple[Place, ...]) -> None:
    entry = InUseEntry(digest, account, "eu-west-1", "shop/api:1.4.2", places, NOW.timestamp())
    SweepCacheTable(client, TABLE).record_unit(
        account, "eu-west-1", [entry], now=NOW.timestamp(), keep_seconds=3600,
        before=UnitState(), functions={},
    )  # fmt: skip


def test_the_report_and_its_notification_say_where_the_digest_runs(
    table: Any, tmp_path: Path
) -> None:
    report = fixed_report()
    digest = report.image.digest
    _runs(table, digest, "123456789012", (Place("ecs", "prod/service:api", 4),
                                          Place("ecs", "prod/service:api-canary", 1)))  # fmt: skip
    _runs(table, digest, "210987654321", (Place("ecs", "prod/service:api", 2),))
    targets = publish.Targets(table=TABLE)
    found = with_where(report, targets, publish.Clients(dynamodb=table), NOW)
    assert found.where == "runs in 3 services (7 tasks) in 2 accounts, 1 region"
    assert "Runs now: runs in 3 services (7 tasks) in 2 accounts" in publish.message(found, "")
    assert "- Where it runs: runs in 3 services" in markdown(found)
    assert found.workloads == (
        "arn:aws:ecs:eu-west-1:123456789012:service/prod/api",
        "arn:aws:ecs:eu-west-1:123456789012:service/prod/api-canary",
        "arn:aws:ecs:eu-west-1:210987654321:service/prod/api",
    )
    save(found, tmp_path / "report.json")
    assert load(tmp_path / "report.json").where == found.where
    assert load(tmp_path / "report.json").workloads == found.workloads


def test_the_workloads_are_services_and_functions_by_arn(table: Any, tmp_path: Path) -> None:
    report = fixed_report()
    digest = report.image.digest
    _runs(table, digest, "123456789012", (
        Place("ecs", "prod/service:api", 2),
        Place("ecs", "batch/family:nightly", 1),  # a standalone task: no lasting ARN
        Place("lambda", "thumbs"),
        Place("lambda", "arn:aws:lambda:eu-west-1:123456789012:function:resize"),
        Place("lambda", "bad name; rm -rf"),
    ))  # fmt: skip
    found = with_where(report, publish.Targets(table=TABLE), publish.Clients(dynamodb=table), NOW)
    assert found.workloads == (
        "arn:aws:ecs:eu-west-1:123456789012:service/prod/api",
        "arn:aws:lambda:eu-west-1:123456789012:function:resize",
        "arn:aws:lambda:eu-west-1:123456789012:function:thumbs",
    )
    assert asff.findings(found, "123456789012", "eu-west-1")[0]["Resources"][2:] == [
        {"Type": "AwsEcsService", "Id": found.workloads[0], "Partition": "aws",
         "Region": "eu-west-1"},
        {"Type": "AwsLambdaFunction", "Id": found.workloads[1], "Partition": "aws",
         "Region": "eu-west-1", "Details": {"AwsLambdaFunction": {"FunctionName": "resize"}}},
        {"Type": "AwsLambdaFunction", "Id": found.workloads[2], "Partition": "aws",
         "Region": "eu-west-1", "Details": {"AwsLambdaFunction": {"FunctionName": "thumbs"}}},
    ]  # fmt: skip
    assert "workloads" not in fixed_report().to_dict()  # absent unless known


def test_zip_code_is_found_under_its_code_key(table: Any) -> None:
    report = zip_report()  # orders:7 in 111122223333
    _runs(table, CODE_KEY_PREFIX + report.image.digest, "111122223333",
          (Place("lambda", "orders"), Place("lambda", "orders-eu")))  # fmt: skip
    found = with_where(report, publish.Targets(table=TABLE), publish.Clients(dynamodb=table), NOW)
    assert found.where == "runs in 2 functions in 1 account, 1 region"
    function = "arn:aws:lambda:eu-west-1:111122223333:function:orders"
    assert found.workloads == (function, f"{function}-eu")
    resources = asff.findings(found, "111122223333", "eu-west-1")[0]["Resources"]
    # the scanned function (version 7) is listed once, the other function after it
    assert [r["Id"] for r in resources] == [f"{function}:7", f"{function}-eu"]


def test_nothing_is_said_when_the_index_does_not_know_the_digest(table: Any) -> None:
    report = fixed_report()
    targets = publish.Targets(table=TABLE)
    assert with_where(report, targets, publish.Clients(dynamodb=table), NOW) is report
    assert "where" not in report.to_dict()
    assert "Where it runs" not in publish.message(report, "")


def test_an_unreadable_table_leaves_the_line_out(aws: None) -> None:
    report: ScanReport = fixed_report()
    client = boto3.client("dynamodb", region_name="eu-west-1")  # no such table
    targets = publish.Targets(table="missing")
    assert with_where(report, targets, publish.Clients(dynamodb=client), NOW) is report
