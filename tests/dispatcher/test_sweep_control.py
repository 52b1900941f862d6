"""The sweep through the dispatcher Lambda's batch path: a requested sweep fans out per
account-region, a unit queues its images as `Sweep Image` messages, which the normal path
builds; the posture message writes the page; status rows are sorted by risk."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from dispatcher.batch import handle_batch
from dispatcher.requeue import SqsQueue
from dispatcher.scancache import ScanCacheTable, Verdict, digest_key
from dispatcher.scanitems import InUseEntry, LastScan, Place
from dispatcher.sweep import posture
from dispatcher.sweep.control import Sweeper
from dispatcher.sweep.messages import SWEEP_REQUESTED, SWEEP_SOURCE, message
from dispatcher.sweep.scope import SweepSettings
from dispatcher.sweep.status import rows
from tests.dispatcher.conftest import RecordingLauncher, settings, sqs_record
from tests.dispatcher.fakes import FakeResolver
from tests.dispatcher.sweepfakes import HOME, MEMBER, REGION, MotoUnits, run_tasks

NOW = 1_800_000_000.0
WEB, D_WEB = "registry.example.com/shop/web:1.4", "sha256:" + "a1" * 32


@pytest.fixture
def queue(aws: None) -> tuple[Any, str]:
    sqs = boto3.client("sqs", region_name=REGION)
    return sqs, sqs.create_queue(QueueName="deployscan-events")["QueueUrl"]


def _drain(sqs: Any, url: str) -> list[dict[str, Any]]:
    bodies: list[dict[str, Any]] = []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            return bodies
        for item in got:
            bodies.append(json.loads(item["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=item["ReceiptHandle"])


def _batch(bodies: list[dict[str, Any]], run: dict[str, Any]) -> dict[str, Any]:
    batch = {"Records": [sqs_record(b, f"m{i}", sent_at=NOW) for i, b in enumerate(bodies)]}
    return handle_batch(batch, run["settings"], FakeResolver(), cache=run["cache"],
                        launcher=run["launcher"], queue=SqsQueue(run["sqs"]),
                        clock=lambda: NOW, sweeper=run["sweeper"])  # fmt: skip


def test_a_requested_sweep_runs_unit_by_unit_through_the_queue(
    queue: tuple[Any, str], cache: ScanCacheTable
) -> None:
    sqs, url = queue
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="reports", CreateBucketConfiguration={"LocationConstraint": REGION})
    run_tasks(HOME, "prod", "service:web", WEB, 2)
    run_tasks(MEMBER, "prod", "service:web", WEB, 1)
    scope = SweepSettings(accounts=(MEMBER,), regions=(REGION,), queue_url=url,
                          report_bucket="reports", report_prefix="deployscan")  # fmt: skip
    run = {"settings": settings(sweep=scope), "cache": cache, "launcher": RecordingLauncher(),
           "sqs": sqs, "sweeper": Sweeper(MotoUnits({WEB: D_WEB}), HOME, sqs, s3)}  # fmt: skip
    start = json.loads(message(SWEEP_REQUESTED, {}, event_id="sched-1"))
    assert _batch([start], run) == {"batchItemFailures": []}
    units = _drain(sqs, url)  # the posture message is delayed 15 minutes: not yet visible
    assert sorted(u["detail"]["account"] for u in units) == [HOME, MEMBER]
    assert _batch(units, run) == {"batchItemFailures": []}
    images = _drain(sqs, url)
    assert [(i["source"], i["detail-type"]) for i in images] == [(SWEEP_SOURCE, "Sweep Image")] * 2
    assert _batch(images, run) == {"batchItemFailures": []}
    assert [(r.digest, r.trigger) for r in run["launcher"].requests] == [(D_WEB, "sweep")]
    posture_message = json.loads(message("Sweep Posture", {}, event_id="p"))
    assert _batch([posture_message], run) == {"batchItemFailures": []}
    page = s3.get_object(Bucket="reports", Key="deployscan/posture.json")["Body"].read()
    doc = json.loads(page)
    assert doc["running_digests"] == 1
    assert doc["images"][0]["where"] == "runs in 2 services (3 tasks) in 2 accounts, 1 region"
    html = s3.get_object(Bucket="reports", Key="deployscan/index.html")["Body"].read().decode()
    assert WEB in html and "<script" not in html and "http" not in html.split("<body>")[1]


def test_a_unit_message_with_a_bad_account_is_poison(
    queue: tuple[Any, str], cache: ScanCacheTable
) -> None:
    sqs, url = queue
    run = {"settings": settings(sweep=SweepSettings(queue_url=url)), "cache": cache,
           "launcher": RecordingLauncher(), "sqs": sqs,
           "sweeper": Sweeper(MotoUnits({}), HOME, sqs, None)}  # fmt: skip
    bad = json.loads(message("Sweep Unit", {"account": "; rm -rf /", "region": REGION},
                             event_id="u"))  # fmt: skip
    dead = sqs.create_queue(QueueName="dlq")["QueueUrl"]
    run["settings"] = settings(sweep=SweepSettings(queue_url=url), dead_letter_queue_url=dead)
    assert _batch([bad], run) == {"batchItemFailures": []}
    assert len(_drain(sqs, dead)) == 1  # dead-lettered at once, never swept


def test_without_a_sweeper_the_messages_wait(queue: tuple[Any, str], cache: ScanCacheTable) -> None:
    sqs, url = queue
    run = {"settings": settings(sweep=SweepSettings(queue_url=url)), "cache": cache,
           "launcher": RecordingLauncher(), "sqs": sqs, "sweeper": None}  # fmt: skip
    start = json.loads(message(SWEEP_REQUESTED, {}, event_id="sched-2"))
    assert _batch([start], run) == {"batchItemFailures": [{"itemIdentifier": "m0"}]}


def _entry(digest: str, account: str, tasks: int) -> InUseEntry:
    return InUseEntry(digest, account, REGION, f"img-{digest[-2:]}",
                      (Place("ecs", "prod/service:x", tasks),), NOW)  # fmt: skip


def test_status_rows_are_sorted_by_risk_and_say_what_breaks_the_policy() -> None:
    d = {n: "sha256:" + n * 32 for n in ("aa", "bb", "cc", "dd")}
    verdicts = {
        digest_key(d["aa"]): LastScan("passed", NOW - 10, "", {"high": 3}),
        digest_key(d["bb"]): LastScan(
            "failed", NOW - 10, "s3://r/deployscan/x/report.json", {"critical": 1}
        ),
        digest_key(d["cc"]): LastScan("passed", NOW - 10, "", {}),
    }
    entries = [_entry(d["aa"], HOME, 1), _entry(d["bb"], HOME, 1), _entry(d["cc"], HOME, 9),
               _entry(d["dd"], MEMBER, 2), _entry(d["aa"], MEMBER, 4)]  # fmt: skip
    found = rows(entries, verdicts)
    assert [r.digest for r in found] == [d["bb"], d["dd"], d["aa"], d["cc"]]
    assert [r.verdict for r in found] == ["failed", "not scanned", "passed", "passed"]
    assert [r.breaks(None) for r in found] == [True, False, False, False]
    assert [r.breaks("high") for r in found] == [True, False, True, False]
    assert found[2].tasks == 5 and found[2].accounts == (HOME, MEMBER)
    doc = posture.document(found, NOW, posture.s3_link("r", "deployscan"))
    assert doc["images"][0]["report"] == "x/report.html"  # relative: opens from a download
    assert doc["failing"] == 1


def test_the_page_escapes_what_it_shows() -> None:
    entry = InUseEntry("sha256:" + "ee" * 32, HOME, REGION, '<img src=x onerror="alert(1)">',
                       (Place("lambda", "<b>fn</b>"),), NOW)  # fmt: skip
    page = posture.render_html(posture.document(rows([entry], {}), NOW, lambda u: u))
    assert "<img" not in page and "&lt;img" in page and "<b>" not in page


def test_verdicts_recorded_by_the_runner_are_read_whatever_their_ttl(
    cache: ScanCacheTable,
) -> None:
    verdict = Verdict("failed", WEB, "b:1", "s3://r/p/report.json", {"high": 1})
    cache.record(digest_key(D_WEB), verdict, now=NOW - 90 * 86400, keep_seconds=3600)
    (scan,) = cache.last_scans([digest_key(D_WEB)]).values()
    assert (scan.status, scan.at, scan.counts) == ("failed", NOW - 90 * 86400, {"high": 1})
