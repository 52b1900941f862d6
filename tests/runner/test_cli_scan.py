"""`deployscan scan` / `deployscan report` at the edge: env defaults, usage errors, secrets."""

from __future__ import annotations

import base64
import json
import logging
from pathlib import Path

import boto3
import pytest
from click.testing import CliRunner, Result

from scanner_runner.cli import main
from scanner_runner.devtools import imagebuild
from scanner_runner.devtools.localregistry import LocalRegistry
from scanner_runner.report import load
from scanner_runner.writers import FORMATS
from tests.runner.archives import Archive, rootfs
from tests.runner.conftest import SENTINEL_TOKEN, DoubleRun, cli_env, fixed_report


@pytest.fixture
def env(double: DoubleRun) -> dict[str, str | None]:
    return cli_env(double, "findings")


def invoke(args: list[str], env: dict[str, str]) -> Result:
    return CliRunner().invoke(main, ["scan", *args], env=env, catch_exceptions=False)


def test_build_variables_become_the_report_trigger(
    tmp_path: Path, env: dict[str, str], oci_archive: Archive
) -> None:
    env |= {
        "SOURCE_ACCOUNT": "210987654321",
        "SOURCE_REGION": "ap-southeast-2",
        "TRIGGER": "lambda:UpdateFunctionCode20150331v2",
        "RESOURCE_ARN": "arn:aws:lambda:ap-southeast-2:210987654321:function:api",
        "CODEBUILD_BUILD_ID": "deployscan-scan:0f0f",
        "IMAGE_PLATFORM": "linux/amd64",
        "IMAGE_REF": "210987654321.dkr.ecr.ap-southeast-2.amazonaws.com/api:7",
        "QSCANNER_DOUBLE_SCENARIO": "clean",
        "FAIL_ON": "medium",
        "COMPUTE_TIER": "ec2",
    }
    result = invoke(["--archive", str(oci_archive.path), "--output-dir", str(tmp_path)], env)
    assert result.exit_code == 0, result.output
    report = load(tmp_path / "report.json")
    assert report.trigger.compute_tier == "ec2"
    assert report.trigger.account == "210987654321"
    assert report.trigger.source == "lambda:UpdateFunctionCode20150331v2"
    assert report.image.repository == "api" and report.image.platform == "linux/amd64"
    assert report.build_id == "deployscan-scan:0f0f"
    assert report.policy.thresholds["fail_on"] == "medium"


def test_options_override_settings_and_set_policy(
    tmp_path: Path, env: dict[str, str], oci_archive: Archive
) -> None:
    ignore = tmp_path / "ignore.json"
    ignore.write_text('[{"id": "38001", "expires": "2999-01-01", "reason": "backported"}]')
    args = [
        "--archive",
        str(oci_archive.path),
        "--output-dir",
        str(tmp_path / "o"),
        "--max-high",
        "2",
        "--ignore-list",
        str(ignore),
    ]
    result = invoke(args, env)
    assert result.exit_code == 0, result.output
    report = load(tmp_path / "o" / "report.json")
    assert report.policy.ignored == 1 and report.policy.thresholds["max_high"] == 2


def test_ignore_list_from_s3(
    tmp_path: Path, env: dict[str, str], oci_archive: Archive, aws: None
) -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="policy-bucket")
    s3.put_object(
        Bucket="policy-bucket",
        Key="ignore.json",
        Body=b'{"ignore": [{"id": "QID-38001", "expires": "2999-01-01", "reason": "ok"}]}',
    )
    env["POLICY_IGNORE"] = "s3://policy-bucket/ignore.json"
    result = invoke(["--archive", str(oci_archive.path), "--output-dir", str(tmp_path)], env)
    assert result.exit_code == 1
    assert load(tmp_path / "report.json").policy.ignored == 1


def test_qualys_secret_supplies_pod_and_token(
    tmp_path: Path, env: dict[str, str], double: DoubleRun, oci_archive: Archive, aws: None
) -> None:
    arn = boto3.client("secretsmanager", region_name="us-east-1").create_secret(
        Name="qualys",
        SecretString=json.dumps({"qualys_pod": "EU2", "qualys_access_token": "tok-from-secret"}),
    )["ARN"]
    env |= {"QUALYS_SECRET_ARN": arn, "QUALYS_POD": "", "QUALYS_ACCESS_TOKEN": ""}
    result = invoke(["--archive", str(oci_archive.path), "--output-dir", str(tmp_path)], env)
    assert result.exit_code == 1, result.output
    (call,) = double.calls()
    assert call["argv"][1:3] == ["--pod", "EU2"]
    assert "QUALYS_ACCESS_TOKEN" in call["env"]
    assert "tok-from-secret" not in json.dumps(call["argv"])


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({}, "give an IMAGE"),
        ({"IMAGE_REF": "UPPER/Case:x y"}, "image reference"),
        ({"IMAGE_REF": "a/b:1", "SOURCE_ACCOUNT": "12"}, "SOURCE_ACCOUNT is not 12 digits"),
        ({"IMAGE_REF": "a/b:1", "IMAGE_DIGEST": "sha256:zz"}, "digest"),
        ({"IMAGE_REF": "a/b:1", "PULL_ROLE_ARN": "arn:aws:iam::1:user/x"}, "PULL_ROLE_ARN"),
        ({"IMAGE_REF": "a/b:1", "INSECURE_REGISTRIES": "ok.local,bad host"}, "INSECURE_REGISTRIES"),
        ({"IMAGE_REF": "a/b:1", "SCAN_TIMEOUT": "-5"}, "SCAN_TIMEOUT"),
        ({"IMAGE_REF": "a/b:1", "FAIL_ON": "severe"}, "--fail-on must be one of"),
        ({"IMAGE_REF": "a/b:1", "COMPUTE_TIER": "fargate"}, "COMPUTE_TIER is not lambda or ec2"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, env: dict[str, str], extra: dict[str, str], message: str
) -> None:
    result = invoke(["--output-dir", str(tmp_path)], env | extra)
    assert result.exit_code == 2
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "report.json").exists()


@pytest.mark.parametrize("reference", ["-h", "--help", "--archive=/etc/passwd"])
def test_a_reference_after_double_dash_that_reads_as_an_option_is_refused(
    tmp_path: Path, env: dict[str, str], reference: str
) -> None:
    """What the buildspec runs: `deployscan scan --output-dir … -- "$IMAGE_REF"`."""
    result = invoke(["--output-dir", str(tmp_path), "--", reference], env)
    assert result.exit_code == 2
    assert result.output.strip() == (
        "deployscan scan: error: IMAGE_REF is an option, not an image reference "
        "(it starts with '-')"
    )
    assert not (tmp_path / "report.json").exists()


def test_an_archive_that_is_not_the_digest_asked_for_is_refused(
    tmp_path: Path, env: dict[str, str], oci_archive: Archive
) -> None:
    """`scan --archive ok.tar --digest <other>` (or a stale IMAGE_DIGEST) records nothing as
    passed: it is an error report, exit 3, and one line saying why."""
    other = "sha256:" + "e" * 64
    for args, extra in (
        (["--digest", other], {}),
        ([], {"IMAGE_DIGEST": other}),
    ):
        result = invoke(
            ["--archive", str(oci_archive.path), "--output-dir", str(tmp_path), *args], env | extra
        )
        assert result.exit_code == 3
        first = result.output.splitlines()[0]
        assert first == (
            f"error: IMAGE_DIGEST {other} is not this archive's "
            f"(its manifest is {oci_archive.manifest_digest})"
        )
        assert load(tmp_path / "report.json").status == "error"


def test_max_unpacked_bytes_bounds_what_a_scan_may_unpack(
    tmp_path: Path, env: dict[str, str], oci_archive: Archive
) -> None:
    args = ["--archive", str(oci_archive.path), "--output-dir", str(tmp_path)]
    result = invoke(args, env | {"MAX_UNPACKED_BYTES": "1000"})
    assert result.exit_code == 3
    assert "unpack to more than 1000 bytes (MAX_UNPACKED_BYTES)" in result.output
    result = invoke(args, env | {"MAX_UNPACKED_BYTES": "10GiB"})
    assert result.exit_code == 2
    assert result.output.strip() == (
        "deployscan scan: error: MAX_UNPACKED_BYTES must be a positive whole number, got '10GiB'"
    )


@pytest.mark.parametrize("case", [("lambda", 600), ("ec2", 7200), ("", 7200)])
def test_a_lambda_build_stops_its_scan_before_lambda_stops_the_build(
    tmp_path: Path,
    env: dict[str, str],
    double: DoubleRun,
    oci_archive: Archive,
    case: tuple[str, int],
) -> None:
    tier, seconds = case
    env |= {"COMPUTE_TIER": tier, "SCAN_TIMEOUT": "7200", "QSCANNER_DOUBLE_SCENARIO": "clean"}
    result = invoke(["--archive", str(oci_archive.path), "--output-dir", str(tmp_path)], env)
    assert result.exit_code == 0, result.output
    (call,) = double.calls()
    given = call["argv"][call["argv"].index("--scan-timeout") + 1]  # what is left of the limit
    assert seconds - 30 < int(given.removesuffix("s")) <= seconds
    assert load(tmp_path / "report.json").trigger.compute_tier == tier


def test_report_command_renders_every_format(tmp_path: Path) -> None:
    from scanner_runner.report import save

    save(fixed_report(), tmp_path / "report.json")
    for fmt, output in FORMATS.items():
        result = CliRunner().invoke(main, ["report", str(tmp_path), "--format", fmt])
        assert result.exit_code == 0
        assert result.output == output.render(fixed_report())
    target = tmp_path / "copy.xml"
    result = CliRunner().invoke(
        main, ["report", str(tmp_path), "--format", "junit", "-o", str(target)]
    )
    assert result.exit_code == 0 and target.read_text().startswith("<?xml")


@pytest.mark.parametrize("content", [None, "{not json", '{"schema_version": 99}', "[]"])
def test_report_command_on_a_missing_or_bad_report(tmp_path: Path, content: str | None) -> None:
    if content is not None:
        (tmp_path / "report.json").write_text(content)
    result = CliRunner().invoke(main, ["report", str(tmp_path), "--format", "html"])
    assert result.exit_code == 2
    assert result.output.startswith("deployscan report: error: ")
    assert len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize("scenario", ["findings", "crash", "os-unsupported", "dump-env"])
def test_the_token_never_appears_in_argv_logs_reports_or_errors(
    tmp_path: Path,
    env: dict[str, str],
    double: DoubleRun,
    oci_archive: Archive,
    caplog: pytest.LogCaptureFixture,
    *,
    scenario: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    env |= {"QSCANNER_DOUBLE_SCENARIO": scenario, "SCAN_TIMEOUT": "1"}
    args = [
        "--archive",
        str(oci_archive.path),
        "--output-dir",
        str(tmp_path / "out"),
        "--work-dir",
        str(tmp_path / "work"),
    ]
    result = CliRunner().invoke(main, ["scan", *args], env=env)
    assert result.exit_code in (1, 3)
    assert SENTINEL_TOKEN not in result.output
    assert SENTINEL_TOKEN not in caplog.text
    for call in double.calls():
        assert not any(SENTINEL_TOKEN in arg for arg in call["argv"])
        assert "QUALYS_ACCESS_TOKEN" in call["env"]
    for path in [*(tmp_path / "out").rglob("*"), *(tmp_path / "work").rglob("*")]:
        if path.is_file():
            assert SENTINEL_TOKEN.encode() not in path.read_bytes(), path


def test_scan_image_from_a_private_registry_uses_the_docker_login(
    tmp_path: Path, env: dict[str, str], auth_registry: LocalRegistry
) -> None:
    img = imagebuild.image([imagebuild.layer(rootfs("private"))])
    imagebuild.Pusher(auth_registry.url, auth=auth_registry.auth).push_image("priv/app", img, "1")
    login = base64.b64encode(f"{auth_registry.username}:{auth_registry.password}".encode())
    config = {"auths": {auth_registry.host: {"auth": login.decode()}}}
    (tmp_path / "docker").mkdir()
    (tmp_path / "docker" / "config.json").write_text(json.dumps(config))
    env |= {"QSCANNER_DOUBLE_SCENARIO": "clean", "INSECURE_REGISTRIES": auth_registry.host}
    args = [f"{auth_registry.host}/priv/app:1", "--output-dir", str(tmp_path / "out")]
    without = invoke(args, env | {"DOCKER_CONFIG": str(tmp_path / "nowhere")})
    assert without.exit_code == 3 and "requires credentials" in without.output
    result = invoke(args, env | {"DOCKER_CONFIG": str(tmp_path / "docker")})
    assert result.exit_code == 0, result.output
    assert load(tmp_path / "out" / "report.json").image.digest == img.digest
    assert auth_registry.password is not None
    assert auth_registry.password not in without.output + result.output


def test_qualys_secret_registry_login_is_used_even_when_the_token_is_in_the_env(
    tmp_path: Path, env: dict[str, str], auth_registry: LocalRegistry, aws: None
) -> None:
    """In CodeBuild the token arrives as a project variable; the secret's registry keys still
    serve a registry outside AWS."""
    img = imagebuild.image([imagebuild.layer(rootfs("qualys-login"))])
    imagebuild.Pusher(auth_registry.url, auth=auth_registry.auth).push_image("priv/q", img, "1")
    secret = {
        "qualys_pod": "US1",
        "qualys_access_token": SENTINEL_TOKEN,
        "registry_username": auth_registry.username,
        "registry_password": auth_registry.password,
    }
    arn = boto3.client("secretsmanager", region_name="us-east-1").create_secret(
        Name="qualys-with-login", SecretString=json.dumps(secret)
    )["ARN"]
    env |= {
        "QSCANNER_DOUBLE_SCENARIO": "clean",
        "INSECURE_REGISTRIES": auth_registry.host,
        "DOCKER_CONFIG": str(tmp_path / "nowhere"),
        "QUALYS_SECRET_ARN": arn,
    }
    args = [f"{auth_registry.host}/priv/q:1", "--output-dir", str(tmp_path / "out")]
    result = invoke(args, env)
    assert result.exit_code == 0, result.output
    assert load(tmp_path / "out" / "report.json").image.digest == img.digest
    assert auth_registry.password is not None
    assert auth_registry.password not in result.output
