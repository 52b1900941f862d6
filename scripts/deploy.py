#!/usr/bin/env python3
"""Deploy deployscan with the AWS CLI: the engine behind `make package|deploy|deploy-region|
deploy-hub|deploy-spoke-stackset|destroy`.

Settings come from the environment (make passes its command-line variables there), so a Qualys
token given as QUALYS_API_TOKEN never reaches argv. Order of work: check the variables and the
AWS CLI (no AWS call), look up what exists (read-only calls), print the plan, carry it out.
DRY_RUN=1 prints the plan with placeholders and calls nothing. Stdlib only.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from awsrun import AwsCli, Call, ChangeSet, DeployError, Step, execute
from deployvars import Env, check
from package import PackageError, build_all
from wheelhouse import ALL_TARGETS, WheelhouseError, cache_root, download

ROOT = Path(__file__).resolve().parent.parent
CFN = ROOT / "cfn"
TARGETS = ("package", "deploy", "deploy-hub", "deploy-region", "deploy-spoke-stackset", "destroy")


@dataclass(frozen=True)
class Facts:
    """What the read-only lookups found (placeholders in a dry run)."""

    account: str
    stack_exists: bool
    stack_outputs: Mapping[str, str]
    bucket_exists: bool
    region_stacks: frozenset[str] = frozenset()  # regions where the region spoke exists


def look_up(target: str, env: Env, cli: AwsCli, dry_run: bool) -> Facts:
    """Read-only lookups the plan depends on (skipped in a dry run)."""
    if dry_run:
        outputs = {"TargetEventBusArn": "<from stack outputs>"}
        return Facts("<account>", env.get("ASSUME_STACK_EXISTS") == "1", outputs, True)
    region = env.region
    account = cli.call("sts", "get-caller-identity", region)["Account"]
    stacks = _stacks(cli, env.stack, region)
    outputs = {o["OutputKey"]: o["OutputValue"] for s in stacks for o in s.get("Outputs", [])}
    bucket_exists = True
    if target in ("package", "deploy", "deploy-hub") and not env.get("ARTIFACTS_BUCKET"):
        args = ("--bucket", default_bucket(env, account))
        bucket_exists = (
            cli.call("s3api", "head-bucket", region, args, ok_errors=("404",)) is not None
        )
    spoke = env.get("REGION_STACK_NAME", f"{env.stack}-region")
    spokes = frozenset(
        r for r in env.regions("REGION") if target == "deploy-region" and _stacks(cli, spoke, r)
    )
    return Facts(account, bool(stacks), outputs, bucket_exists, spokes)


def _stacks(cli: AwsCli, name: str, region: str) -> list[dict[str, Any]]:
    found = cli.call(
        "cloudformation",
        "describe-stacks",
        region,
        ("--stack-name", name),
        ok_errors=("does not exist",),
    )
    return list((found or {}).get("Stacks", []))


def default_bucket(env: Env, account: str) -> str:
    """ARTIFACTS_BUCKET, else <project>-artifacts-<account>-<region>."""
    return env.get("ARTIFACTS_BUCKET") or f"{env.project}-artifacts-{account}-{env.region}"


def plan_package(env: Env, facts: Facts) -> tuple[list[Step], dict[str, str]]:
    """Build both zips locally; steps upload them (and QSCANNER_FILE) to the artifacts bucket."""
    region, bucket = env.region, default_bucket(env, facts.account)
    source = Path(env.get("SOURCE_DIR") or ROOT)
    try:
        # The one step that reaches the package index: the locked wheels of every build
        # platform, once per lock (cached); the bundle is then built offline from them.
        download(source, cache_root(), ALL_TARGETS)
        artifacts = build_all(source, source / "build" / "package")
    except (PackageError, WheelhouseError) as exc:
        raise DeployError(f"package: {exc}") from exc
    steps: list[Step] = []
    if not facts.bucket_exists:
        location = {} if region == "us-east-1" else {"LocationConstraint": region}
        steps += [
            Call(
                f"create the artifacts bucket {bucket}",
                "s3api",
                "create-bucket",
                region,
                request={"Bucket": bucket, "CreateBucketConfiguration": location}
                if location
                else {"Bucket": bucket},
            ),
            Call(
                "block public access to it",
                "s3api",
                "put-public-access-block",
                region,
                request={
                    "Bucket": bucket,
                    "PublicAccessBlockConfiguration": dict.fromkeys(
                        ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy"), True
                    )
                    | {"RestrictPublicBuckets": True},
                },
            ),
        ]
    keys = {a.name: a.key for a in artifacts}
    uploads = [(a.path, a.key) for a in artifacts]
    qscanner = env.get("QSCANNER_FILE")
    if qscanner:
        path = Path(qscanner)
        if not path.is_file():
            raise DeployError(f"QSCANNER_FILE={qscanner}: no such file")
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        keys["qscanner_url"] = f"s3://{bucket}/deployscan/qscanner-{digest[:16]}"
        keys["qscanner_sha256"] = digest
        uploads.append((path, f"deployscan/qscanner-{digest[:16]}"))
    for path, key in uploads:
        steps.append(
            Call(
                f"upload {path.name}",
                "s3",
                "cp",
                region,
                (str(path), f"s3://{bucket}/{key}", "--sse", "AES256", "--only-show-errors"),
            )
        )
    keys["bucket"] = bucket
    return steps, keys


def scanner_parameters(
    env: Env, facts: Facts, keys: Mapping[str, str], hub: bool
) -> dict[str, str | None]:
    """The scanner stack's parameters; the token's previous value is kept on update."""
    params: dict[str, str | None] = {
        "ProjectName": env.project,
        "ArtifactsBucket": keys["bucket"],
        "DispatcherCodeKey": keys["dispatcher"],
        "RunnerBundleKey": keys["runner"],
        "QualysPod": env.get("QUALYS_POD"),
        "QScannerUrl": keys.get("qscanner_url") or env.get("QSCANNER_URL"),
        "QScannerSha256": keys.get("qscanner_sha256") or env.get("QSCANNER_SHA256"),
        "OrganizationId": env.get("OrganizationId") if hub else "",
    }
    if env.get("QUALYS_API_TOKEN"):
        params |= {"QualysAccessToken": env.get("QUALYS_API_TOKEN"), "ExistingQualysSecretArn": ""}
    elif env.get("QUALYS_SECRET_ARN"):
        params |= {"QualysAccessToken": "", "ExistingQualysSecretArn": env.get("QUALYS_SECRET_ARN")}
    elif facts.stack_exists:
        params |= {"QualysAccessToken": None, "ExistingQualysSecretArn": None}
    else:
        raise DeployError(
            f"stack {env.stack} does not exist yet: give QUALYS_API_TOKEN (in the environment) "
            "or QUALYS_SECRET_ARN"
        )
    for pair in filter(None, env.get("CFN_PARAMS").split(",")):
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise DeployError(f"CFN_PARAMS: {pair!r} is not Key=Value")
        params[key.strip()] = value.strip()
    return params


def plan(target: str, env: Env, facts: Facts) -> list[Step]:
    """The ordered steps of one make target."""
    region = env.region
    if target == "package":
        return plan_package(env, facts)[0]
    if target in ("deploy", "deploy-hub"):
        steps, keys = plan_package(env, facts)
        params = scanner_parameters(env, facts, keys, hub=target == "deploy-hub")
        what = "scanner stack (hub)" if target == "deploy-hub" else "scanner stack"
        template = str(CFN / "scanner.yaml")
        secret = ("QualysAccessToken",)
        cs = ChangeSet(what, env.stack, region, template, params, facts.stack_exists, secret)
        return [*steps, cs]
    if target == "deploy-region":
        bus = env.get("TARGET_EVENT_BUS_ARN") or facts.stack_outputs.get("TargetEventBusArn")
        if not bus:
            raise DeployError(f"stack {env.stack} in {region} has no TargetEventBusArn output yet")
        name = env.get("REGION_STACK_NAME", f"{env.stack}-region")
        trail_rules = env.get("ENABLE_CLOUDTRAIL_RULES", "true")
        params = {"TargetEventBusArn": bus, "EnableCloudTrailRules": trail_rules}
        template = str(CFN / "region-spoke.yaml")
        return [
            ChangeSet(f"region spoke {r}", name, r, template, params, r in facts.region_stacks)
            for r in env.regions("REGION")
        ]
    if target == "deploy-spoke-stackset":
        return plan_stackset(env)
    return plan_destroy(env)


def plan_stackset(env: Env) -> list[Step]:
    """Create the service-managed StackSet of account-spoke.yaml and instances in the OUs."""
    region = env.region
    name = env.get("STACKSET_NAME", "deployscan-account-spoke")
    regions = env.regions("SPOKE_REGIONS") or [region]
    params = {
        "CentralEventBusArn": env.get("CentralEventBusArn"),
        "SecurityAccountId": env.get("SecurityAccountId"),
        "HubProjectName": env.project,
        "PrimaryRegion": regions[0],
        "CreateTrail": env.get("CREATE_TRAIL", "false"),
    }
    body = (CFN / "account-spoke.yaml").read_text(encoding="utf-8")
    call_as = ("--call-as", env.get("CALL_AS", "SELF"))
    return [
        Call(
            f"create StackSet {name} (service-managed, auto-deploy to new accounts)",
            "cloudformation",
            "create-stack-set",
            region,
            call_as,
            request={
                "StackSetName": name,
                "TemplateBody": body,
                "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()],
                "Capabilities": ["CAPABILITY_NAMED_IAM"],
                "PermissionModel": "SERVICE_MANAGED",
                "AutoDeployment": {"Enabled": True, "RetainStacksOnAccountRemoval": False},
            },
            ok_errors=("NameAlreadyExistsException",),
        ),
        Call(
            f"deploy it to OUs {env.get('OrgUnitIds')} in {', '.join(regions)}",
            "cloudformation",
            "create-stack-instances",
            region,
            call_as,
            request={
                "StackSetName": name,
                "DeploymentTargets": {
                    "OrganizationalUnitIds": [o.strip() for o in env.get("OrgUnitIds").split(",")]
                },
                "Regions": regions,
                "OperationPreferences": {
                    "FailureTolerancePercentage": 10,
                    "MaxConcurrentPercentage": 25,
                    "RegionConcurrencyType": "PARALLEL",
                },
            },
        ),
    ]


def plan_destroy(env: Env) -> list[Step]:
    """Delete the region spokes listed in REGION, then the scanner stack (buckets are kept)."""
    steps: list[Step] = []
    name = env.get("REGION_STACK_NAME", f"{env.stack}-region")
    for stack, region in [(name, r) for r in env.regions("REGION")] + [(env.stack, env.region)]:
        where = ("--stack-name", stack)
        steps += [
            Call(f"delete {stack} in {region}", "cloudformation", "delete-stack", region, where),
            Call(
                f"wait for {stack} to go",
                "cloudformation",
                "wait",
                region,
                ("stack-delete-complete", *where),
            ),
        ]
    return steps


def main(argv: list[str], environ: Mapping[str, str], cli_factory: Callable[[str], AwsCli]) -> int:
    """Entry point: `deploy.py TARGET`; returns the exit code."""
    if len(argv) != 1 or argv[0] not in TARGETS:
        print(f"usage: deploy.py {{{'|'.join(TARGETS)}}}", file=sys.stderr)
        return 2
    target, env = argv[0], Env(environ)
    dry_run = env.get("DRY_RUN") not in ("", "0", "false", "no")
    cli = cli_factory(env.get("AWS_CLI", "aws"))
    try:
        check(target, env)
        if not dry_run:
            cli.check_installed()
        facts = look_up(target, env, cli, dry_run)
        steps = plan(target, env, facts)
        print(f"make {target}: {len(steps)} step(s) in account {facts.account}", file=sys.stderr)
        execute(steps, cli, dry_run)
    except DeployError as exc:
        print(f"make {target}: {exc}", file=sys.stderr)
        return 2
    if target == "destroy":
        print(
            "kept: the report bucket and any trail bucket (Retain); empty and delete them by hand"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], os.environ, lambda exe: AwsCli(executable=exe)))
