"""Sample images for the demo, built in code and pushed to the local registry.

Realistic package databases (dpkg status, apk installed) so that an inventory scanner finds real
packages: a Debian-based service, an Alpine-based sidecar, a multi-platform proxy (amd64 + arm64)
and a Debian-based Lambda function image.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from scanner_runner.devtools import imagebuild

DEBIAN_OS_RELEASE = b"""PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
"""
ALPINE_OS_RELEASE = b"""NAME="Alpine Linux"
ID=alpine
VERSION_ID=3.19.1
PRETTY_NAME="Alpine Linux v3.19"
"""
DEBIAN_PACKAGES = (
    ("base-files", "12.4+deb12u5", "Debian base system miscellaneous files"),
    ("libc6", "2.36-9+deb12u4", "GNU C Library: Shared libraries"),
    ("libssl3", "3.0.11-1~deb12u2", "Secure Sockets Layer toolkit - shared libraries"),
    ("openssl", "3.0.11-1~deb12u2", "Secure Sockets Layer toolkit - cryptographic utility"),
    ("zlib1g", "1:1.2.13.dfsg-1", "compression library - runtime"),
    ("ca-certificates", "20230311", "Common CA certificates"),
    ("curl", "7.88.1-10+deb12u5", "command line tool for transferring data with URL syntax"),
    ("libcurl4", "7.88.1-10+deb12u5", "easy-to-use client-side URL transfer library"),
    ("tzdata", "2024a-0+deb12u1", "time zone and daylight-saving time data"),
)
# The release with the xz backdoor (CVE-2024-3094): the shipped deny list fails any image with it.
BACKDOORED_XZ = (
    ("xz-utils", "5.6.1-1", "XZ-format compression utilities"),
    ("liblzma5", "5.6.1-1", "XZ-format compression library"),
)
ALPINE_PACKAGES = (
    ("musl", "1.2.4_git20230717-r4", "the musl c library"),
    ("busybox", "1.36.1-r15", "Size optimized toolbox of many common UNIX utilities"),
    ("libcrypto3", "3.1.4-r5", "Crypto library from openssl"),
    ("libssl3", "3.1.4-r5", "SSL shared libraries"),
    ("zlib", "1.3.1-r0", "A compression/decompression Library"),
    ("ca-certificates-bundle", "20230506-r0", "Pre generated bundle of Mozilla certificates"),
)


@dataclass(frozen=True)
class SampleImage:
    """One sample: where it goes in the registry and how it was built."""

    repository: str
    tag: str
    description: str
    image: imagebuild.Image | None = None
    index: imagebuild.Index | None = None

    @property
    def digest(self) -> str:
        """The manifest (or index) digest the registry stores it under."""
        built = self.index or self.image
        if built is None:
            raise ValueError("sample has no content")
        return built.digest


def dpkg_status(packages: Sequence[tuple[str, str, str]], arch: str) -> bytes:
    """A `/var/lib/dpkg/status` file listing `packages` as installed."""
    stanzas = [
        f"Package: {name}\nStatus: install ok installed\nPriority: optional\n"
        f"Architecture: {arch}\nVersion: {version}\nMaintainer: Debian <debian@example.org>\n"
        f"Description: {summary}\n"
        for name, version, summary in packages
    ]
    return "\n".join(stanzas).encode()


def apk_installed(packages: Sequence[tuple[str, str, str]], arch: str) -> bytes:
    """A `/lib/apk/db/installed` file listing `packages`."""
    stanzas = [
        f"P:{name}\nV:{version}\nA:{arch}\nT:{summary}\nL:MIT\no:{name}\n"
        for name, version, summary in packages
    ]
    return "\n".join(stanzas).encode() + b"\n"


def debian_image(
    app_files: dict[str, bytes],
    arch: str = "amd64",
    extra_packages: Sequence[tuple[str, str, str]] = (),
) -> imagebuild.Image:
    """A Debian 12 base layer (plus `extra_packages` in its dpkg status) and an app layer."""
    base = imagebuild.layer(
        {
            "etc/os-release": DEBIAN_OS_RELEASE,
            "usr/lib/os-release": DEBIAN_OS_RELEASE,
            "etc/debian_version": b"12.5\n",
            "var/lib/dpkg/status": dpkg_status((*DEBIAN_PACKAGES, *extra_packages), arch),
        },
        level=1,
    )
    return imagebuild.image([base, imagebuild.layer(app_files, level=1)], architecture=arch)


def python_dist(name: str, version: str) -> dict[str, bytes]:
    """The METADATA of an installed Python distribution (what inventory scanners read)."""
    path = f"usr/lib/python3/dist-packages/{name}-{version}.dist-info/METADATA"
    return {path: f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()}


def samples() -> list[SampleImage]:
    """The demo's images: service, sidecar, multi-platform proxy, Lambda function, and a
    service carrying a deny-listed package (the deploy gate's step blocks it)."""
    service = debian_image(
        {
            "srv/checkout/app.py": b"print('checkout api')\n",
            **python_dist("requests", "2.31.0"),
            **python_dist("urllib3", "1.26.18"),
        }
    )
    sidecar_layer = imagebuild.layer(
        {
            "etc/os-release": ALPINE_OS_RELEASE,
            "etc/alpine-release": b"3.19.1\n",
            "lib/apk/db/installed": apk_installed(ALPINE_PACKAGES, "x86_64"),
            "usr/bin/log-shipper": b"#!/bin/sh\nexec cat\n",
        },
        level=1,
    )
    proxy = imagebuild.index(
        [
            debian_image({"etc/proxy/proxy.conf": b"listen 8080\n"}, arch)
            for arch in ("amd64", "arm64")
        ]
    )
    function = debian_image(
        {"var/task/handler.py": b"def handler(event, context):\n    return 'ok'\n",
         **python_dist("pillow", "10.2.0")},
        arch="arm64",
    )  # fmt: skip
    return [
        SampleImage("shop/checkout-api", "2.3.1", "Debian 12 service", image=service),
        SampleImage(
            "shop/log-shipper",
            "1.8.0",
            "Alpine 3.19 sidecar",
            image=imagebuild.image([sidecar_layer]),
        ),
        SampleImage("shop/edge-proxy", "3.0.0", "multi-platform (amd64, arm64)", index=proxy),
        SampleImage("fn/thumbnailer", "5", "Lambda function image (arm64)", image=function),
        SampleImage(
            "shop/payments",
            "4.2.0",
            "Debian 12 service with the backdoored xz 5.6.1",
            image=debian_image(
                {"srv/payments/app.py": b"print('payments')\n"}, "amd64", BACKDOORED_XZ
            ),
        ),
    ]


def push_samples(pusher: imagebuild.Pusher, images: Sequence[SampleImage]) -> None:
    """Push every sample under its repository and tag."""
    for sample in images:
        if sample.index is not None:
            pusher.push_index(sample.repository, sample.index, sample.tag)
        elif sample.image is not None:
            pusher.push_image(sample.repository, sample.image, sample.tag)
