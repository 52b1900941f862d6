"""ECR tokens (moto and Stubber), cross-account roles, Secrets Manager registry credentials."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore.stub import Stubber
from requests.adapters import HTTPAdapter

from dispatcher.imageref import ImageRef
from scanner_runner.devtools import imagebuild
from scanner_runner.devtools.localregistry import LocalRegistry
from scanner_runner.registry import PullError, pull
from scanner_runner.registry.credentials import ecr_credentials, resolve_credentials

ACCOUNT = "123456789012"
ECR_HOST = f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com"


class ToLocal(HTTPAdapter):
    """Sends requests for one https host to the local registry instead (the test's 'DNS')."""

    def __init__(self, host: str, local_url: str) -> None:
        super().__init__()
        self.prefix, self.local_url = f"https://{host}", local_url

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        original = request.url or ""
        request.url = original.replace(self.prefix, self.local_url, 1)
        response = super().send(request, **kwargs)
        response.url = original
        return response


class SpySession:
    """A real boto3 session that records which clients were asked for, with what arguments."""

    def __init__(self, real: Any = None) -> None:
        self.real = real or boto3.Session()
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def client(self, name: str, **kwargs: Any) -> Any:
        self.calls.append((name, kwargs))
        return self.real.client(name, **kwargs)


class StubbedEcrSession(SpySession):
    """Real ECR clients (real endpoint resolution), answered by a Stubber."""

    def __init__(self, account: str, token: str) -> None:
        super().__init__()
        self.account, self.token = account, token
        self.clients: list[Any] = []

    def client(self, name: str, **kwargs: Any) -> Any:
        client = super().client(name, **kwargs)
        stub = Stubber(client)
        stub.add_response(
            "get_authorization_token",
            {"authorizationData": [{"authorizationToken": self.token}]},
            {"registryIds": [self.account]},
        )
        stub.activate()
        self.clients.append(client)
        return client


class FixedClient:
    """A session stand-in that hands out one prepared client."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def client(self, name: str, **kwargs: Any) -> Any:
        return self._client


@pytest.fixture(scope="module")
def ecr_like(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRegistry]:
    """A local registry whose Basic login is what moto's ECR token decodes to."""
    root = tmp_path_factory.mktemp("ecr-like")
    with LocalRegistry(root, username="AWS", password=f"{ACCOUNT}-auth-token") as server:
        img = imagebuild.image([imagebuild.layer({"etc/os-release": b"ID=amzn\n"})])
        imagebuild.Pusher(server.url, auth=server.auth).push_image("team/api", img, "prod")
        yield server


def test_pull_from_ecr_with_token_from_get_authorization_token(
    aws: None, ecr_like: LocalRegistry, tmp_path: Path
) -> None:
    session = requests.Session()
    session.mount(f"https://{ECR_HOST}/", ToLocal(ECR_HOST, ecr_like.url))
    spy = SpySession()
    result = pull(
        f"{ECR_HOST}/team/api:prod", tmp_path / "a.tar", boto3_session=spy, http_session=session
    )
    assert result.layer_count == 1
    assert [(name, kw["region_name"]) for name, kw in spy.calls] == [("ecr", "us-east-1")]


def test_pull_role_is_assumed_for_cross_account(aws: None) -> None:
    spy = SpySession()
    ecr = ImageRef.parse("210987654321.dkr.ecr.eu-west-1.amazonaws.com/x:1").ecr
    assert ecr is not None
    creds = ecr_credentials(ecr, spy, "arn:aws:iam::210987654321:role/deployscan-pull")
    assert (creds.username, creds.password) == ("AWS", "210987654321-auth-token")
    assert creds.preemptive
    assert [name for name, _ in spy.calls] == ["sts"]  # ECR itself was called as the role


@pytest.mark.parametrize(
    ("host", "endpoint"),
    [
        (f"{ACCOUNT}.dkr.ecr-fips.us-gov-west-1.amazonaws.com", "ecr-fips.us-gov-west-1"),
        (f"{ACCOUNT}.dkr-ecr.us-west-2.on.aws", "ecr.us-west-2.api.aws"),
        (f"{ACCOUNT}.dkr.ecr.cn-north-1.amazonaws.com.cn", "api.ecr.cn-north-1.amazonaws.com.cn"),
    ],
)
def test_fips_dual_stack_and_china_endpoints(host: str, endpoint: str) -> None:
    token = base64.b64encode(b"AWS:pw-1").decode()
    session = StubbedEcrSession(ACCOUNT, token)
    ecr = ImageRef.parse(f"{host}/repo:1").ecr
    assert ecr is not None
    creds = ecr_credentials(ecr, session)
    assert (creds.username, creds.password) == ("AWS", "pw-1")
    assert endpoint in session.clients[0].meta.endpoint_url


def test_bad_token_and_aws_error_are_pull_errors() -> None:
    ecr = ImageRef.parse(f"{ECR_HOST}/repo:1").ecr
    assert ecr is not None
    with pytest.raises(PullError, match="not base64 USER:PASSWORD"):
        ecr_credentials(ecr, StubbedEcrSession(ACCOUNT, base64.b64encode(b"nocolon").decode()))
    client = boto3.Session().client("ecr", region_name="us-east-1")
    stub = Stubber(client)
    stub.add_client_error("get_authorization_token", "AccessDeniedException", "no")
    stub.activate()
    with pytest.raises(PullError, match="ECR authorization failed: AccessDeniedException"):
        ecr_credentials(ecr, SpySession(FixedClient(client)))


def test_registry_credentials_secret(
    aws: None, auth_registry: LocalRegistry, tmp_path: Path
) -> None:
    img = imagebuild.image([imagebuild.layer({"etc/os-release": b"ID=debian\n"})])
    imagebuild.Pusher(auth_registry.url, auth=auth_registry.auth).push_image("vendor/x", img, "3")
    secrets = boto3.client("secretsmanager", region_name="eu-central-1")
    value = {"username": auth_registry.username, "password": auth_registry.password}
    arn = secrets.create_secret(Name="vendor-creds", SecretString=json.dumps(value))["ARN"]
    result = pull(
        f"{auth_registry.host}/vendor/x:3",
        tmp_path / "a.tar",
        registry_credentials_arn=arn,
        insecure_registries=[auth_registry.host],
    )
    assert result.manifest_digest == img.digest

    bad = secrets.create_secret(Name="bad", SecretString="not json")["ARN"]
    with pytest.raises(PullError, match="is not JSON username/password"):
        pull(
            f"{auth_registry.host}/vendor/x:3",
            tmp_path / "b.tar",
            registry_credentials_arn=bad,
            insecure_registries=[auth_registry.host],
        )
    missing = arn.replace("vendor-creds", "gone")
    with pytest.raises(PullError, match="cannot read registry credentials secret"):
        pull(
            f"{auth_registry.host}/vendor/x:3",
            tmp_path / "b.tar",
            registry_credentials_arn=missing,
            insecure_registries=[auth_registry.host],
        )
    assert [p.name for p in tmp_path.iterdir()] == ["a.tar"]


def test_ecr_falls_back_to_docker_login_when_aws_refuses(tmp_path: Path) -> None:
    client = boto3.Session().client("ecr", region_name="us-east-1")
    stub = Stubber(client)
    stub.add_client_error("get_authorization_token", "UnrecognizedClientException", "no")
    stub.add_client_error("get_authorization_token", "UnrecognizedClientException", "no")
    stub.activate()
    ref = ImageRef.parse(f"{ECR_HOST}/repo:1")
    config = tmp_path / "config.json"
    login = base64.b64encode(b"AWS:from-docker-login").decode()
    config.write_text(json.dumps({"auths": {f"https://{ECR_HOST}": {"auth": login}}}))
    common: dict[str, Any] = {
        "creds": None,
        "registry_credentials_arn": None,
        "pull_role_arn": None,
        "boto3_session": FixedClient(client),
    }
    chosen = resolve_credentials(ref, docker_config=config, **common)
    assert chosen is not None and chosen.password == "from-docker-login"
    with pytest.raises(PullError, match="UnrecognizedClientException"):
        resolve_credentials(ref, docker_config=tmp_path / "none.json", **common)
