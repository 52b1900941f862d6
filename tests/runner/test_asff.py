"""The ASFF writer: every finding conforms to botocore's AwsSecurityFinding; ids are stable."""

from __future__ import annotations

import json
from dataclasses import replace
from functools import cache
from typing import Any

import pytest

from scanner_runner.report import Finding, ImageInfo, TriggerInfo
from scanner_runner.writers import asff
from tests.runner.conftest import error_policy, fixed_report
from tests.runner.shapes import load_shapes, validate

ACCOUNT, REGION = "210987654321", "eu-west-1"


@cache
def shapes() -> dict[str, Any]:
    return load_shapes("securityhub")


def assert_valid(items: list[dict[str, Any]]) -> None:
    assert items, "no findings to validate"
    for item in items:
        assert validate(shapes(), "AwsSecurityFinding", item) == [], item["Id"]


def test_every_finding_conforms_to_the_model() -> None:
    items = asff.findings(fixed_report(), ACCOUNT, REGION)
    assert_valid(items)
    assert {i["AwsAccountId"] for i in items} == {ACCOUNT}
    assert {i["ProductArn"] for i in items} == {
        f"arn:aws:securityhub:{REGION}:{ACCOUNT}:product/{ACCOUNT}/default"
    }


def test_the_validator_catches_what_security_hub_rejects() -> None:
    good = asff.findings(fixed_report(), ACCOUNT, REGION)[0]
    bad = {k: v for k, v in good.items() if k != "Resources"}
    bad["Title"] = "x" * 257
    bad["Severity"] = {"Label": "SEVERE"}
    bad["Types"] = "not a list"
    bad["ProductFields"] = {f"k{i}": "v" for i in range(51)}
    problems = validate(shapes(), "AwsSecurityFinding", bad)
    text = "\n".join(problems)
    for expected in ("missing required Resources", "Title: 257", "SEVERE", "expected a list",
                     "51 pairs"):  # fmt: skip
        assert expected in text
    assert validate(shapes(), "AwsSecurityFinding", {**good, "Title": "  "})
    too_many = {**good, "Resources": good["Resources"][:1] * 33}
    assert validate(shapes(), "AwsSecurityFinding", too_many) == [
        "$.Resources: 33 items, documented maximum 32"
    ]


def test_one_finding_per_vulnerability_with_packages_fixes_and_cves() -> None:
    report = fixed_report()
    items = {i["Id"]: i for i in asff.findings(report, ACCOUNT, REGION)}
    digest = report.image.digest
    # 38005 is on the ignore list: not exported.
    assert len(items) == len([f for f in report.findings if not f.ignored])
    openssl = items[f"deployscan/{digest}/vulnerability/38001/openssl"]
    assert openssl["Severity"]["Label"] == "CRITICAL"
    assert openssl["Types"] == ["Software and Configuration Checks/Vulnerabilities/CVE"]
    (vuln,) = openssl["Vulnerabilities"]
    assert vuln["Id"] == "CVE-2024-0001"
    assert vuln["FixAvailable"] == "YES"
    assert vuln["VulnerablePackages"][0] == {
        "Name": "openssl",
        "Version": "3.0.11-1~deb12u2",
        "FixedInVersion": "3.0.13-1~deb12u1",
        "Remediation": "Upgrade to 3.0.13-1~deb12u1",
        "SourceLayerHash": "sha256:" + "ab" * 32,
    }
    assert vuln["ReferenceUrls"] == ["https://nvd.nist.gov/vuln/detail/CVE-2024-0001"]
    zlib = items[f"deployscan/{digest}/vulnerability/38002/zlib1g"]
    assert [v["Id"] for v in zlib["Vulnerabilities"]] == [f"CVE-2024-{1000 + i}" for i in range(7)]
    assert {v["FixAvailable"] for v in zlib["Vulnerabilities"]} == {"NO"}
    no_cve = items[f"deployscan/{digest}/vulnerability/38003/base-files"]
    assert no_cve["Vulnerabilities"][0]["Id"] == "38003"
    assert items[f"deployscan/{digest}/vulnerability/38004/openssl"]["Severity"]["Label"] == "LOW"


def test_the_description_is_sentences() -> None:
    items = {i["Id"]: i for i in asff.findings(fixed_report(), ACCOUNT, REGION)}
    digest = fixed_report().image.digest
    openssl = items[f"deployscan/{digest}/vulnerability/38001/openssl"]["Description"]
    assert openssl.startswith("Remote code execution in openssl. Package openssl 3.0.11-1~deb12u2;")
    asked = Finding("7", "low", "Is it fixed? ", (), "", "", kind="secret")
    (item,) = asff.findings(fixed_report(findings=(asked,)), ACCOUNT, REGION)
    assert item["Description"].startswith("Is it fixed? Image ")  # no full stop after a "?"
    secret = next(i for i in items.values() if i["GeneratorId"] == "deployscan/secret")
    assert "Package /app/config.env:3; no fix available." in secret["Description"]


def test_secret_and_denied_package_are_their_own_types() -> None:
    denied = Finding("deny:xz-utils", "critical", "backdoored release", (), "xz-utils", "5.6.0",
                     kind="denied-package")  # fmt: skip
    report = fixed_report()
    report = report.with_(findings=(*report.findings, denied))
    by_kind = {i["GeneratorId"]: i for i in asff.findings(report, ACCOUNT, REGION)}
    assert by_kind["deployscan/secret"]["Types"] == [
        "Sensitive Data Identifications/Security/Secret"
    ]
    assert "Vulnerabilities" not in by_kind["deployscan/secret"]
    assert by_kind["deployscan/denied-package"]["Types"] == [
        "Software and Configuration Checks/Deny List/Denied Package"
    ]
    assert_valid(list(by_kind.values()))


def test_resources_ecr_image_and_the_task_it_runs_as() -> None:
    (item, *_) = asff.findings(fixed_report(), ACCOUNT, REGION)
    image, task = item["Resources"]
    digest = "sha256:" + "0123456789abcdef" * 4
    assert image == {
        "Type": "AwsEcrContainerImage",
        "Id": f"arn:aws:ecr:eu-west-1:123456789012:repository/shop/api/{digest}",
        "Partition": "aws",
        "Region": "eu-west-1",
        "Details": {
            "AwsEcrContainerImage": {
                "RegistryId": "123456789012",
                "RepositoryName": "shop/api",
                "ImageDigest": digest,
                "ImageTags": ["1.4.2"],
                "Architecture": "x86_64",
            }
        },
    }
    assert task["Type"] == "AwsEcsTask"
    assert task["Id"] == "arn:aws:ecs:eu-west-1:123456789012:task/prod/0a1b2c3d"


@pytest.mark.parametrize(
    ("arn", "kind"),
    [
        ("arn:aws:ecs:eu-west-1:123456789012:service/prod/api", "AwsEcsService"),
        ("arn:aws:lambda:eu-west-1:123456789012:function:thumbs", "AwsLambdaFunction"),
        ("arn:aws:ecs:eu-west-1:123456789012:task-definition/api:7", "AwsEcsTaskDefinition"),
        ("", None),
        ("not-an-arn", None),
    ],
)
def test_other_registries_are_containers_and_workloads_by_arn(arn: str, kind: str | None) -> None:
    report = fixed_report(
        image=ImageInfo(
            ref="ghcr.io/acme/tool:2",
            registry="ghcr.io",
            repository="acme/tool",
            tag="2",
            digest="sha256:" + "9" * 64,
        ),
        trigger=TriggerInfo(source="manual", resource_arn=arn),
    )
    items = asff.findings(report, ACCOUNT, REGION)
    assert_valid(items)
    resources = items[0]["Resources"]
    assert resources[0]["Type"] == "Container"
    assert resources[0]["Details"]["Container"]["ImageId"] == "sha256:" + "9" * 64
    assert [r["Type"] for r in resources[1:]] == ([kind] if kind else [])
    if kind == "AwsLambdaFunction":
        assert resources[1]["Details"]["AwsLambdaFunction"]["FunctionName"] == "thumbs"


def test_ids_are_stable_across_rescans_and_bounded() -> None:
    first = asff.findings(fixed_report(), ACCOUNT, REGION)
    later = fixed_report(finished_at="2026-03-09T10:00:00Z", build_id="other-build")
    assert [i["Id"] for i in asff.findings(later, ACCOUNT, REGION)] == [i["Id"] for i in first]
    long = Finding("q" * 300, "high", "t", (), "p" * 400, "1")
    (item,) = asff.findings(fixed_report(findings=(long,)), ACCOUNT, REGION)
    assert len(item["Id"]) <= 512
    assert item["Id"].startswith(asff.id_prefix(fixed_report().image.digest, "vulnerability"))


def test_hostile_and_huge_text_stays_within_limits() -> None:
    huge = Finding("1", "medium", "\x00 " + "t" * 5000, tuple(f"CVE-2020-{i}" for i in range(80)),
                   " ", " ", "", kind="weird")  # fmt: skip
    (item,) = asff.findings(fixed_report(findings=(huge,)), ACCOUNT, REGION)
    assert_valid([item])
    assert len(item["Vulnerabilities"]) == 50
    assert item["GeneratorId"] == "deployscan/vulnerability"


def test_error_reports_export_nothing_and_render_is_a_json_array() -> None:
    error = fixed_report(status="error", findings=(), policy=error_policy())
    assert asff.findings(error, ACCOUNT, REGION) == []
    assert json.loads(asff.render(error)) == []
    assert asff.covered_kinds(error) == ()
    rendered = json.loads(asff.render(fixed_report()))
    assert rendered == asff.findings(fixed_report(), "123456789012", "eu-west-1")
    anonymous = fixed_report(trigger=replace(fixed_report().trigger, account="", region=""))
    assert json.loads(asff.render(anonymous))[0]["AwsAccountId"] == asff.UNKNOWN_ACCOUNT


def test_inventory_only_covers_the_deny_list_only() -> None:
    report = fixed_report(findings=(), vulnerability_data=False)
    assert asff.covered_kinds(report) == ("denied-package",)
    assert asff.covered_kinds(fixed_report()) == ("vulnerability", "denied-package", "secret")


def test_where_the_digest_runs_is_a_product_field_when_the_index_knows_it() -> None:
    where = "runs in 3 services (7 tasks) in 2 accounts, 1 region"
    items = asff.findings(replace(fixed_report(), where=where), ACCOUNT, REGION)
    assert_valid(items)
    assert {i["ProductFields"]["deployscan/WhereItRuns"] for i in items} == {where}
    plain = asff.findings(fixed_report(), ACCOUNT, REGION)
    assert all("deployscan/WhereItRuns" not in i["ProductFields"] for i in plain)


def test_the_same_id_twice_is_one_finding_the_more_severe_one() -> None:
    low = Finding("38001", "low", "older note", ("CVE-2024-0001",), "openssl", "3.0.11-1~deb12u2")
    report = fixed_report()
    items = asff.findings(report.with_(findings=(low, *report.findings)), ACCOUNT, REGION)
    ids = [i["Id"] for i in items]
    assert len(ids) == len(set(ids)) == len(asff.findings(report, ACCOUNT, REGION))
    (openssl,) = [i for i in items if i["Id"].endswith("/38001/openssl")]
    assert openssl["Severity"]["Label"] == "CRITICAL"


SERVICES = tuple(f"arn:aws:ecs:eu-west-1:210987654321:service/prod/api-{i:02d}" for i in range(40))


def test_workloads_the_index_knows_are_resources_once_and_at_most_32() -> None:
    service = "arn:aws:ecs:eu-west-1:123456789012:service/prod/api"
    function = "arn:aws:lambda:eu-west-1:123456789012:function:thumbs"
    trigger = replace(fixed_report().trigger, resource_arn=service)
    small = fixed_report(trigger=trigger, workloads=(function, service))
    items = asff.findings(small, ACCOUNT, REGION)
    assert_valid(items)
    resources = items[0]["Resources"]
    assert [(r["Type"], r["Id"]) for r in resources] == [
        ("AwsEcrContainerImage", resources[0]["Id"]),
        ("AwsEcsService", service),  # the trigger's, listed once
        ("AwsLambdaFunction", function),
    ]
    assert resources[2]["Details"] == {"AwsLambdaFunction": {"FunctionName": "thumbs"}}
    assert all("deployscan/WorkloadsNotListed" not in i["ProductFields"] for i in items)

    many = asff.findings(fixed_report(workloads=(function, *SERVICES)), ACCOUNT, REGION)
    assert_valid(many)
    ids = [r["Id"] for r in many[0]["Resources"]]
    # image + trigger task + 30 of the index's 41 workloads, in the index's order
    assert len(ids) == len(set(ids)) == 32
    assert ids[2:] == [function, *SERVICES[:29]]
    assert {i["ProductFields"]["deployscan/WorkloadsNotListed"] for i in many} == {"11"}


def test_zip_code_lists_the_functions_the_index_knows_besides_its_own() -> None:
    from tests.runner.test_asff_zip import zip_report

    report = zip_report()
    assert report.lambda_code is not None
    own, other = report.lambda_code.arn, "arn:aws:lambda:eu-west-1:111122223333:function:copy"
    items = asff.findings(report.with_(workloads=(own, other)), ACCOUNT, REGION)
    assert_valid(items)
    assert [r["Id"] for r in items[0]["Resources"]] == [own, other]


def test_every_finding_has_provider_fields_for_severity_and_types() -> None:
    denied = Finding("deny:xz", "critical", "bad", (), "xz-utils", "5.6.0", kind="denied-package")
    report = fixed_report()
    items = asff.findings(report.with_(findings=(*report.findings, denied)), ACCOUNT, REGION)
    assert_valid(items)
    for item in items:
        assert item["FindingProviderFields"] == {
            "Types": item["Types"],
            "Severity": item["Severity"],
        }
        severity = item["FindingProviderFields"]["Severity"]
        assert severity["Label"] == asff.LABELS[severity["Original"]]
    assert {i["FindingProviderFields"]["Types"][0] for i in items} == set(asff.TYPES.values())


@pytest.mark.parametrize(
    ("region", "console"),
    [
        ("eu-west-1", "https://s3.console.aws.amazon.com"),
        ("cn-north-1", "https://console.amazonaws.cn"),
    ],
)
def test_the_source_url_is_the_console_page_of_the_html_report(region: str, console: str) -> None:
    report = fixed_report()
    (url,) = {i["SourceUrl"] for i in asff.findings(report, ACCOUNT, region)}
    key = "deployscan/123456789012/eu-west-1/shop/api/report.html"
    assert url == f"{console}/s3/object/scan-results?region={region}&prefix={key}"
    rendered = json.loads(asff.render(report))  # the trigger's region
    assert rendered[0]["SourceUrl"].startswith(
        "https://s3.console.aws.amazon.com/s3/object/scan-results?region=eu-west-1&"
    )
    unsaved = asff.findings(report.with_(report_uri=""), ACCOUNT, region)
    assert all("SourceUrl" not in i for i in unsaved)
