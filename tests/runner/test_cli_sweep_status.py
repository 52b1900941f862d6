"""`deployscan sweep` and `deployscan status` end to end against moto."""

from __future__ import annotations

import json
import time

import boto3
import pytest
from click.testing import CliRunner

from dispatcher.scancache import ScanCacheTable, Verdict, digest_key
from dispatcher.scancache.inusewrites import SweepCacheTable
from dispatcher.scanitems import InUseEntry, Place, UnitState
from scanner_runner.cli import main

REGION, TABLE, HOME = "eu-central-1", "deployscan-scan-cache", "123456789012"
BAD, GOOD = "sha256:" + "ba" * 32, "sha256:" + "60" * 32


@pytest.fixture
def env(aws: None) -> dict[str, str]:
    client = boto3.client("dynamodb", region_name=REGION)
    client.create_table(TableName=TABLE, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                        BillingMode="PAY_PER_REQUEST")  # fmt: skip
    return {"SCAN_CACHE_TABLE": TABLE, "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION}


def _index(now: float) -> None:
    cache = ScanCacheTable(boto3.client("dynamodb", region_name=REGION), TABLE)
    entries = [
        InUseEntry(BAD, HOME, REGION, "shop/old:1", (Place("ecs", "prod/service:old", 3),), now),
        InUseEntry(GOOD, HOME, REGION, "shop/new:2", (Place("lambda", "report"),), now),
    ]
    SweepCacheTable.over(cache).record_unit(
        HOME, REGION, entries, now=now, keep_seconds=3600, before=UnitState(), functions={}
    )
    cache.record(digest_key(BAD), Verdict("failed", "shop/old:1", "b:1", "s3://r/x/report.json",
                                          {"critical": 2, "high": 1}), now=now - 7200,
                 keep_seconds=86400)  # fmt: skip
    cache.record(digest_key(GOOD), Verdict("passed", "shop/new:2", "b:2", "", {"medium": 1}),
                 now=now - 60, keep_seconds=86400)  # fmt: skip


def test_status_prints_the_table_riskiest_first_and_fails_on_a_failed_verdict(
    env: dict[str, str],
) -> None:
    _index(time.time())  # the CLI reads the index at the real time
    result = CliRunner().invoke(main, ["status"], env=env)
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["IMAGE", "DIGEST", "WHERE", "VERDICT", "C/H/M/L", "SCANNED",
                                "REPORT"]  # fmt: skip
    assert lines[1].startswith("shop/old:1") and "failed" in lines[1] and "2/1/0/0" in lines[1]
    assert "1 service (3 tasks) in 1 account" in lines[1] and "2h ago" in lines[1]
    assert lines[2].startswith("shop/new:2") and "passed" in lines[2]
    assert lines[-1] == "2 running digest(s); 1 break the policy."
    doc = json.loads(CliRunner().invoke(main, ["status", "--json"], env=env).output)
    assert [i["digest"] for i in doc["running"]] == [BAD, GOOD] and doc["breaking"] == 1
    assert CliRunner().invoke(main, ["status", "--account", "210987654321"], env=env).exit_code == 0
    medium = CliRunner().invoke(main, ["status", "--fail-on", "medium", "--json"], env=env)
    assert json.loads(medium.output)["breaking"] == 2


def test_status_refuses_bad_options_with_one_line(env: dict[str, str]) -> None:
    result = CliRunner().invoke(main, ["status", "--account", "$(id)"], env=env)
    assert result.exit_code == 2
    assert "is not a 12-digit account id" in result.output and "Traceback" not in result.output
    no_table = CliRunner().invoke(main, ["status"], env={**env, "SCAN_CACHE_TABLE": ""})
    assert no_table.exit_code == 2 and "SCAN_CACHE_TABLE" in no_table.output


def test_sweep_dry_run_prints_one_line_per_running_image(env: dict[str, str]) -> None:
    iam = boto3.client("iam", region_name=REGION)
    role = iam.create_role(RoleName="fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam = boto3.client("lambda", region_name=REGION)
    image = f"{HOME}.dkr.ecr.{REGION}.amazonaws.com/jobs/report:7"
    lam.create_function(FunctionName="report", Role=role, PackageType="Image",
                        Code={"ImageUri": image})  # fmt: skip
    result = CliRunner().invoke(main, ["sweep", "--dry-run"], env=env)
    assert result.exit_code == 0, result.output
    (line,) = [json.loads(x) for x in result.output.splitlines()]
    assert set(line) == {"action", "image", "digest", "reason", "account", "region", "where",
                         "last_scanned"}  # fmt: skip
    assert (line["action"], line["reason"], line["image"]) == ("build", "never-scanned", image)
    assert line["where"] == [{"kind": "lambda", "name": "report", "platform": "linux/amd64"}]
    assert (line["account"], line["region"]) == (HOME, REGION)
    bad = CliRunner().invoke(main, ["sweep", "--region", "eu-central-1; rm -rf /"], env=env)
    assert bad.exit_code == 2 and "is not a region" in bad.output
