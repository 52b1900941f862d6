"""The variables of the deploy targets: typed access and the checks made before any AWS call.

`check(target, env)` fails with a one-line `DeployError` naming the variable to set; it never
calls AWS, so `make deploy…` fails early and cheaply. Stdlib only.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from pathlib import Path

from awsrun import DeployError

# Run as `python3 scripts/deploy.py`, before any venv: the contract's grammars come from the
# dispatcher package beside scripts/ (stdlib only), so a region or account means one thing.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from dispatcher.buildvars import ACCOUNT_RE, REGION_RE

ORG_RE = re.compile(r"^o-[a-z0-9]{10,32}$")
OU_RE = re.compile(r"^(ou-[a-z0-9]{4,32}-[a-z0-9]{8,32}|r-[a-z0-9]{4,32})$")
BUS_ARN_RE = re.compile(r"^arn:aws[a-z-]*:events:[a-z0-9-]+:[0-9]{12}:event-bus/[A-Za-z0-9._-]+$")
SHA256_RE = re.compile(r"^[a-f0-9]{64}$")
PODS = ("US1", "US2", "US3", "US4", "EU1", "EU2", "EU3", "IN1", "CA1", "AE1", "UK1", "AU1", "KSA1")


class Env:
    """Typed, validated access to the deploy variables."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ

    def get(self, name: str, default: str = "") -> str:
        """A variable's value, stripped, or default."""
        return self.environ.get(name, "").strip() or default

    def need(self, *names: str, hint: str = "") -> None:
        """Fail when any of the variables is unset."""
        missing = [n for n in names if not self.get(n)]
        if missing:
            raise DeployError(f"set {', '.join(missing)}{hint}")

    def match(self, name: str, pattern: re.Pattern[str], what: str) -> str:
        """The variable's value, checked against pattern."""
        value = self.get(name)
        if value and not pattern.match(value):
            raise DeployError(f"{name}={value!r} is not {what}")
        return value

    @property
    def region(self) -> str:
        """The primary region: PRIMARY_REGION, else AWS_REGION, else AWS_DEFAULT_REGION."""
        for name in ("PRIMARY_REGION", "AWS_REGION", "AWS_DEFAULT_REGION"):
            if self.get(name):
                return self.match(name, REGION_RE, "an AWS region")
        raise DeployError("set PRIMARY_REGION (or AWS_REGION) to the region of the scanner stack")

    def regions(self, name: str) -> list[str]:
        """A comma-separated list of regions."""
        values = [r.strip() for r in self.get(name).split(",") if r.strip()]
        for value in values:
            if not REGION_RE.match(value):
                raise DeployError(f"{name}: {value!r} is not an AWS region")
        return values

    @property
    def stack(self) -> str:
        """Name of the scanner stack."""
        return self.get("STACK_NAME", "deployscan")

    @property
    def project(self) -> str:
        """ProjectName parameter of the scanner stack."""
        return self.get("PROJECT_NAME", "deployscan")


def check(target: str, env: Env) -> None:
    """Validate every variable the target needs; no AWS call is made here."""
    region = env.region
    if target in ("deploy", "deploy-hub"):
        env.need("QUALYS_POD", hint=" (your Qualys platform pod, e.g. QUALYS_POD=US2)")
        if env.get("QUALYS_POD") not in PODS:
            raise DeployError(f"QUALYS_POD must be one of {', '.join(PODS)}")
        if not env.get("QSCANNER_FILE"):
            env.need("QSCANNER_URL", "QSCANNER_SHA256", hint=" (or QSCANNER_FILE=path/to/qscanner)")
            env.match("QSCANNER_SHA256", SHA256_RE, "a sha256 (64 lower-case hex digits)")
        if env.get("QUALYS_API_TOKEN") and env.get("QUALYS_SECRET_ARN"):
            raise DeployError("give QUALYS_API_TOKEN or QUALYS_SECRET_ARN, not both")
    if target == "deploy-hub":
        env.need("OrganizationId", hint=" (e.g. OrganizationId=o-abc123defg)")
        env.match("OrganizationId", ORG_RE, "an organization id (o-…)")
    if target == "deploy-region":
        env.need("REGION", hint=" (the extra regions, e.g. REGION=us-west-2,eu-west-1)")
        if region in env.regions("REGION"):
            raise DeployError(f"REGION must not include the primary region {region}")
        env.match("TARGET_EVENT_BUS_ARN", BUS_ARN_RE, "an event bus ARN")
    if target == "deploy-spoke-stackset":
        env.need("OrganizationId", "OrgUnitIds", "SecurityAccountId", "CentralEventBusArn")
        env.match("OrganizationId", ORG_RE, "an organization id (o-…)")
        env.match("SecurityAccountId", ACCOUNT_RE, "a 12-digit account id")
        env.match("CentralEventBusArn", BUS_ARN_RE, "an event bus ARN")
        for ou in env.get("OrgUnitIds").split(","):
            if not OU_RE.match(ou.strip()):
                raise DeployError(f"OrgUnitIds: {ou.strip()!r} is not an OU or root id")
        env.regions("SPOKE_REGIONS")
    if target == "destroy" and env.get("CONFIRM") != env.stack:
        raise DeployError(f"destroy deletes stack {env.stack}: confirm with CONFIRM={env.stack}")
