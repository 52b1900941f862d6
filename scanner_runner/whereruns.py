"""Where a scanned digest runs, read from the sweep's in-use index at publish time.

Best effort: the report is complete without it, so a table that cannot be read only leaves the
line out (and says so in the log).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from dispatcher.errors import DeployscanError
from dispatcher.scancache import CODE_KEY_PREFIX, ScanCacheTable
from dispatcher.sweep.status import rows
from scanner_runner import publish as publishing
from scanner_runner.report import ScanReport
from scanner_runner.workloads import workload_arns

log = logging.getLogger(__name__)


def with_where(
    report: ScanReport,
    targets: publishing.Targets,
    clients: publishing.Clients | None,
    now: datetime,
    session: Any = None,
) -> ScanReport:
    """`report` with `where` ("runs in 3 services (7 tasks) in 2 accounts, 1 region") and the
    `workloads` (service and function ARNs) when the scan cache is configured and the index
    knows the digest; else `report` unchanged."""
    digest = report.image.digest
    if not (targets.table and digest):
        return report
    # Zip code is indexed under its code key (`code#sha256:<hex>`), an image under its digest.
    indexed = CODE_KEY_PREFIX + digest if report.lambda_code is not None else digest
    try:
        client = (clients or publishing.make_clients(targets, session)).dynamodb
        entries = ScanCacheTable(client, targets.table).in_use(now.timestamp(), indexed)
    except DeployscanError as exc:
        log.warning("where %s runs is unknown: %s", digest, exc)
        return report
    found = rows(entries, {})
    text = found[0].where() if found else ""
    changes = {"where": text, "workloads": workload_arns(entries)}
    changes = {k: v for k, v in changes.items() if v}
    return report.with_(**changes) if changes else report
