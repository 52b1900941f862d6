"""Deploy waves bigger than the scan project's concurrent-build limit, simulated end to end
(tests/dispatcher/wavesim.py): the queue as cfn/scanner.yaml defines it, the real dispatcher, a
CodeBuild stand-in that refuses builds beyond 10 at once, builds of 3-10 minutes."""

from __future__ import annotations

import random
from typing import Any

import pytest

from dispatcher.retry import QUEUE_MAX_RECEIVES
from tests.cfn.conftest import load_template
from tests.dispatcher.conftest import settings
from tests.dispatcher.sqssim import BEFORE, DLQ_URL, QueueConfig
from tests.dispatcher.wavesim import Faults, Report, Simulation

pytestmark = pytest.mark.slow
NO_FAULTS = Faults()


def _wave(
    dynamodb: Any,
    sizes: tuple[int, ...],
    *,
    gap_minutes: float = 0.0,
    before: bool = False,
    faults: Faults = NO_FAULTS,
) -> Report:
    queue = BEFORE if before else QueueConfig.from_template(load_template("scanner"))
    sim = Simulation(
        dynamodb, settings(dead_letter_queue_url=DLQ_URL), queue, legacy=before, faults=faults,
        seed=3,
    )  # fmt: skip
    rng, image = random.Random(3), 0
    for wave, size in enumerate(sizes):
        for _ in range(size):
            image += 1
            for _ in range(rng.randint(1, 2)):  # a service's tasks each report RUNNING
                sim.deploy(wave * gap_minutes * 60 + rng.uniform(0, 90), image)
    sim.poison(5.0)
    return sim.run()


def test_a_wave_four_times_the_capacity_is_scanned_in_full_and_once(dynamodb: Any) -> None:
    report = _wave(dynamodb, (40,))
    assert (report.images, report.never_scanned, report.duplicate_builds) == (40, 0, 0)
    assert report.dead_lettered == 0  # nothing but the poison went to the DLQ
    assert report.refused > 0  # the limit really refused builds
    assert report.max_receives < QUEUE_MAX_RECEIVES / 10  # waiting does not eat the redrive budget
    # 30 builds queued behind 10 slots of 3-10 min: about 20 min when every slot is refilled
    assert report.last_start is not None and report.last_start < 30 * 60


def test_the_poison_record_of_the_wave_reaches_the_dead_letter_queue_at_once(
    dynamodb: Any,
) -> None:
    report = _wave(dynamodb, (15,))
    assert report.poison_to_dlq is not None and report.poison_to_dlq < 60


def test_an_older_wave_gets_the_free_build_slots_first(dynamodb: Any) -> None:
    report = _wave(dynamodb, (30, 30), gap_minutes=10)
    assert (report.never_scanned, report.duplicate_builds) == (0, 0)
    assert report.out_of_order == 0


def test_injected_faults_lose_nothing(dynamodb: Any) -> None:
    faults = Faults(throttle=0.1, lost_response=0.05, table=0.05, visibility=0.05, crash=0.05)
    report = _wave(dynamodb, (30,), faults=faults)
    assert report.never_scanned == 0 and report.dead_lettered == 0


def test_the_edge_before_lost_a_wave_of_twice_that(dynamodb: Any) -> None:
    """What the issue reported, reproduced: without waiting, the redrive budget runs out."""
    report = _wave(dynamodb, (80,), before=True)
    assert report.never_scanned > 10
    assert report.poison_to_dlq is not None and report.poison_to_dlq > 25 * 60
