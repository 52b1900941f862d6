"""The Lambda entry point: a thin edge over `dispatcher.core.dispatch`.

Settings, clients and the in-process memo are built once per cold start; a resolver (with its
lookup caches and assumed-role sessions) is built per invocation. SQS batches go through
`dispatcher.batch.handle_batch`: a partial-batch response, waiting messages hidden with a backoff,
poison sent to the dead-letter queue.
"""

from __future__ import annotations

import functools
import os
import time
from dataclasses import dataclass
from typing import Any

import boto3

from dispatcher.aws import own_account
from dispatcher.batch import handle_batch
from dispatcher.core import dispatch
from dispatcher.dedup import Memo
from dispatcher.errors import DeployscanError
from dispatcher.launch import CodeBuildLauncher
from dispatcher.logs import configure
from dispatcher.metrics import dispatch_data, lines
from dispatcher.requeue import SqsQueue
from dispatcher.resolve_aws import AwsResolver
from dispatcher.scancache import ScanCacheTable
from dispatcher.settings import Settings
from dispatcher.sweep.control import Sweeper
from dispatcher.sweep.core import AwsUnitClients


@dataclass(frozen=True)
class Runtime:
    """What lives as long as the Lambda execution environment."""

    settings: Settings
    session: boto3.session.Session
    cache: ScanCacheTable
    launcher: CodeBuildLauncher
    queue: SqsQueue
    memo: Memo


@functools.cache
def runtime() -> Runtime:
    """Read the environment once and build the long-lived clients."""
    settings = Settings.from_env(os.environ)
    configure(settings.log_level)
    session = boto3.session.Session()
    return Runtime(
        settings=settings,
        session=session,
        cache=ScanCacheTable(session.client("dynamodb"), settings.cache_table),
        launcher=CodeBuildLauncher(session.client("codebuild")),
        queue=SqsQueue(session.client("sqs")),
        memo=Memo(),
    )


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    """Dispatch an SQS batch (or a direct EventBridge event); report failed messages."""
    run = runtime()
    resolver = AwsResolver(
        run.session, run.settings.cross_account_role_name, home_account=own_account(context)
    )
    if isinstance(event, dict) and "Records" in event:
        return handle_batch(
            event, run.settings, resolver, cache=run.cache, launcher=run.launcher,
            queue=run.queue, memo=run.memo, emit=print, sweeper=_sweeper(run, resolver),
        )  # fmt: skip
    result = dispatch(
        event, run.settings, resolver, cache=run.cache, launcher=run.launcher, memo=run.memo
    )
    for line in lines(dispatch_data(result.outcomes, 0), int(time.time() * 1000)):
        print(line)  # EMF: CloudWatch Logs turns this line into metrics
    if failures := result.batch_item_failures():
        # A direct (asynchronous) invocation has no partial response: fail it so Lambda retries.
        raise DeployscanError(f"{len(failures)} event(s) could not be dispatched")
    return {"batchItemFailures": []}


def _sweeper(run: Runtime, resolver: AwsResolver) -> Sweeper | None:
    """What the sweep's messages need; None (they wait) while the home account is unknown.

    Made per invocation: the member-role sessions it assumes hold temporary credentials (an
    hour by default) that nothing refreshes, so they must not outlive the invocation."""
    try:
        home = resolver.home_account()
    except DeployscanError:
        return None
    if not home:
        return None
    role = run.settings.cross_account_role_name
    return Sweeper(AwsUnitClients(run.session, role, home), home, *_sweep_io())


@functools.cache
def _sweep_io() -> tuple[Any, Any]:
    """The home account's SQS and S3 clients the sweep uses, made once per environment."""
    run = runtime()
    return run.session.client("sqs"), run.session.client("s3")
