"""ASFF `Resources[]`: what a finding is about (an ECR image or a container and its workload; a
zip function or layer version), plus the text bound every ASFF string goes through."""

from __future__ import annotations

import functools
import re
from typing import Any

from dispatcher.aws import partition
from dispatcher.buildvars import KIND_LAMBDA_LAYER
from scanner_runner.report import LambdaInfo, ScanReport
from scanner_runner.workloads import workload_kind
from scanner_runner.writers.interface import clean_text, one_line

MAX_ID = 512  # the botocore `securityhub` model's limit on an Id
MAX_RESOURCES = 32  # the model's ResourceList: "Maximum number of 32 items"
_ECR_HOST = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$"
)
_ARCHITECTURES = {"amd64": "x86_64", "arm64": "arm64", "386": "i386"}


def digest_of(report: ScanReport) -> str:
    """The digest findings are keyed by (the manifest digest, else the image id)."""
    return report.image.identity or "unknown-digest"


def resources_of(report: ScanReport) -> tuple[list[dict[str, Any]], int]:
    """The image (ECR image or container) and the workload the trigger names, when known (zip
    code: the function or layer version itself), then the workloads the in-use index knows; and
    how many of the index's workloads (`report.workloads`) the limit of
    MAX_RESOURCES left out. A workload already listed (the trigger's, or the scanned function:
    the same function with or without a version) is not listed again."""
    if report.lambda_code is not None:
        resources = [code_resource(report.lambda_code)]
    else:
        resources = [_image_resource(report)]
        workload = _workload(report.trigger.resource_arn)
        if workload:
            resources.append(workload)
    listed = {_unqualified(r) for r in resources}
    left_out = 0
    for arn in report.workloads:
        workload = _workload(arn)
        if workload is None or _unqualified(workload) in listed:
            continue
        if len(resources) < MAX_RESOURCES:
            listed.add(_unqualified(workload))
            resources.append(workload)
        else:
            left_out += 1
    return resources, left_out


def _unqualified(resource: dict[str, Any]) -> str:
    """A resource's Id, a function's without its version or alias (`…:function:<name>`)."""
    arn = str(resource["Id"])
    return ":".join(arn.split(":")[:7]) if resource["Type"] == "AwsLambdaFunction" else arn


def _image_resource(report: ScanReport) -> dict[str, Any]:
    image = report.image
    digest = digest_of(report)
    ecr = _ECR_HOST.match(image.registry)
    if ecr and image.repository:
        region = ecr["region"]
        details: dict[str, Any] = {
            "RegistryId": ecr["account"],
            "RepositoryName": image.repository,
            "ImageDigest": digest,
        }
        if image.tag:
            details["ImageTags"] = [image.tag]
        arch = _ARCHITECTURES.get(image.platform.partition("/")[2].partition("/")[0])
        if arch:
            details["Architecture"] = arch
        arn = f"arn:{partition(region)}:ecr:{region}:{ecr['account']}"
        return {
            "Type": "AwsEcrContainerImage",
            "Id": f"{arn}:repository/{image.repository}/{digest}",
            "Partition": partition(region),
            "Region": region,
            "Details": {"AwsEcrContainerImage": details},
        }
    name = f"{image.registry}/{image.repository}" if image.repository else image.ref
    container = {"Name": text(name, 1024), "ImageName": text(image.ref, 1024)}
    container["ImageId"] = digest
    return {
        "Type": "Container",
        "Id": text(f"{name}@{digest}", MAX_ID),
        "Details": {"Container": container},
    }


def code_resource(code: LambdaInfo) -> dict[str, Any]:
    """A zip function as `AwsLambdaFunction` (with its code hash and layers), a layer version as
    `AwsLambdaLayerVersion` (the model has no hash field there: ProductFields carry it)."""
    parts = code.arn.split(":")  # validated: arn:<partition>:lambda:<region>:<account>:<kind>:…
    resource: dict[str, Any] = {"Type": "AwsLambdaFunction", "Id": code.arn[:MAX_ID]}
    resource |= {"Partition": parts[1], "Region": parts[3]} if len(parts) > 3 else {}
    runtimes = [r.strip() for r in code.runtime.split(",") if r.strip()]
    if code.kind == KIND_LAMBDA_LAYER:
        layer: dict[str, Any] = {}
        number = parts[-1] if len(parts) >= 8 else code.version
        if number.isdigit():
            layer["Version"] = int(number)
        if runtimes:
            layer["CompatibleRuntimes"] = runtimes
        resource["Type"] = "AwsLambdaLayerVersion"
        return resource | ({"Details": {"AwsLambdaLayerVersion": layer}} if layer else {})
    details: dict[str, Any] = {"PackageType": "Zip"}
    if len(parts) >= 7 and parts[6]:
        details["FunctionName"] = parts[6]
    fields = (("CodeSha256", code.code_sha256), ("Version", code.version))
    details |= {key: value for key, value in fields if value.strip()}
    if runtimes:
        details["Runtime"] = runtimes[0]
    if code.layers:
        details["Layers"] = [{"Arn": arn} for arn in code.layers]
    return resource | {"Details": {"AwsLambdaFunction": details}}


def _workload(arn: str) -> dict[str, Any] | None:
    parts = arn.split(":")
    if not arn.startswith("arn:") or len(parts) < 6:
        return None
    kind = (workload_kind(arn) or ("", ""))[0]
    if not kind:
        return None
    resource: dict[str, Any] = {"Type": kind, "Id": arn[:MAX_ID], "Partition": parts[1]}
    if parts[3]:
        resource["Region"] = parts[3]
    if kind == "AwsLambdaFunction" and len(parts) >= 7 and parts[6]:
        resource["Details"] = {"AwsLambdaFunction": {"FunctionName": parts[6]}}
    return resource


def bounded(value: str, limit: int) -> str:
    """One line, at most `limit` characters, never blank (the model's `.*\\S.*`)."""
    # Fast path, same result as one_line: whitespace folded, then nothing left to drop.
    folded = " ".join(value.split())
    out = clean_text(folded if folded.isprintable() else one_line(value), limit)
    return out if out.strip() else "-"


# Package names, versions and CVE ids repeat across findings; titles do not (they use `bounded`).
text = functools.lru_cache(maxsize=65536)(bounded)
