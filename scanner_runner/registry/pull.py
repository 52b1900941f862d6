"""The pull: resolve the reference to one platform's manifest (plan), then stream it (execute)."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from dispatcher.imageref import ImageRef
from dispatcher.platforms import DEFAULT_PLATFORM, Platform
from scanner_runner.errors import DeployscanError, PullError
from scanner_runner.registry import manifests, media
from scanner_runner.registry.archive import Layout, Member, PulledImage, atomic_output, blob_writer
from scanner_runner.registry.blobs import Cancelled, fetch_blob, fetch_small
from scanner_runner.registry.credentials import resolve_credentials
from scanner_runner.registry.formats import DEFAULT_FORMAT, FORMATS
from scanner_runner.registry.http import Transport
from scanner_runner.registry.media import Descriptor
from scanner_runner.registry.progress import Progress

DEFAULT_WORKERS = 4


@dataclass(frozen=True)
class PullResult:
    """What was pulled and where it was written."""

    ref: ImageRef
    digest: str
    manifest_digest: str
    platform: str
    media_type: str
    config_digest: str
    layer_count: int
    total_bytes: int
    archive: Path
    format: str

    def as_json(self) -> dict[str, object]:
        """A JSON-ready summary (what `deployscan pull --json` prints)."""
        return {
            "image": str(self.ref),
            "digest": self.digest,
            "manifest_digest": self.manifest_digest,
            "platform": self.platform,
            "media_type": self.media_type,
            "config_digest": self.config_digest,
            "layer_count": self.layer_count,
            "total_bytes": self.total_bytes,
            "archive": str(self.archive),
            "format": self.format,
        }


@dataclass(frozen=True)
class Plan:
    """A resolved image: everything known before the layers are downloaded."""

    digest: str
    platform: str
    image: PulledImage
    media_type: str


def pull(
    image: str | ImageRef,
    output: Path,
    *,
    platform: str | None = None,
    fmt: str = DEFAULT_FORMAT,
    creds: str | None = None,
    registry_credentials_arn: str | None = None,
    pull_role_arn: str | None = None,
    insecure_registries: Iterable[str] = (),
    max_size: int | None = None,
    progress: bool = False,
    boto3_session: Any = None,
    http_session: requests.Session | None = None,
    docker_config: Path | None = None,
    sleep: Callable[[float], None] = time.sleep,
    workers: int = DEFAULT_WORKERS,
) -> PullResult:
    """Pull `image` for one platform into an `fmt` archive at `output`, verifying every digest.

    Raises PullError with one line on any failure, leaving nothing at `output`.
    `docker_config` is the `config.json` to read `auths` from (None: not read).
    """
    try:
        ref = image if isinstance(image, ImageRef) else ImageRef.parse(image)
        if fmt not in FORMATS:
            raise PullError(f"unknown archive format {fmt!r} (choose from {', '.join(FORMATS)})")
        wanted = Platform.parse(platform or DEFAULT_PLATFORM)
        credentials = resolve_credentials(
            ref,
            creds=creds,
            registry_credentials_arn=registry_credentials_arn,
            pull_role_arn=pull_role_arn,
            docker_config=docker_config,
            boto3_session=boto3_session,
        )
        transport = Transport(
            ref.api_host,
            session=http_session or requests.Session(),
            credentials=credentials,
            insecure_hosts=insecure_registries,
            sleep=sleep,
        )
        plan = resolve(transport, ref, wanted)
        total = plan.image.config.size + plan.image.manifest.size + _layer_bytes(plan.image)
        if max_size is not None and total > max_size:
            raise PullError(f"image is {total} bytes, over the --max-size of {max_size}")
        members = FORMATS[fmt](plan.image)
        write_archive(
            transport,
            ref=ref,
            image=plan.image,
            members=members,
            output=output,
            show_progress=progress,
            workers=workers,
        )
    except PullError:
        raise
    except DeployscanError as exc:
        raise PullError(str(exc)) from exc
    except requests.RequestException as exc:
        raise PullError(f"{ref.registry}: request failed: {type(exc).__name__}") from exc
    except OSError as exc:
        raise PullError(f"cannot write {output}: {exc.strerror or exc}") from exc
    return PullResult(
        ref=ref,
        digest=plan.digest,
        manifest_digest=plan.image.manifest.digest,
        platform=plan.platform,
        media_type=plan.media_type,
        config_digest=plan.image.config.digest,
        layer_count=len(plan.image.layers),
        total_bytes=total,
        archive=output,
        format=fmt,
    )


def resolve(transport: Transport, ref: ImageRef, wanted: Platform) -> Plan:
    """Fetch the reference's manifest; for an index, choose `wanted` and fetch that manifest."""
    scope = _scope(ref)
    top = manifests.fetch(transport, ref.repository, ref.reference, scope)
    chosen_platform: str | None = None
    fetched = top
    if top.media_type in media.INDEX_TYPES:
        entry = manifests.choose(manifests.index_entries(top), wanted)
        fetched = manifests.fetch(transport, ref.repository, entry.digest, scope)
        if len(fetched.raw) != entry.size:
            raise PullError(f"manifest {entry.digest} size differs from its index entry")
        if fetched.media_type not in media.MANIFEST_TYPES:
            raise PullError("index nesting deeper than one level is not supported")
        chosen_platform = entry.platform
    image = manifests.image_manifest(fetched)
    config_bytes = fetch_small(transport, ref.repository, image.config, scope)
    config_platform = manifests.config_platform(config_bytes)
    pulled = PulledImage(
        name=ref.name,
        tag=ref.tag,
        manifest=Descriptor(fetched.media_type, fetched.digest, len(fetched.raw)),
        manifest_bytes=fetched.raw,
        config=image.config,
        config_bytes=config_bytes,
        layers=image.layers,
    )
    return Plan(top.digest, chosen_platform or config_platform, pulled, fetched.media_type)


def write_archive(
    transport: Transport,
    *,
    ref: ImageRef,
    image: PulledImage,
    members: list[Member],
    output: Path,
    show_progress: bool,
    workers: int,
) -> None:
    """Lay out the archive, then stream every layer into place in parallel (bounded)."""
    layout = Layout(members)
    blobs = sorted((m.blob for m in members if m.blob is not None), key=lambda d: -d.size)
    bar = Progress(sum(b.size for b in blobs), label=image.name) if show_progress else None
    scope = _scope(ref)
    cancel = threading.Event()
    with atomic_output(output) as (fd, _temp):
        layout.write_fixed(fd)

        def download(desc: Descriptor) -> None:
            write = blob_writer(fd, layout.blob_offsets[desc.digest])
            add = bar.add if bar is not None else (lambda _n: None)
            fetch_blob(transport, ref.repository, desc, scope, write, progress=add, cancel=cancel)

        try:
            download_all(download, blobs, workers=workers, cancel=cancel)
        finally:
            if bar is not None:
                bar.finish()


def download_all(
    download: Callable[[Descriptor], None],
    blobs: list[Descriptor],
    *,
    workers: int,
    cancel: threading.Event,
) -> None:
    """Run `download` for every blob on at most `workers` threads; the first error stops the
    others and is raised once they have stopped. An interrupt (SIGTERM, ^C) does not wait: the
    threads are daemons, so one stalled in a read keeps neither the process nor its partial file."""
    todo: queue.SimpleQueue[Descriptor] = queue.SimpleQueue()
    for desc in blobs:
        todo.put(desc)
    errors: list[BaseException] = []

    def work() -> None:
        while not cancel.is_set():
            try:
                desc = todo.get_nowait()
            except queue.Empty:
                return
            try:
                download(desc)
            except Cancelled:
                return
            except BaseException as exc:  # handed to the main thread, which raises it
                errors.append(exc)
                cancel.set()
                return

    count = max(1, min(workers, len(blobs)))
    threads = [threading.Thread(target=work, name=f"pull-{i}", daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            thread.join()
    finally:
        cancel.set()
    if errors:
        raise errors[0]


def _scope(ref: ImageRef) -> str:
    return f"repository:{ref.repository}:pull"


def _layer_bytes(image: PulledImage) -> int:
    return sum({layer.digest: layer.size for layer in image.layers}.values())
