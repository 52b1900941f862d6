"""AwsResolver against moto: ECS, Lambda and ECR lookups, caching, cross-account roles."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from dispatcher import model as m
from dispatcher.envelope import read_records
from dispatcher.errors import LookupFailed
from dispatcher.imageref import ImageRef
from dispatcher.plan import plan
from dispatcher.resolve_aws import AwsResolver
from tests.dispatcher.conftest import load_event, settings

HOME = "123456789012"  # moto's default account
MEMBER = "210987654321"  # the account our fixtures deploy in
REGION = "eu-central-1"
ROLE = "deployscan-read"
SECRET = f"arn:aws:secretsmanager:{REGION}:{MEMBER}:secret:hub-Ab12Cd"
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{HOME}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)


class CountingSessions:
    """Sessions whose clients count every AWS operation they send."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def __call__(self, **kwargs: Any) -> boto3.session.Session:
        session = boto3.session.Session(region_name=REGION, **kwargs)
        session.events.register("before-call.*.*", self._count)
        return session

    def _count(self, model: Any, **_: Any) -> None:
        self.calls[f"{model.service_model.endpoint_prefix}:{model.name}"] += 1


def _member_session() -> boto3.session.Session:
    """Credentials inside the member account (moto keeps accounts apart by credentials)."""
    sts = boto3.client("sts", region_name=REGION)
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{MEMBER}:role/{ROLE}", RoleSessionName="seed")[
        "Credentials"
    ]
    return boto3.session.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name=REGION,
    )


def _seed_member(session: boto3.session.Session) -> dict[str, str]:
    """A task definition, an image function and an ECR image in the member account."""
    session.client("iam").create_role(RoleName=ROLE, AssumeRolePolicyDocument=TRUST)
    ecs = session.client("ecs")
    td = ecs.register_task_definition(
        family="checkout",
        memory="512",
        runtimePlatform={"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"},
        containerDefinitions=[
            {
                "name": "checkout",
                "image": f"{MEMBER}.dkr.ecr.{REGION}.amazonaws.com/shop/checkout:2",
                "repositoryCredentials": {"credentialsParameter": SECRET},
            },
            {"name": "envoy", "image": "envoyproxy/envoy:v1.29.1"},
        ],
    )["taskDefinition"]["taskDefinitionArn"]
    ecr = session.client("ecr")
    ecr.create_repository(repositoryName="shop/checkout")
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": "sha256:" + "11" * 32,
            "size": 2,
        },
        "layers": [
            {
                "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                "digest": "sha256:" + "22" * 32,
                "size": 3,
            }
        ],
    }
    digest = ecr.put_image(
        repositoryName="shop/checkout", imageManifest=json.dumps(manifest), imageTag="2"
    )["image"]["imageId"]["imageDigest"]
    role = session.client("iam").create_role(RoleName="fn", AssumeRolePolicyDocument=TRUST)
    ecr.create_repository(repositoryName="media/thumbnailer")
    fn = session.client("lambda").create_function(
        FunctionName="thumbnailer",
        PackageType="Image",
        Role=role["Role"]["Arn"],
        Code={"ImageUri": f"{MEMBER}.dkr.ecr.{REGION}.amazonaws.com/media/thumbnailer:1.0"},
        Architectures=["arm64"],
    )["FunctionArn"]
    return {"td": td, "digest": digest, "fn": fn}


@pytest.fixture
def member(aws: None) -> dict[str, str]:
    """The member account's read-only role (trusting the home account) and its resources."""
    boto3.client("iam", region_name=REGION)  # the home account exists implicitly
    session = _member_session()
    return _seed_member(session)


def test_cross_account_lookups_through_the_role(member: dict[str, str]) -> None:
    sessions = CountingSessions()
    resolver = AwsResolver(sessions(), ROLE, session_factory=sessions)
    found = resolver.task_definition(MEMBER, REGION, "checkout:1")
    assert found.arn == member["td"]
    assert found.platform == "linux/arm64"
    assert [c.image for c in found.containers][1] == "envoyproxy/envoy:v1.29.1"
    assert found.containers[0].registry_credentials_arn is not None
    assert found.containers[0].registry_credentials_arn.endswith(":secret:hub-Ab12Cd")
    function = resolver.function_image(MEMBER, REGION, member["fn"])
    assert function.platform == "linux/arm64"
    assert function.resolved_uri is not None and "@sha256:" in function.resolved_uri
    image = ImageRef.parse(found.containers[0].image)
    assert resolver.image_digest(image) == member["digest"]
    assert resolver.pull_role_arn(image) == f"arn:aws:iam::{MEMBER}:role/{ROLE}"
    # everything again: all answers come from the per-invocation cache
    resolver.task_definition(MEMBER, REGION, "checkout:1")
    resolver.function_image(MEMBER, REGION, member["fn"])
    resolver.image_digest(image)
    assert sessions.calls == {
        "sts:GetCallerIdentity": 1,
        "sts:AssumeRole": 1,
        "ecs:DescribeTaskDefinition": 1,
        "lambda:GetFunction": 1,
        "api.ecr:DescribeImages": 1,
    }


def test_without_the_role_the_home_account_cannot_see_member_resources(
    member: dict[str, str],
) -> None:
    resolver = AwsResolver(boto3.session.Session(region_name=REGION), None)
    with pytest.raises(LookupFailed) as info:
        resolver.task_definition(MEMBER, REGION, "checkout:1")
    assert info.value.retryable is False  # ClientException: no such task definition


def test_unknown_tag_has_no_digest(member: dict[str, str]) -> None:
    resolver = AwsResolver(boto3.session.Session(region_name=REGION), ROLE)
    ref = ImageRef.parse(f"{MEMBER}.dkr.ecr.{REGION}.amazonaws.com/shop/checkout:nope")
    assert resolver.image_digest(ref) is None


def test_hostile_account_or_region_never_reaches_aws(aws: None) -> None:
    sessions = CountingSessions()
    resolver = AwsResolver(sessions(), ROLE, session_factory=sessions)
    for account, region in (("12345", REGION), (MEMBER, "eu-central-1/../x")):
        with pytest.raises(LookupFailed):
            resolver.task_definition(account, region, "checkout:1")
    assert not sessions.calls


def test_plan_with_aws_lookups_end_to_end(member: dict[str, str]) -> None:
    """A CreateService event in the member account: describe, resolve the tag, build twice."""
    sessions = CountingSessions()
    resolver = AwsResolver(sessions(), ROLE, session_factory=sessions)
    raw = [load_event("ecs-create-service.json"), load_event("ecs-update-service.json")]
    for event in raw:
        td_arn = member["td"]
        event["detail"]["responseElements"]["service"]["taskDefinition"] = td_arn
    decisions = plan(read_records(raw), settings(), resolver)
    lines = [m.decision_line(d) for d in decisions]
    assert [(x["action"], x["reason"], x["digest"]) for x in lines] == [
        ("build", None, member["digest"]),
        ("build", None, None),
        ("skip", m.DUPLICATE, member["digest"]),
        ("skip", m.DUPLICATE, None),
    ]
    assert sessions.calls["ecs:DescribeTaskDefinition"] == 1
    assert sessions.calls["api.ecr:DescribeImages"] == 1


def test_an_event_without_a_region_is_a_failed_lookup_not_a_crash(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_DEFAULT_REGION", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    resolver = AwsResolver(boto3.session.Session(), None, home_account=HOME)
    with pytest.raises(LookupFailed, match="NoRegionError"):
        resolver.task_definition(None, None, "checkout:1")


def test_image_size_comes_with_the_digest_lookup(member: dict[str, str]) -> None:
    sessions = CountingSessions()
    resolver = AwsResolver(sessions(), ROLE, session_factory=sessions)
    ref = ImageRef.parse(f"{MEMBER}.dkr.ecr.{REGION}.amazonaws.com/shop/checkout:2")
    assert resolver.image_digest(ref) == member["digest"]
    size = resolver.image_size(ref.with_digest(member["digest"]))
    assert isinstance(size, int) and size > 0  # moto reports one; the real value is ECR's
    assert resolver.image_size(ref) == size
    assert sessions.calls["api.ecr:DescribeImages"] == 1  # the tag's answer served all three
    assert resolver.image_size(ImageRef.parse("envoyproxy/envoy:v1.29.1")) is None  # not ECR


def test_image_size_by_digest_is_one_exact_describe_images(aws: None) -> None:
    digest = "sha256:" + "4d" * 32
    ref = ImageRef.parse(f"{HOME}.dkr.ecr.{REGION}.amazonaws.com/shop/api@{digest}")
    client = boto3.client("ecr", region_name=REGION)

    class OneClientSession:
        def client(self, service: str, region_name: str | None = None) -> Any:
            assert (service, region_name) == ("ecr", REGION)
            return client

    resolver = AwsResolver(OneClientSession(), None, home_account=HOME)
    answer = {"imageDetails": [{"imageDigest": digest, "imageSizeInBytes": 3 * 1024**3}]}
    request = {
        "registryId": HOME,
        "repositoryName": "shop/api",
        "imageIds": [{"imageDigest": digest}],
    }
    with Stubber(client) as stub:
        stub.add_response("describe_images", answer, request)
        assert resolver.image_size(ref) == 3 * 1024**3
        assert resolver.image_size(ref) == 3 * 1024**3  # asked once
        stub.assert_no_pending_responses()
    with Stubber(client) as stub:
        stub.add_client_error("describe_images", "ImageNotFoundException")
        other = ref.with_digest("sha256:" + "5e" * 32)
        assert resolver.image_size(other) is None  # not found: unknown, not an error
