"""Images built by code once per session and pushed to the real local registries."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from scanner_runner.devtools import imagebuild
from scanner_runner.devtools.localregistry import LocalRegistry
from tests.registry.hostile import Hostile

DPKG_STATUS = b"Package: zlib1g\nStatus: install ok installed\nVersion: 1:1.2.13\n\n"


@dataclass(frozen=True)
class Pushed:
    """Images pushed to the plain `registry` (references without the host)."""

    host: str
    multi: imagebuild.Index  # OCI index: amd64, arm64/v8, arm/v7, plus attestations
    multi_digest: str
    docker_list: imagebuild.Index  # Docker manifest list of Docker schema 2 images
    single: imagebuild.Image  # one OCI image, three layers, one repeated

    def ref(self, path: str) -> str:
        """`host/path`."""
        return f"{self.host}/{path}"


def _layers(seed: int) -> list[imagebuild.Blob]:
    return [
        imagebuild.layer({"etc/os-release": b"ID=debian\nVERSION_ID=12\n"}),
        imagebuild.layer({"var/lib/dpkg/status": DPKG_STATUS}),
        imagebuild.layer({f"app/data-{seed}.bin": bytes(range(256)) * (200 + seed)}),
    ]


@pytest.fixture(scope="session")
def pushed(registry: LocalRegistry) -> Pushed:
    """Build and push the suite's images once."""
    pusher = imagebuild.Pusher(registry.url)
    multi = imagebuild.index(
        [
            imagebuild.image(_layers(1)),
            imagebuild.image(_layers(2), architecture="arm64", variant="v8"),
            imagebuild.image(_layers(3), architecture="arm", variant="v7"),
        ]
    )
    multi_digest = pusher.push_index("team/multi", multi, tag="1.0")
    docker_list = imagebuild.index(
        [
            imagebuild.image(
                [imagebuild.layer({"etc/os-release": b"ID=alpine\n"}, docker=True)], docker=True
            ),
            imagebuild.image(
                [imagebuild.layer({"etc/os-release": b"ID=alpine\n"}, docker=True)],
                architecture="arm64",
                docker=True,
            ),
        ],
        docker=True,
    )
    pusher.push_index("team/dockerlist", docker_list, tag="2")
    shared = _layers(4)
    single = imagebuild.image([*shared, shared[0]])
    pusher.push_image("team/single", single, tag="latest")
    return Pushed(registry.host, multi, multi_digest, docker_list, single)


@pytest.fixture
def hostile() -> Iterator[Hostile]:
    """A crafted-response registry for one test."""
    with Hostile() as server:
        yield server
    assert not server.errors, f"hostile server handler failed: {server.errors!r}"


@pytest.fixture
def storage() -> Iterator[Hostile]:
    """A second host (another port), standing in for S3 behind a redirect."""
    with Hostile() as server:
        yield server
    assert not server.errors, f"storage server handler failed: {server.errors!r}"
