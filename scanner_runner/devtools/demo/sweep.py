"""The demo's sweep step: workloads already running before any deploy event are found and scanned.

Before the deploy events: two tasks of a service and an image function are started in the emulated
AWS (moto server), images pushed to the local registry; `run_sweep` lists them, records the
in-use index and starts the scans of what was never scanned. After the builds: `deployscan
status`'s table, and the posture page written beside the demo's HTML reports.

moto leaves out what the sweep reads from real AWS: the ECS agent's `imageDigest` on running
containers and Lambda's digest-pinned `ResolvedImageUri`. `DemoUnits` adds both, from the
registry's own digests, as ECS and Lambda report them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from dispatcher import model as m
from dispatcher.resolve import Resolver
from dispatcher.scancache import ScanCacheTable
from dispatcher.settings import Settings
from dispatcher.sweep import posture
from dispatcher.sweep.messages import Unit
from dispatcher.sweep.run import run_sweep
from dispatcher.sweep.status import read_rows
from scanner_runner.cli.status import render_table
from scanner_runner.devtools import imagebuild
from scanner_runner.devtools.demo.images import debian_image, python_dist
from scanner_runner.devtools.demo.motoserver import ACCOUNT, MotoServer
from scanner_runner.devtools.demo.summary import Row

Echo = Callable[[str], None]
REGION = "us-east-1"  # the demo's region (motoserver, events)
SERVICE = ("legacy/billing", "4.2")
FUNCTION = ("legacy/nightly-report", "1")


class DemoUnits:
    """`UnitClients` over the moto server, adding what moto leaves out (see the module doc)."""

    def __init__(self, moto: MotoServer, digests: dict[str, str]) -> None:
        self._moto, self._digests = moto, digests  # image reference -> registry digest

    def clients(self, unit: Unit) -> tuple[Any, Any]:
        """(ecs, lambda) of the emulated account."""
        return EcsWithDigests(self._moto.client("ecs"), self._digests), _Lambda(
            self._moto.client("lambda"), self._digests
        )


class EcsWithDigests:
    """A moto ECS client whose DescribeTasks containers carry `imageDigest` (moto sets none),
    taken from `digests` (image -> digest), as the ECS agent reports it for running tasks."""

    def __init__(self, ecs: Any, digests: Mapping[str, str]) -> None:
        self.list_clusters, self.list_tasks = ecs.list_clusters, ecs.list_tasks
        self._ecs, self._digests = ecs, digests

    def describe_tasks(self, **request: Any) -> Any:
        """moto's answer, each container with the digest of its image when known."""
        answer = self._ecs.describe_tasks(**request)
        for task in answer.get("tasks", []):
            for container in task.get("containers", []):
                digest = self._digests.get(container.get("image"))
                if digest:
                    container["imageDigest"] = digest
        return answer


class _Lambda:
    def __init__(self, lam: Any, digests: dict[str, str]) -> None:
        self.list_functions, self._lambda, self._digests = lam.list_functions, lam, digests

    def get_layer_version_by_arn(self, **request: Any) -> Any:
        """moto lacks GetLayerVersionByArn: the same answer from its GetLayerVersion."""
        *_, name, number = str(request["Arn"]).split(":")
        return self._lambda.get_layer_version(LayerName=name, VersionNumber=int(number))

    def get_function(self, **request: Any) -> Any:
        answer = self._lambda.get_function(**request)
        code = answer.get("Code", {})
        image = code.get("ImageUri", "")
        if image in self._digests:  # the repository pinned to the digest, as Lambda answers
            code["ResolvedImageUri"] = f"{image.rpartition(':')[0]}@{self._digests[image]}"
        return answer


def start_workloads(moto: MotoServer, registry: Any, echo: Echo, *, quick: bool) -> DemoUnits:
    """Push two images and start what runs before any deploy event: two ECS tasks of a service
    and an image function (`quick`: running the service's image, so one build shows both)."""
    pusher = imagebuild.Pusher(registry.url)
    service = debian_image({"srv/billing/app.py": b"print('billing')\n",
                            **python_dist("urllib3", "1.26.5")})  # fmt: skip
    function = debian_image({"var/task/report.py": b"def handler(e, c):\n    return 1\n"})
    digests = {}
    pushed = ((SERVICE, service),) if quick else ((SERVICE, service), (FUNCTION, function))
    for (repository, tag), image in pushed:
        pusher.push_image(repository, image, tag)
        digests[f"{registry.host}/{repository}:{tag}"] = image.digest
    billing, report = (f"{registry.host}/{r}:{t}" for r, t in (SERVICE, FUNCTION))
    report = billing if quick else report
    ecs = moto.client("ecs")
    ecs.create_cluster(clusterName="legacy")
    ecs.register_task_definition(family="billing", containerDefinitions=[
        {"name": "billing", "image": billing, "memory": 256}])  # fmt: skip
    ecs.run_task(cluster="legacy", taskDefinition="billing", count=2, launchType="FARGATE",
                 group="service:billing")  # fmt: skip
    iam = moto.client("iam")
    role = iam.create_role(RoleName="nightly-report", AssumeRolePolicyDocument="{}")["Role"]
    moto.client("lambda").create_function(
        FunctionName="nightly-report",
        Role=role["Arn"],
        PackageType="Image",
        Code={"ImageUri": report},
    )
    echo("already running before any deploy event: 2 ECS tasks of legacy/billing:4.2, Lambda "
         f"function nightly-report ({report.split('/', 1)[1]})")  # fmt: skip
    return DemoUnits(moto, digests)


def sweep(
    units: DemoUnits,
    settings: Settings,
    cache: ScanCacheTable,
    *,
    resolver: Resolver,
    launcher: Any,
    echo: Echo,
) -> list[m.Result]:
    """What `deployscan sweep` does: list, record the index, start the scans; the outcomes."""
    swept = run_sweep([Unit(ACCOUNT, REGION)], replace(settings, region=REGION), units, cache,
                      resolver=resolver, launcher=launcher)  # fmt: skip
    for line in swept.lines:
        where = ", ".join(p.name for p in line.where)
        echo(f"sweep: {line.image} -> {line.action} ({line.reason}); runs in {where}")
    return list(swept.outcomes)


def after_builds(cache: ScanCacheTable, rows: Iterable[Row], reports_dir: Path, echo: Echo) -> Path:
    """Print `deployscan status` and write the posture page beside the HTML reports."""
    now = time.time()
    running = read_rows(cache, now)
    echo("$ deployscan status")
    for line in render_table(running, now).splitlines():
        echo(line)
    local = {r.report_uri: r.html for r in rows if r.report_uri and r.html}

    def link(uri: str) -> str | None:
        html = local.get(uri)
        return str(html.relative_to(reports_dir)) if html else uri or None

    posture.write_dir(reports_dir, posture.document(running, now, link))
    page = reports_dir / posture.HTML_NAME
    echo(f"posture page: file://{page.resolve()}")
    return page
