"""The demo's emulated scan project mirrors cfn/scanner.yaml: same variables, and the Qualys token
only as a SECRETS_MANAGER project variable `<secret-arn>:qualys_access_token`."""

from __future__ import annotations

import json

import boto3
from cfnlint.decode import decode

from scanner_runner.devtools.demo.stack import create_stack
from tests.cfn.conftest import CFN

# Set by the template but left out of the demo: optional policy inputs, and QScanner's location,
# which the demo adds only when it runs QScanner.
TEMPLATE_ONLY = {"POLICY_TAGS", "POLICY_IGNORE", "DENY_LIST", "QSCANNER_URL", "QSCANNER_SHA256"}
DEMO_ONLY = {"INSECURE_REGISTRIES"}  # its registry is plain HTTP on loopback


def template_variables() -> dict[str, dict[str, object]]:
    template, matches = decode(str(CFN / "scanner.yaml"))
    assert not matches and template is not None
    project = json.loads(json.dumps(template))["Resources"]["ScanProject"]["Properties"]
    return {v["Name"]: v for v in project["Environment"]["EnvironmentVariables"]}


def test_demo_project_has_the_templates_environment(aws: None) -> None:
    stack = create_stack(
        boto3.client, qualys_pod="US1", qualys_token="tok-123", insecure_registries="127.0.0.1:1"
    )
    demo = {v.name: v for v in stack.environment}
    template = template_variables()
    assert set(template) - set(demo) == TEMPLATE_ONLY
    assert set(demo) - set(template) == DEMO_ONLY
    for name, var in demo.items():
        if name in template:
            assert var.type == template[name]["Type"], name

    token = demo["QUALYS_ACCESS_TOKEN"]
    assert token.value == f"{stack.secret_arn}:qualys_access_token"
    sub = template["QUALYS_ACCESS_TOKEN"]["Value"]["Fn::Sub"]  # type: ignore[index]
    assert sub[0] == "${SecretArn}:qualys_access_token"
    secret = boto3.client("secretsmanager").get_secret_value(SecretId=stack.secret_arn)
    assert json.loads(secret["SecretString"])["qualys_access_token"] == "tok-123"
    assert "tok-123" not in json.dumps([v.value for v in stack.environment])

    project = boto3.client("codebuild").batch_get_projects(names=[stack.names.project])
    created = project["projects"][0]["environment"]["environmentVariables"]
    assert {(v["name"], v["type"]) for v in created} == {(v.name, v.type) for v in demo.values()}
