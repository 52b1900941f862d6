"""The demo's deploy gate: two ECS service deployments answered by the real ECS lifecycle-hook
adapter (`dispatcher.gate.ecs_hook.answer`) in enforce mode, against the emulated AWS.

moto has no `ecs:DescribeServiceRevisions`, so a botocore Stubber answers it, asserting the exact
request; everything else is real: the scan cache in moto's DynamoDB, the verdict core, a missing
scan started through the dispatcher's lease on the local build executor. ECS asks twice, as it
does: the first answer is IN_PROGRESS (scans running), the second, after the builds, final.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.stub import Stubber

from dispatcher.gate import ecs_hook
from dispatcher.gate.core import Starter
from dispatcher.gate.runtime import AllowList, HookRuntime
from dispatcher.gate.settings import ENFORCE, GateSettings
from dispatcher.launch import Launcher
from dispatcher.scancache.gatereads import GateCacheTable
from dispatcher.settings import Settings
from scanner_runner.devtools.demo.images import SampleImage
from scanner_runner.devtools.demo.motoserver import ACCOUNT
from scanner_runner.devtools.demo.summary import Row

REGION = "us-east-1"
TRIGGER = "gate:ecs-hook"
ANY_FINAL = "SUCCEEDED or FAILED"


@dataclass(frozen=True)
class Deployment:
    """One ECS service deployment the gate is asked about, and what it should answer."""

    service: str
    sample: SampleImage
    expect: str  # SUCCEEDED | FAILED | ANY_FINAL

    @property
    def revision_arn(self) -> str:
        """The service revision ECS names in the hook payload."""
        return f"arn:aws:ecs:{REGION}:{ACCOUNT}:service-revision/shop/{self.service}/1001"


class DemoSession:
    """The hook's session: ECS under the Stubber, every other client from the emulator."""

    def __init__(self, session: Any, ecs: Any) -> None:
        self._session, self._ecs = session, ecs

    def client(self, service: str, region_name: str | None = None, **_: Any) -> Any:
        """The stubbed ECS client, or the emulator's client for `service`."""
        return self._ecs if service == "ecs" else self._session.client(service)


def payload(deploy: Deployment, hook_details: dict[str, Any]) -> dict[str, Any]:
    """The invocation ECS sends at PRE_SCALE_UP (AWS docs' shape, our own values)."""
    return {
        "executionId": f"demo-{deploy.service}",
        "lifecycleStage": "PRE_SCALE_UP",
        "resourceArn": deploy.revision_arn.replace("service-revision", "service-deployment"),
        "executionDetails": {
            "serviceArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/shop/{deploy.service}",
            "targetServiceRevisionArn": deploy.revision_arn,
            "testTrafficWeights": {},
            "productionTrafficWeights": {},
        },
        "hookDetails": hook_details,
    }


def _stubbed_ecs(session: Any, host: str, deploys: Sequence[Deployment], rounds: int) -> Any:
    """An ECS client answering DescribeServiceRevisions for each deployment, `rounds` times."""
    client = session.client("ecs", region_name=REGION)
    stub = Stubber(client)
    for _ in range(rounds):
        for deploy in deploys:
            image = f"{host}/{deploy.sample.repository}:{deploy.sample.tag}"
            container = {
                "containerName": "app",
                "image": image,
                "imageDigest": deploy.sample.digest,
            }
            revision = {"serviceRevisionArn": deploy.revision_arn, "containerImages": [container]}
            stub.add_response(
                "describe_service_revisions",
                {"serviceRevisions": [revision], "failures": []},
                {"serviceRevisionArns": [deploy.revision_arn]},
            )
    stub.activate()
    return client


class GateStep:
    """Asks the ECS hook about each deployment, before and after the builds."""

    def __init__(
        self,
        deploys: Sequence[Deployment],
        *,
        host: str,
        session: Any,
        settings: Settings,
        launcher: Launcher,
        scanner: str,
    ) -> None:
        self.deploys = tuple(deploys)
        self.run = HookRuntime(
            gate=GateSettings(mode=ENFORCE, scanner=scanner),
            cache=GateCacheTable(session.client("dynamodb"), settings.cache_table),
            starter=Starter(settings, launcher),
            session=DemoSession(session, _stubbed_ecs(session, host, self.deploys, rounds=2)),
            allow_list=AllowList("", lambda _: ()),
            home_account=ACCOUNT,
            clock=time.time,
        )
        self.details: dict[str, dict[str, Any]] = {d.service: {} for d in self.deploys}

    def ask(self, echo: Callable[[str], None]) -> list[dict[str, Any]]:
        """One round of hook invocations; ECS hands back the hookDetails each answer returned."""
        answers = []
        for deploy in self.deploys:
            answer = ecs_hook.answer(payload(deploy, self.details[deploy.service]), self.run)
            self.details[deploy.service] = {**self.details[deploy.service], **answer["hookDetails"]}
            status, lines = answer["hookStatus"], answer["reason"].splitlines()
            detail = lines[1].split(" - ", 1)[-1].split(" report: ")[0] if len(lines) > 1 else ""
            echo(f"gate (ECS hook, enforce): service {deploy.service} -> {status}: {detail[:160]}")
            answers.append(answer)
        return answers


def gate_deployments(built: dict[str, SampleImage], scanner: str) -> list[Deployment]:
    """The clean service (its scan passes with syft; QScanner judges it by its findings) and
    the one carrying the backdoored xz, which the deny list fails whatever the scanner."""
    clean = "SUCCEEDED" if scanner == "syft" else ANY_FINAL
    return [
        Deployment("checkout", built["shop/checkout-api"], clean),
        Deployment("payments", built["shop/payments"], "FAILED"),
    ]


def gate_rows(deploys: Sequence[Deployment], answers: Sequence[dict[str, Any]]) -> list[Row]:
    """Summary rows: each deployment's final answer; a wrong answer fails the demo."""
    found = []
    for deploy, answer in zip(deploys, answers, strict=True):
        status = answer["hookStatus"]
        why = _why(answer["reason"])
        ok = status == deploy.expect or (deploy.expect == ANY_FINAL and status != "IN_PROGRESS")
        found.append(
            Row(
                image=f"{deploy.sample.repository}:{deploy.sample.tag}",
                trigger=TRIGGER,
                digest=deploy.sample.digest[:19],
                verdict=_verdict(status, why) if ok else f"deploy {status} (wrong)",
                counts="",
                report_uri=_report(answer["reason"]),
                status="passed" if status == "SUCCEEDED" and ok else "failed" if ok else "error",
                reason=why if ok else f"the gate answered {status}: {why}",
            )
        )
    return found


def _verdict(status: str, why: str) -> str:
    return f"deploy {status}" if status == "SUCCEEDED" else f"deploy {status}: {why[:72]}"


def _why(message: str) -> str:
    """The first image's reason from the hook's message, without the report link."""
    lines = message.splitlines()
    line = lines[1] if len(lines) > 1 else lines[0]
    reason = line.split(" - ", 1)[-1].split(" report: ", 1)[0]
    return reason[reason.index("deny list:") :] if "deny list:" in reason else reason


def _report(message: str) -> str:
    marker = " report: "
    for line in message.splitlines():
        if marker in line:
            return line.rsplit(marker, 1)[1]
    return ""
