"""The dispatcher's settings: read once from the environment into a frozen object.

Nothing below the edges reads `os.environ`; the handler and the CLI call `Settings.from_env`.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, field

from dispatcher.buildvars import COMPUTE_TIERS, TIER_LAMBDA
from dispatcher.errors import SettingsError
from dispatcher.sweep.scope import SweepSettings
from dispatcher.tiers import DEFAULT_LAMBDA_MAX_IMAGE_MIB, MIB, TierPolicy

DEFAULT_CACHE_TTL_HOURS = 24
# Above the longest scan build the stack allows (480 min) plus its queue timeout (60 min), so a
# live build keeps its lease; cfn/scanner.yaml's LeaseMinutes default is the same (a test checks).
DEFAULT_LEASE_MINUTES = 600
# How long a record that could not be launched yet keeps waiting (cfn/scanner.yaml MaxWaitHours
# has the same default; the queue's retention is above the parameter's maximum).
DEFAULT_MAX_WAIT_HOURS = 24
SWEEP_TRIGGER = "sweep"  # the trigger of builds the sweep starts (dispatcher/routes.py)
LOG_LEVELS = frozenset({"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"})


def _patterns(value: str | None) -> tuple[str, ...]:
    return tuple(p.strip() for p in (value or "").split(",") if p.strip())


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be a whole number, not {raw[:40]!r}") from exc
    if value <= 0:
        raise SettingsError(f"{name} must be positive, not {value}")
    return value


@dataclass(frozen=True)
class Filters:
    """Optional include/exclude fnmatch patterns; an empty include list includes everything."""

    include_repositories: tuple[str, ...] = ()
    exclude_repositories: tuple[str, ...] = ()
    include_clusters: tuple[str, ...] = ()
    exclude_clusters: tuple[str, ...] = ()
    include_functions: tuple[str, ...] = ()
    exclude_functions: tuple[str, ...] = ()

    def repository_allowed(self, name: str, repository: str) -> bool:
        """Match `registry/repository` and the bare repository path against the patterns."""
        return _allowed((name, repository), self.include_repositories, self.exclude_repositories)

    def cluster_allowed(self, cluster: str | None) -> bool:
        """Match a cluster by name and by ARN; unknown clusters pass the exclude list."""
        if cluster is None:
            return not self.include_clusters
        short = cluster.rsplit("/", 1)[-1]
        return _allowed((short, cluster), self.include_clusters, self.exclude_clusters)

    def function_allowed(self, function: str) -> bool:
        """Match a Lambda function by name and by ARN."""
        name = function.split(":function:", 1)[-1].split(":", 1)[0]
        return _allowed((name, function), self.include_functions, self.exclude_functions)


def _allowed(values: tuple[str, ...], include: tuple[str, ...], exclude: tuple[str, ...]) -> bool:
    def hit(patterns: tuple[str, ...]) -> bool:
        return any(fnmatch.fnmatchcase(v, p) for v in values for p in patterns)

    return (not include or hit(include)) and not hit(exclude)


@dataclass(frozen=True)
class Settings:
    """Everything the dispatcher is configured with."""

    project_name: str = ""
    cache_table: str = ""
    cache_ttl_hours: int = DEFAULT_CACHE_TTL_HOURS
    cross_account_role_name: str | None = None
    lease_minutes: int = DEFAULT_LEASE_MINUTES
    filters: Filters = Filters()
    log_level: str = "INFO"
    max_wait_hours: int = DEFAULT_MAX_WAIT_HOURS
    dead_letter_queue_url: str | None = None
    lambda_project_name: str = ""  # the Lambda-compute scan project; empty: none in this stack
    default_compute_tier: str = TIER_LAMBDA
    lambda_max_image_mib: int = DEFAULT_LAMBDA_MAX_IMAGE_MIB
    vpc_registries: tuple[str, ...] = ()
    region: str | None = None  # where the builds run: the dispatcher's own region
    sweep: SweepSettings = field(default_factory=SweepSettings)

    @property
    def tiers(self) -> TierPolicy:
        """The compute tiers this stack offers and the rules that choose between them."""
        return TierPolicy(
            ec2_project=self.project_name,
            lambda_project=self.lambda_project_name,
            default=self.default_compute_tier,
            region=self.region,
            max_lambda_bytes=self.lambda_max_image_mib * MIB,
            vpc_registries=self.vpc_registries,
        )

    @property
    def lease_seconds(self) -> int:
        """How long an in-flight lease blocks other launches of the same image."""
        return self.lease_minutes * 60

    def max_scan_age(self, trigger: str) -> int:
        """Seconds a completed scan keeps a new one from being leased: the sweep's re-scans
        also take a scan older than its rescan age (docs/sweep.md)."""
        ttl = self.cache_ttl_hours * 3600
        return min(ttl, self.sweep.rescan_after_seconds) if trigger == SWEEP_TRIGGER else ttl

    @property
    def max_wait_seconds(self) -> int:
        """How long an SQS message that could not be launched yet is retried."""
        return self.max_wait_hours * 3600

    @classmethod
    def from_env(cls, env: Mapping[str, str], *, require_execution: bool = True) -> Settings:
        """Read the settings; with `require_execution` the project and table must be set."""
        project, table = env.get("SCAN_PROJECT_NAME", "").strip(), env.get("SCAN_CACHE_TABLE", "")
        if require_execution and not (project and table.strip()):
            raise SettingsError("SCAN_PROJECT_NAME and SCAN_CACHE_TABLE must be set")
        level = env.get("LOG_LEVEL", "INFO").strip().upper() or "INFO"
        if level not in LOG_LEVELS:
            raise SettingsError(f"LOG_LEVEL must be one of {sorted(LOG_LEVELS)}")
        tier = env.get("DEFAULT_COMPUTE_TIER", "").strip() or TIER_LAMBDA
        if tier not in COMPUTE_TIERS:
            raise SettingsError(f"DEFAULT_COMPUTE_TIER must be one of {', '.join(COMPUTE_TIERS)}")
        filters = Filters(
            **{
                f"{kind}_{what}": _patterns(env.get(f"{kind.upper()}_{what.upper()}"))
                for kind in ("include", "exclude")
                for what in ("repositories", "clusters", "functions")
            }
        )
        return cls(
            project_name=project,
            cache_table=table.strip(),
            cache_ttl_hours=_positive_int(env, "CACHE_TTL_HOURS", DEFAULT_CACHE_TTL_HOURS),
            cross_account_role_name=env.get("CROSS_ACCOUNT_ROLE_NAME", "").strip() or None,
            lease_minutes=_positive_int(env, "LEASE_MINUTES", DEFAULT_LEASE_MINUTES),
            filters=filters,
            log_level=level,
            max_wait_hours=_positive_int(env, "MAX_WAIT_HOURS", DEFAULT_MAX_WAIT_HOURS),
            dead_letter_queue_url=env.get("DEAD_LETTER_QUEUE_URL", "").strip() or None,
            lambda_project_name=env.get("LAMBDA_PROJECT_NAME", "").strip(),
            default_compute_tier=tier,
            lambda_max_image_mib=_positive_int(
                env, "LAMBDA_MAX_IMAGE_MIB", DEFAULT_LAMBDA_MAX_IMAGE_MIB
            ),
            vpc_registries=_patterns(env.get("VPC_REGISTRIES")),
            # Set by the Lambda runtime (a function may not set it); unknown on the command line
            # unless exported, and then the region rule is left out.
            region=env.get("AWS_REGION", "").strip() or None,
            sweep=SweepSettings.from_env(env),
        )
