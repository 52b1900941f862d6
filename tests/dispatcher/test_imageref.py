"""ImageRef: the reference grammar the dispatcher and the runner share."""

from __future__ import annotations

import pytest

from dispatcher.errors import ImageRefError
from dispatcher.imageref import ImageRef, is_digest, parse_ecr_host, validate_digest

D = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("text", "registry", "repository", "tag", "digest"),
    [
        ("nginx", "docker.io", "library/nginx", "latest", None),
        ("nginx:1.25-alpine", "docker.io", "library/nginx", "1.25-alpine", None),
        ("docker.io/nginx", "docker.io", "library/nginx", "latest", None),
        ("index.docker.io/library/nginx:1", "docker.io", "library/nginx", "1", None),
        ("bitnami/redis:7", "docker.io", "bitnami/redis", "7", None),
        ("localhost/app", "localhost", "app", "latest", None),
        ("localhost:5000/team/app:v2", "localhost:5000", "team/app", "v2", None),
        ("127.0.0.1:5000/app", "127.0.0.1:5000", "app", "latest", None),
        (f"ghcr.io/o/app:1.0@{D}", "ghcr.io", "o/app", "1.0", D),
        (f"quay.io/o/app@{D}", "quay.io", "o/app", None, D),
        ("public.ecr.aws/nginx/nginx:stable", "public.ecr.aws", "nginx/nginx", "stable", None),
        ("[::1]:5000/app:x", "[::1]:5000", "app", "x", None),
        ("a__b/c-d.e_f:T_1.x", "docker.io", "a__b/c-d.e_f", "T_1.x", None),
    ],
)
def test_parse_normalises_like_docker(
    text: str, registry: str, repository: str, tag: str | None, digest: str | None
) -> None:
    ref = ImageRef.parse(text)
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == (
        registry,
        repository,
        tag,
        digest,
    )
    assert ImageRef.parse(str(ref)) == ref


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Nginx",  # ECS accepts uppercase, OCI does not
        "repo/App:1",
        "app#1",  # ECS accepts '#', OCI does not
        "app:1;rm -rf /",
        "$(id)",
        "app`id`",
        "app:v1\n",
        "app\x00",
        "app:" + "t" * 129,
        "app@sha256:abc",  # short digest
        "app@sha256:" + "A" * 64,  # uppercase hex
        "app@md5:" + "a" * 32,
        "host:5000/app:",
        "a" * 64,  # an image ID, not a name
        "x/" * 200 + "app",
        "ex ample.com/app",
        "-bad.example.com/app",
        "registry.example.com/app/",
        "café/app",
    ],
)
def test_hostile_or_invalid_references_are_refused(text: str) -> None:
    with pytest.raises(ImageRefError):
        ImageRef.parse(text)


HEX64 = "0123456789abcdef" * 4


@pytest.mark.parametrize(
    ("text", "registry", "repository", "tag"),
    [
        (f"docker.io/{HEX64}", "docker.io", f"library/{HEX64}", "latest"),
        (f"{HEX64}:v1", "docker.io", f"library/{HEX64}", "v1"),
        (f"library/{HEX64}", "docker.io", f"library/{HEX64}", "latest"),
        (f"ghcr.io/{HEX64}:1", "ghcr.io", HEX64, "1"),
    ],
)
def test_a_64_hex_repository_with_a_registry_or_tag_is_a_name(
    text: str, registry: str, repository: str, tag: str
) -> None:
    """Only a bare 64-hex input is an image ID (as in Docker's reference library)."""
    ref = ImageRef.parse(text)
    assert (ref.registry, ref.repository, ref.tag) == (registry, repository, tag)
    assert ImageRef.parse(str(ref)) == ref


def test_non_string_is_refused() -> None:
    with pytest.raises(ImageRefError):
        ImageRef.parse(None)
    with pytest.raises(ImageRefError):
        ImageRef.parse(["nginx"])


@pytest.mark.parametrize(
    ("host", "account", "region", "fips", "dual"),
    [
        ("123456789012.dkr.ecr.us-west-2.amazonaws.com", "123456789012", "us-west-2", False, False),
        (
            "123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com",
            "123456789012",
            "us-gov-west-1",
            True,
            False,
        ),
        ("123456789012.dkr-ecr.us-west-2.on.aws", "123456789012", "us-west-2", False, True),
        ("123456789012.dkr-ecr-fips.us-west-2.on.aws", "123456789012", "us-west-2", True, True),
        (
            "210987654321.dkr.ecr.cn-north-1.amazonaws.com.cn",
            "210987654321",
            "cn-north-1",
            False,
            False,
        ),
        (
            "210987654321.dkr.ecr.cn-north-1.on.amazonwebservices.com.cn",
            "210987654321",
            "cn-north-1",
            False,
            True,
        ),
        (
            "123456789012.dkr.ecr.eusc-de-east-1.amazonaws.eu",
            "123456789012",
            "eusc-de-east-1",
            False,
            False,
        ),
    ],
)
def test_every_ecr_host_form(host: str, account: str, region: str, fips: bool, dual: bool) -> None:
    ecr = ImageRef.parse(f"{host}/team/app:1").ecr
    assert ecr is not None
    assert (ecr.account, ecr.region, ecr.fips, ecr.dual_stack) == (account, region, fips, dual)


@pytest.mark.parametrize(
    "host",
    [
        "123456789012.dkr.ecr.us-east-1.amazonaws.com.evil.example.com",
        "12345678901.dkr.ecr.us-east-1.amazonaws.com",
        "123456789012.dkr.ecr.us-east-1.example.com",
        "public.ecr.aws",
    ],
)
def test_lookalike_hosts_are_not_ecr(host: str) -> None:
    assert parse_ecr_host(host) is None


def test_ecr_public_and_pull_through_cache() -> None:
    assert ImageRef.parse("public.ecr.aws/docker/library/redis:7").is_ecr_public
    cached = ImageRef.parse(
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com/docker-hub/library/nginx:1"
    )
    assert cached.ecr is not None and cached.repository == "docker-hub/library/nginx"


def test_api_host_and_reference() -> None:
    ref = ImageRef.parse("nginx:1")
    assert ref.api_host == "registry-1.docker.io"
    assert ref.reference == "1"
    pinned = ref.with_digest(D)
    assert pinned.reference == D and str(pinned) == f"docker.io/library/nginx:1@{D}"
    with pytest.raises(ImageRefError):
        ref.with_digest("sha256:1234")


def test_digest_validation() -> None:
    assert validate_digest(D) == D
    assert is_digest("sha512:" + "0" * 128)
    for bad in ["sha256:" + "g" * 64, "sha256:../../etc/passwd", "sha256", 42, None]:
        assert not is_digest(bad)
