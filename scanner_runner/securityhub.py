"""Security Hub: import a scan's ASFF findings and archive the ones a rescan no longer finds.

How the previous set is known: `GetFindings` for this account's default product ARN, `Id` prefix
`deployscan/<digest>/` and `RecordState` ACTIVE (re-checked on our side, so an endpoint that
ignores a filter cannot make us archive a finding of another digest). Of those, each finding of a
kind this scan covered (see `asff.covered_kinds`) whose `Id` it did not produce is re-imported
with `RecordState` ARCHIVED. An error report archives nothing. A finding produced again keeps
the previous `FirstObservedAt` and `CreatedAt` (when deployscan first saw it).

`BatchImportFindings` takes at most 100 findings and 6 MB per call; a throttled or failed call is
retried with backoff, and so are findings in `FailedFindings` that may succeed later. What still
failed, and Security Hub not being enabled (`InvalidAccessException`), are warnings: the verdict
and the reports in S3 stand without Security Hub.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from dispatcher.errors import aws_error_code, aws_error_text
from scanner_runner.report import ScanReport
from scanner_runner.writers import asff

BATCH_SIZE = 100
MAX_BATCH_BYTES = 5 * 1024 * 1024  # under the documented 6 MB, leaving room for the envelope
ATTEMPTS = 5
NOT_ENABLED = frozenset({"InvalidAccessException"})
RETRYABLE = frozenset(
    {"ThrottlingException", "TooManyRequestsException", "LimitExceededException",
     "InternalException", "InternalError", "ServiceUnavailable"}
)  # fmt: skip
# Carried over when a finding is archived: what the import needs, nothing Security Hub owns.
_ARCHIVE_KEYS = (
    "SchemaVersion", "Id", "ProductArn", "GeneratorId", "AwsAccountId", "Types", "CreatedAt",
    "Severity", "Title", "Description", "Resources", "Vulnerabilities", "ProductFields",
    "FirstObservedAt", "LastObservedAt", "FindingProviderFields", "SourceUrl", "Remediation",
)  # fmt: skip
_FIRST_SEEN_KEYS = ("FirstObservedAt", "CreatedAt")


@dataclass(frozen=True)
class HubResult:
    """What reached Security Hub, the calls it took, and the warnings to report."""

    imported: int = 0
    archived: int = 0
    calls: int = 0
    warnings: tuple[str, ...] = ()


class NotEnabledError(Exception):
    """Security Hub is not enabled in this account and region."""


def publish_findings(
    client: Any,
    report: ScanReport,
    *,
    account: str,
    region: str,
    now: str,
    sleep: Callable[[float], None] = time.sleep,
) -> HubResult:
    """Import the report's findings and archive stale ones; never raises for an AWS error."""
    current = asff.findings(report, account, region)
    try:
        previous = previous_findings(client, report, account, region)
    except NotEnabledError as exc:
        return HubResult(warnings=(f"Security Hub is not enabled, findings not imported: {exc}",))
    except (ClientError, BotoCoreError) as exc:
        return HubResult(warnings=(f"Security Hub GetFindings failed: {aws_error_text(exc)}",))
    current = carry_first_seen(previous, current)
    stale = archived_copies(previous, current, asff.covered_kinds(report), now)
    imported = BatchImporter(client, sleep).run(current + stale)
    warnings = list(imported.warnings)
    if imported.not_enabled:
        warnings = [f"Security Hub is not enabled, findings not imported: {imported.not_enabled}"]
    failed = set(imported.failed_ids)
    return HubResult(
        imported=sum(1 for f in current if f["Id"] not in failed)
        if not imported.not_enabled
        else 0,
        archived=sum(1 for f in stale if f["Id"] not in failed) if not imported.not_enabled else 0,
        calls=imported.calls,
        warnings=tuple(warnings),
    )


def previous_findings(
    client: Any, report: ScanReport, account: str, region: str
) -> list[dict[str, Any]]:
    """ACTIVE findings of this digest in our product (NotEnabledError when the hub is off)."""
    prefix = asff.id_prefix(asff.digest_of(report))
    product = asff.product_arn(account, region)
    filters = {
        "ProductArn": [{"Value": product, "Comparison": "EQUALS"}],
        "Id": [{"Value": prefix, "Comparison": "PREFIX"}],
        "RecordState": [{"Value": "ACTIVE", "Comparison": "EQUALS"}],
    }
    found: list[dict[str, Any]] = []
    request: dict[str, Any] = {"Filters": filters, "MaxResults": 100}
    while True:
        try:
            page = client.get_findings(**request)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in NOT_ENABLED:
                raise NotEnabledError(aws_error_text(exc)) from exc
            raise
        found += [
            f
            for f in page.get("Findings", [])
            if str(f.get("Id", "")).startswith(prefix)
            and f.get("ProductArn") == product
            and f.get("RecordState", "ACTIVE") == "ACTIVE"
        ]
        token = page.get("NextToken")
        if not token:
            return found
        request["NextToken"] = token


def carry_first_seen(
    previous: list[dict[str, Any]], current: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """`current` with the `FirstObservedAt` and `CreatedAt` of the previous finding of the same
    `Id`: they say when deployscan first saw it, not when it last looked."""
    before = {f["Id"]: f for f in previous}
    out = []
    for finding in current:
        earlier = before.get(finding["Id"], {})
        kept = {k: earlier[k] for k in _FIRST_SEEN_KEYS if isinstance(earlier.get(k), str)}
        out.append(finding | {k: v for k, v in kept.items() if v.strip()})
    return out


def archived_copies(
    previous: list[dict[str, Any]],
    current: list[dict[str, Any]],
    kinds: tuple[str, ...],
    now: str,
) -> list[dict[str, Any]]:
    """ARCHIVED copies of the previous findings of covered kinds this scan did not produce."""
    produced = {f["Id"] for f in current}
    out = []
    for finding in previous:
        rest = finding["Id"].split("/", 3)  # deployscan/<digest>/<kind>/<tail>
        if len(rest) < 4 or rest[2] not in kinds or finding["Id"] in produced:
            continue
        copy = {k: finding[k] for k in _ARCHIVE_KEYS if k in finding}
        copy |= {"UpdatedAt": now, "RecordState": "ARCHIVED"}
        out.append(copy)
    return out


@dataclass
class _Imported:
    calls: int = 0
    failed_ids: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    not_enabled: str = ""


@dataclass
class BatchImporter:
    """`BatchImportFindings` in batches, retrying throttling and retryable partial failures."""

    client: Any
    sleep: Callable[[float], None] = time.sleep
    attempts: int = ATTEMPTS
    base_delay: float = 1.0

    def run(self, findings: list[dict[str, Any]]) -> _Imported:
        """Import everything; what still failed is returned as ids and warnings."""
        result = _Imported()
        failed: list[str] = []
        reasons: Counter[str] = Counter()

        def give_up(reason: str, items: list[dict[str, Any]]) -> None:
            reasons[reason] += len(items)
            failed.extend(str(f.get("Id", "")) for f in items)

        for batch in batches(findings):
            pending = batch
            for attempt in range(self.attempts):
                if attempt:
                    self.sleep(self.base_delay * 2 ** (attempt - 1))
                result.calls += 1
                try:
                    answer = self.client.batch_import_findings(Findings=pending)
                except (ClientError, BotoCoreError) as exc:
                    code = aws_error_code(exc)
                    if code in NOT_ENABLED:
                        result.not_enabled = aws_error_text(exc)
                        return result
                    if code in RETRYABLE and attempt + 1 < self.attempts:
                        continue
                    give_up(aws_error_text(exc), pending)
                    break
                retry, final = _split_failures(answer.get("FailedFindings", []))
                for item in final:
                    give_up(f"{item.get('ErrorCode', '?')}: {item.get('ErrorMessage', '')}".strip(),
                            [item])  # fmt: skip
                if not retry:
                    break
                by_id = {f["Id"]: f for f in pending}
                pending = [by_id[i] for i in retry if i in by_id]
                if attempt + 1 == self.attempts:
                    give_up("still failing after retries", pending)
        result.failed_ids = tuple(failed)
        result.warnings = tuple(
            f"Security Hub rejected {count} finding(s): {reason[:300]}"
            for reason, count in reasons.items()
        )
        return result


def batches(findings: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """Runs of at most BATCH_SIZE findings and about MAX_BATCH_BYTES of JSON each."""
    batch: list[dict[str, Any]] = []
    size = 0
    for finding in findings:
        length = len(json.dumps(finding, ensure_ascii=False).encode())
        if batch and (len(batch) == BATCH_SIZE or size + length > MAX_BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(finding)
        size += length
    if batch:
        yield batch


def _split_failures(items: list[dict[str, Any]]) -> tuple[list[str], list[dict[str, Any]]]:
    retry = [str(i.get("Id", "")) for i in items if i.get("ErrorCode") in RETRYABLE]
    final = [i for i in items if i.get("ErrorCode") not in RETRYABLE]
    return retry, final
