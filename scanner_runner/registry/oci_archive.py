"""`oci-archive`: an OCI image layout (oci-layout, index.json, blobs/<alg>/<hex>) in one tar."""

from __future__ import annotations

import json

from scanner_runner.registry import media
from scanner_runner.registry.archive import Member, PulledImage

REF_NAME = "org.opencontainers.image.ref.name"


def members(image: PulledImage) -> list[Member]:
    """The layout's files; the manifest keeps its exact bytes so its digest is unchanged."""
    entry: dict[str, object] = dict(image.manifest.as_json())
    if image.tag:
        entry["annotations"] = {REF_NAME: image.tag}
    index = {"schemaVersion": 2, "mediaType": media.OCI_INDEX, "manifests": [entry]}
    algorithms = sorted({d.algorithm for d in (image.manifest, image.config, *image.layers)})
    result = [
        Member("oci-layout", data=b'{"imageLayoutVersion":"1.0.0"}'),
        Member("index.json", data=json.dumps(index, separators=(",", ":")).encode()),
        Member("blobs/", directory=True),
        *(Member(f"blobs/{alg}/", directory=True) for alg in algorithms),
        Member(_path(image.manifest), data=image.manifest_bytes),
    ]
    seen = {image.manifest.digest}
    if image.config.digest not in seen:
        seen.add(image.config.digest)
        result.append(Member(_path(image.config), data=image.config_bytes))
    for layer in image.layers:
        if layer.digest not in seen:
            seen.add(layer.digest)
            result.append(Member(_path(layer), blob=layer))
    return result


def _path(desc: media.Descriptor) -> str:
    return f"blobs/{desc.algorithm}/{desc.hex}"
