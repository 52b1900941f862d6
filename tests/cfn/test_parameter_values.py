"""Parameter values the code must agree with: every value a build can get, and the lease default.

A value the template allows but the runner rejects fails every build of such a stack before it
pulls (once: `FailOn=never` against the runner's `none`). So every `AllowedValues` entry (and the
Default and bounds of other parameters) that reaches a scan build through its environment is fed
to the runner as `deployscan scan` reads it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from dispatcher import buildvars as bv
from dispatcher.errors import BuildVariableError
from dispatcher.settings import DEFAULT_LEASE_MINUTES
from dispatcher.settings import Settings as DispatcherSettings
from scanner_runner.policy import FAIL_ON_CHOICES, Policy
from scanner_runner.scanners import SCANNERS
from scanner_runner.scanners.qscanner import validate_pod
from scanner_runner.settings import Settings as RunnerSettings
from tests.cfn.conftest import ROOT, TEMPLATE_NAMES, load_template, resources_of
from tests.cfn.intrinsics import Stack, referenced_parameters

# Values for parameters that have no Default (each must match its AllowedPattern).
REQUIRED_SAMPLES = {
    "QScannerUrl": "https://example.com/qscanner/4.8.0/qscanner.gz",
    "QScannerSha256": "0" * 64,
}


def _build_environments(template: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Scan project id -> its PLAINTEXT variables (a SECRETS_MANAGER one holds no value)."""
    return {
        rid: [
            v
            for v in project["Properties"]["Environment"]["EnvironmentVariables"]
            if v.get("Type", "PLAINTEXT") == "PLAINTEXT"
        ]
        for rid, project in resources_of(template, "AWS::CodeBuild::Project").items()
    }


def _candidates(spec: Mapping[str, Any]) -> list[str]:
    """Every allowed value, else the Default and the bounds the template allows."""
    if "AllowedValues" in spec:
        return [str(v) for v in spec["AllowedValues"]]
    return [str(spec[k]) for k in ("Default", "MinValue", "MaxValue") if k in spec]


def _cases() -> Iterator[Any]:
    for name in TEMPLATE_NAMES:
        template = load_template(name)
        for project, variables in _build_environments(template).items():
            reaching: set[str] = set()
            for variable in variables:
                reaching |= referenced_parameters(template, variable["Value"])
            for param in sorted(reaching):
                for value in _candidates(template["Parameters"][param]):
                    yield pytest.param(name, project, param, value, id=f"{name}-{param}={value}")


def _defaults_for_required(template: Mapping[str, Any]) -> dict[str, str]:
    values = {}
    for param, spec in template["Parameters"].items():
        if "Default" in spec:
            continue
        if "AllowedValues" in spec:
            values[param] = str(spec["AllowedValues"][0])
        elif param in REQUIRED_SAMPLES:
            values[param] = REQUIRED_SAMPLES[param]
    return values


def runner_accepts(env: Mapping[str, str]) -> None:
    """What `deployscan scan` does with its environment: settings, policy, scanner and pod."""
    settings = RunnerSettings.from_env(env)
    bv.validate_all(env)  # the build variables a project sets itself (COMPUTE_TIER)
    Policy(fail_on=settings.fail_on, tags=settings.policy_tags)
    assert settings.scanner in SCANNERS, settings.scanner
    if settings.qualys_pod:
        validate_pod(settings.qualys_pod)


@pytest.mark.parametrize(("name", "project", "param", "value"), list(_cases()))
def test_every_value_a_build_can_get_is_accepted_by_the_runner(
    templates: dict[str, dict[str, Any]], name: str, project: str, param: str, value: str
) -> None:
    template = templates[name]
    stack = Stack(template, {**_defaults_for_required(template), param: value})
    env = {v["Name"]: stack.render(v["Value"]) for v in _build_environments(template)[project]}
    runner_accepts(env)


def test_the_cases_cover_the_build_parameters() -> None:
    ids = {p.id for p in _cases()}
    # FailOn is what once broke: each of its values must be among the cases.
    assert {f"scanner-FailOn={v}" for v in FAIL_ON_CHOICES} <= ids
    assert "scanner-QualysPod=KSA1" in ids and "scanner-PolicyIgnoreKey=" in ids


def test_the_template_offers_exactly_the_runners_fail_on_choices(scanner: dict[str, Any]) -> None:
    fail_on = scanner["Parameters"]["FailOn"]
    assert sorted(fail_on["AllowedValues"]) == sorted(FAIL_ON_CHOICES)
    assert fail_on["Default"] == RunnerSettings().fail_on


def test_required_samples_match_their_patterns(scanner: dict[str, Any]) -> None:
    for param, value in REQUIRED_SAMPLES.items():
        assert re.match(scanner["Parameters"][param]["AllowedPattern"], value), param


def test_the_lease_outlasts_the_longest_build_and_its_queue(scanner: dict[str, Any]) -> None:
    params, res = scanner["Parameters"], scanner["Resources"]
    project = res["ScanProject"]["Properties"]
    assert project["TimeoutInMinutes"] == {"Ref": "BuildTimeoutMinutes"}
    assert res["Dispatcher"]["Properties"]["Environment"]["Variables"]["LEASE_MINUTES"] == {
        "Ref": "LeaseMinutes"
    }
    queued = project["QueuedTimeoutInMinutes"]
    assert isinstance(queued, int)  # a literal; were it a parameter, its MaxValue would count
    build, lease = params["BuildTimeoutMinutes"], params["LeaseMinutes"]
    assert int(lease["Default"]) > int(build["Default"]) + queued
    assert int(lease["Default"]) > int(build["MaxValue"]) + queued
    assert int(lease["MinValue"]) <= int(lease["Default"]) <= int(lease["MaxValue"])


def test_the_lease_default_is_the_same_everywhere(scanner: dict[str, Any]) -> None:
    default = int(scanner["Parameters"]["LeaseMinutes"]["Default"])
    assert default == DEFAULT_LEASE_MINUTES
    assert DispatcherSettings.from_env({}, require_execution=False).lease_minutes == default
    assert f"| `LeaseMinutes` | {default} |" in (ROOT / "docs" / "deploy.md").read_text()
    assert f"| `LEASE_MINUTES` | {default} |" in (ROOT / "docs" / "dispatcher.md").read_text()


def test_the_evaluator_follows_conditions_and_substitutions(scanner: dict[str, Any]) -> None:
    variables = _build_environments(scanner)["ScanProject"]
    value = {v["Name"]: v["Value"] for v in variables}
    required = _defaults_for_required(scanner)
    defaults = Stack(scanner, required)
    assert defaults.render(value["POLICY_IGNORE"]) == ""
    assert defaults.render(value["QUALYS_SECRET_ARN"]).endswith(":secret:deployscan/qualys-AbC123")
    given = Stack(
        scanner,
        {**required, "PolicyIgnoreKey": "config/ignore.json", "ExistingQualysSecretArn": "arn:x"},
    )
    assert given.render(value["POLICY_IGNORE"]) == (
        "s3://deployscan-reportbucket-1a2b3c4d5e6f/config/ignore.json"
    )
    assert given.render(value["QUALYS_SECRET_ARN"]) == "arn:x"
    assert referenced_parameters(scanner, value["QUALYS_SECRET_ARN"]) == {"ExistingQualysSecretArn"}
    with pytest.raises(NotImplementedError):
        defaults.render({"Fn::Select": [0, ["a"]]})


# Template parameters whose values take a contract grammar (dispatcher/buildvars.py): the account
# and region a build names, the role name a PULL_ROLE_ARN is built from.
CONTRACT_PARAMETERS = {
    ("account-spoke", "SecurityAccountId"): bv.ACCOUNT_RE,
    ("account-spoke", "PrimaryRegion"): bv.REGION_RE,
    ("account-spoke", "CrossAccountRoleName"): bv.ROLE_NAME_RE,
    ("scanner", "CrossAccountRoleName"): bv.ROLE_NAME_RE,
}


@pytest.mark.parametrize(("where", "pattern"), sorted(CONTRACT_PARAMETERS.items()))
def test_template_patterns_are_the_contracts(
    where: tuple[str, str], pattern: re.Pattern[str]
) -> None:
    template, parameter = where
    declared = load_template(template)["Parameters"][parameter]
    assert declared["AllowedPattern"] == pattern.pattern
    if declared.get("Default"):
        assert pattern.match(declared["Default"])


def test_the_deploy_scripts_use_the_contracts_grammars() -> None:
    import deployvars

    assert deployvars.REGION_RE is bv.REGION_RE
    assert deployvars.ACCOUNT_RE is bv.ACCOUNT_RE


@pytest.mark.parametrize(
    ("variable", "good", "bad"),
    [
        (bv.SOURCE_REGION, ["us-east-1", "us-gov-west-1", "cn-north-1", "eusc-de-east-1"],
         ["us-east", "US-EAST-1", "us-east-1;id"]),
        (bv.SOURCE_ACCOUNT, ["123456789012"], ["12345678901", "12345678901x"]),
        (bv.TRIGGER, ["manual", "ecs:TaskStateChange", "lambda:CreateFunction", "sweep"],
         ["$(id)", "a b", "ecs:Task State"]),
        (bv.REGISTRY_CREDENTIALS_ARN,
         ["arn:aws:secretsmanager:us-east-1:123456789012:secret:hub/login-AbC123"],
         ["arn:aws:ssm:us-east-1:123456789012:parameter/login"]),
        (bv.IMAGE_REF, ["nginx:1.27", "docker.io/library/nginx"], ["-h", "--help", "a b"]),
    ],
)  # fmt: skip
def test_one_grammar_for_dispatcher_and_runner(
    variable: bv.BuildVar, good: list[str], bad: list[str]
) -> None:
    """The dispatcher (BuildRequest) and the runner (`deployscan scan`) validate with this table."""
    for value in good:
        assert variable.validate(value) == value
    for value in bad:
        with pytest.raises(BuildVariableError):
            variable.validate(value)
