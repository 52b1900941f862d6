"""`deployscan start-build`: the exact StartBuild request, the scan cache, following a build."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from click.testing import CliRunner

from dispatcher.errors import ImageRefError, ResolveError
from dispatcher.imageref import ImageRef
from dispatcher.launch import CodeBuildLauncher
from dispatcher.resolve_aws import AwsResolver
from dispatcher.scancache import ScanCacheTable
from dispatcher.tiers import TierPolicy
from scanner_runner.buildwatch import BuildWatcher, verdict_of
from scanner_runner.cli import main
from scanner_runner.startbuild import cached_message, plan_manual_build, start
from tests.dispatcher.conftest import create_project, push_ecr_image

ACCOUNT = "123456789012"
REGISTRY = f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com"
PROJECT = "deployscan-scan"


def test_start_build_sends_the_dispatchers_variables(aws: None) -> None:
    digest = push_ecr_image("shop/api", "1.4.2", region="us-east-1")
    resolver = AwsResolver(boto3.session.Session(), None)
    plan = plan_manual_build(
        ImageRef.parse(f"{REGISTRY}/shop/api:1.4.2"),
        project=PROJECT,
        platform="linux/arm64",
        resolver=resolver,
    )
    codebuild = boto3.client("codebuild")
    expected = {
        "projectName": PROJECT,
        "environmentVariablesOverride": [
            {"name": "IMAGE_REF", "value": f"{REGISTRY}/shop/api:1.4.2", "type": "PLAINTEXT"},
            {"name": "IMAGE_DIGEST", "value": digest, "type": "PLAINTEXT"},
            {"name": "IMAGE_PLATFORM", "value": "linux/arm64", "type": "PLAINTEXT"},
            {"name": "SOURCE_ACCOUNT", "value": ACCOUNT, "type": "PLAINTEXT"},
            {"name": "SOURCE_REGION", "value": "us-east-1", "type": "PLAINTEXT"},
            {"name": "TRIGGER", "value": "manual", "type": "PLAINTEXT"},
            {"name": "COMPUTE_TIER", "value": "ec2", "type": "PLAINTEXT"},  # no Lambda project
        ],
        "idempotencyToken": plan.request.idempotency_token(),
    }
    with Stubber(codebuild) as stub:
        stub.add_response("start_build", {"build": {"id": f"{PROJECT}:b-1"}}, expected)
        assert start(plan, CodeBuildLauncher(codebuild)) == f"{PROJECT}:b-1"
        stub.assert_no_pending_responses()


def test_unknown_ecr_tag_still_starts_without_a_digest(aws: None) -> None:
    boto3.client("ecr").create_repository(repositoryName="shop/api")
    resolver = AwsResolver(boto3.session.Session(), None)
    plan = plan_manual_build(
        ImageRef.parse(f"{REGISTRY}/shop/api:missing"),
        project=PROJECT,
        platform=None,
        resolver=resolver,
    )
    assert plan.request.digest is None
    assert "IMAGE_DIGEST" not in plan.request.environment()
    assert any("resolves it when it pulls" in note for note in plan.notes)


def make_cache(digest: str, status: str, expires_at: int) -> Any:
    ddb = boto3.client("dynamodb")
    ddb.create_table(
        TableName="scan-cache",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.put_item(
        TableName="scan-cache",
        Item={
            "pk": {"S": f"digest#{digest}"},
            "status": {"S": status},
            "expires_at": {"N": str(expires_at)},
            "completed_at": {"N": "1790000000"},
            "report_uri": {"S": "s3://reports/r/report.json"},
        },
    )
    return ddb


@pytest.mark.parametrize(
    ("force", "expires_at", "cached"), [(False, 2_000_000_000, True), (True, 2_000_000_000, False),
                                        (False, 1_700_000_000, False)]
)  # fmt: skip
def test_scan_cache_suppresses_a_recent_scan_unless_forced(
    aws: None, force: bool, expires_at: int, cached: bool
) -> None:
    digest = push_ecr_image("shop/api", "1.4.2", region="us-east-1")
    ddb = make_cache(digest, "passed", expires_at)
    plan = plan_manual_build(
        ImageRef.parse(f"{REGISTRY}/shop/api:1.4.2"),
        project=PROJECT,
        platform=None,
        resolver=AwsResolver(boto3.session.Session(), None),
        cache=ScanCacheTable(ddb, "scan-cache"),
        force=force,
        now=1_800_000_000,
    )
    assert (plan.cached is not None) is cached
    if plan.cached:
        message = cached_message(plan.cached)
        assert message.startswith("already scanned 2026-")
        assert message.endswith("use --force")


def test_bad_reference_is_refused_before_any_call() -> None:
    with pytest.raises(ImageRefError, match="invalid"):
        plan_manual_build(ImageRef.parse("Shop/API:$(id)"), project=PROJECT, platform=None,
                          resolver=None)  # fmt: skip


def build_item(phase: str, complete: bool, status: str = "IN_PROGRESS", **extra: Any) -> dict:
    item = {
        "id": f"{PROJECT}:b-1",
        "arn": f"arn:aws:codebuild:us-east-1:{ACCOUNT}:build/{PROJECT}:b-1",
        "currentPhase": phase,
        "buildStatus": status,
        "buildComplete": complete,
        "logs": {"groupName": "/deployscan/scan-build", "streamName": "b-1"},
    }
    item.update(extra)
    return item


def test_wait_follows_phases_and_log_then_maps_the_verdict() -> None:
    codebuild = boto3.client("codebuild", region_name="us-east-1")
    logs = boto3.client("logs", region_name="us-east-1")
    log_params = {"logGroupName": "/deployscan/scan-build", "logStreamName": "b-1",
                  "startFromHead": True}  # fmt: skip
    exported = [
        {"name": "SCAN_STATUS", "value": "failed"},
        {"name": "SCAN_EXIT_CODE", "value": "1"},
        {"name": "SCAN_CRITICAL", "value": "2"},
        {"name": "SCAN_HIGH", "value": "5"},
        {"name": "SCAN_REPORT_URI", "value": "s3://reports/x/report.html"},
    ]
    out: list[str] = []
    sleeps: list[float] = []
    with Stubber(codebuild) as cb, Stubber(logs) as lg:
        cb.add_response("batch_get_builds", {"builds": [build_item("PROVISIONING", False)]})
        lg.add_client_error("get_log_events", "ResourceNotFoundException")
        cb.add_response("batch_get_builds", {"builds": [build_item("BUILD", False)]})
        lg.add_response("get_log_events", {"events": [{"message": "scanning\n"}],
                                           "nextForwardToken": "f/1"}, log_params)  # fmt: skip
        lg.add_response("get_log_events", {"events": [], "nextForwardToken": "f/1"},
                        {**log_params, "nextToken": "f/1"})  # fmt: skip
        done = build_item("COMPLETED", True, "FAILED", exportedEnvironmentVariables=exported)
        cb.add_response("batch_get_builds", {"builds": [done]})
        for _ in range(2):
            lg.add_response("get_log_events", {"events": [{"message": "verdict: failed"}],
                                               "nextForwardToken": "f/2"})  # fmt: skip
            lg.add_response("get_log_events", {"events": [], "nextForwardToken": "f/2"})
        watcher = BuildWatcher(codebuild, logs, out=out.append, sleep=sleeps.append, interval=2)
        verdict = watcher.follow(f"{PROJECT}:b-1")
    assert out[:4] == ["phase: PROVISIONING", "phase: BUILD", "scanning", "phase: COMPLETED"]
    assert "verdict: failed" in out
    assert sleeps == [2, 2]
    assert verdict.exit_code == 1
    assert verdict.report_uri == "s3://reports/x/report.html"
    lines = verdict.lines()
    assert lines[0] == "verdict: failed (build FAILED, exit 1)"
    assert lines[1] == "counts: critical=2 high=5"
    assert "projects/deployscan-scan/build/deployscan-scan%3Ab-1" in lines[-1]


@pytest.mark.parametrize(
    ("status", "exported", "code"),
    [
        ("SUCCEEDED", {}, 3),  # a build that exported no verdict never passes
        ("SUCCEEDED", {"SCAN_EXIT_CODE": "0"}, 3),
        ("SUCCEEDED", {"SCAN_EXIT_CODE": "1", "SCAN_STATUS": "passed"}, 3),  # contradicts itself
        ("FAILED", {"SCAN_EXIT_CODE": "1", "SCAN_STATUS": "failed"}, 1),
        ("FAILED", {}, 3),
        ("FAILED", {"SCAN_EXIT_CODE": "3", "SCAN_STATUS": "error"}, 3),
        ("FAILED", {"SCAN_EXIT_CODE": "0"}, 3),  # scan passed but the build broke: fail closed
        ("TIMED_OUT", {}, 3),
        ("SUCCEEDED", {"SCAN_EXIT_CODE": "0", "SCAN_STATUS": "passed"}, 0),
    ],
)
def test_verdict_mapping(status: str, exported: dict[str, str], code: int) -> None:
    variables = [{"name": k, "value": v} for k, v in exported.items()]
    item = build_item("COMPLETED", True, status, exportedEnvironmentVariables=variables)
    verdict = verdict_of(item)
    assert verdict.exit_code == code
    assert verdict.scan_status == {0: "passed", 1: "failed", 3: "error"}[code]


def test_cli_starts_and_waits_against_moto(aws: None) -> None:
    create_project(boto3.client("codebuild"), PROJECT)
    runner = CliRunner()
    result = runner.invoke(main, ["start-build", "alpine:3.20", "--wait", "--interval", "0"])
    # moto's build "succeeds" without running anything: no exported verdict, so no pass
    assert result.exit_code == 3, result.output
    assert f"started {PROJECT}:" in result.output
    assert "verdict: error (build SUCCEEDED, exit 3)" in result.output


def test_cli_reports_already_scanned(aws: None) -> None:
    digest = push_ecr_image("shop/api", "1.4.2", region="us-east-1")
    make_cache(digest, "failed", 4_000_000_000)
    result = CliRunner().invoke(
        main, ["start-build", f"{REGISTRY}/shop/api:1.4.2", "--cache-table", "scan-cache"]
    )
    assert result.exit_code == 0, result.output
    assert "already scanned" in result.output and "use --force" in result.output


def test_cli_bad_reference_exits_2() -> None:
    result = CliRunner().invoke(main, ["start-build", "nginx;rm -rf /"])
    assert result.exit_code == 2
    assert "deployscan start-build:" in result.output


def test_cli_unreadable_scan_cache_exits_3_without_starting(aws: None) -> None:
    result = CliRunner().invoke(main, ["start-build", "alpine:3.20", "--cache-table", "nosuch"])
    assert result.exit_code == 3, result.output
    assert "cannot read the scan cache nosuch: ResourceNotFoundException" in result.output
    assert "Traceback" not in result.output and "started" not in result.output
    assert boto3.client("codebuild").list_builds()["ids"] == []


def test_a_failed_lookup_is_one_note_not_two(aws: None) -> None:
    # AWS refused the lookup: that is not the same as "ECR does not know this tag"
    class Failing:
        def image_digest(self, image: object) -> str | None:
            raise ResolveError("ecr:DescribeImages failed: AccessDeniedException")

        def pull_role_arn(self, image: object) -> str | None:
            return None

        def image_size(self, image: object) -> int | None:
            raise AssertionError("no Lambda project: the size cannot matter")

    plan = plan_manual_build(
        ImageRef.parse(f"{REGISTRY}/shop/api:1.4.2"),
        project=PROJECT,
        platform=None,
        resolver=Failing(),
    )
    assert plan.notes == (
        "digest not resolved (ecr:DescribeImages failed: AccessDeniedException); "
        "the build resolves it when it pulls",
        "compute tier ec2 (no-lambda-project)",
    )


LAMBDA_PROJECT = "deployscan-scan-lambda"


@pytest.mark.parametrize(
    ("tier", "limit_mib", "expected"),
    [
        (None, 1024, ("lambda", "compute tier lambda (default)")),
        (None, 0, ("ec2", "compute tier ec2 (image-size)")),  # every image is above 0 MiB
        ("ec2", 1024, ("ec2", None)),  # the documented retry after a Lambda timeout
        ("lambda", 0, ("lambda", None)),  # asked for: the size rule does not apply
    ],
)
def test_start_build_chooses_the_tier_as_the_dispatcher_does(
    aws: None, tier: str | None, limit_mib: int, expected: tuple[str, str | None]
) -> None:
    digest = push_ecr_image("shop/api", "1.4.2", region="us-east-1")
    tiers = TierPolicy(
        ec2_project=PROJECT,
        lambda_project=LAMBDA_PROJECT,
        region="us-east-1",
        max_lambda_bytes=limit_mib * 1024 * 1024,
    )
    plan = plan_manual_build(
        ImageRef.parse(f"{REGISTRY}/shop/api:1.4.2"),
        project=PROJECT,
        platform=None,
        resolver=AwsResolver(boto3.session.Session(), None),
        tiers=tiers,
        tier=tier,
    )
    chosen, note = expected
    codebuild = boto3.client("codebuild")
    request = {
        "projectName": LAMBDA_PROJECT if chosen == "lambda" else PROJECT,
        "environmentVariablesOverride": [
            {"name": "IMAGE_REF", "value": f"{REGISTRY}/shop/api:1.4.2", "type": "PLAINTEXT"},
            {"name": "IMAGE_DIGEST", "value": digest, "type": "PLAINTEXT"},
            {"name": "SOURCE_ACCOUNT", "value": ACCOUNT, "type": "PLAINTEXT"},
            {"name": "SOURCE_REGION", "value": "us-east-1", "type": "PLAINTEXT"},
            {"name": "TRIGGER", "value": "manual", "type": "PLAINTEXT"},
            {"name": "COMPUTE_TIER", "value": chosen, "type": "PLAINTEXT"},
        ],
        "idempotencyToken": plan.request.idempotency_token(),
    }
    with Stubber(codebuild) as stub:
        stub.add_response("start_build", {"build": {"id": f"{PROJECT}:b-1"}}, request)
        start(plan, CodeBuildLauncher(codebuild))
        stub.assert_no_pending_responses()
    assert [n for n in plan.notes if n.startswith("compute tier")] == ([note] if note else [])


def test_cli_tier_option_takes_only_the_two_tiers() -> None:
    result = CliRunner().invoke(main, ["start-build", "alpine:3.20", "--tier", "fargate"])
    assert result.exit_code == 2
    assert "'fargate' is not one of 'lambda', 'ec2'" in result.output
