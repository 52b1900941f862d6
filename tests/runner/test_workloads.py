"""Workload ARNs from in-use index entries: services and functions, in each entry's partition;
what is not a valid account, region or name is left out."""

from __future__ import annotations

from dispatcher.scanitems import InUseEntry, Place
from scanner_runner.workloads import workload_arns


def entry(account: str, region: str, *places: Place) -> InUseEntry:
    return InUseEntry("sha256:" + "a" * 64, account, region, "shop/api:1", places, 0.0)


def test_partitions_and_repeats() -> None:
    arns = workload_arns([
        entry("123456789012", "cn-north-1", Place("ecs", "prod/service:api"), Place("lambda", "f")),
        entry("123456789012", "us-gov-west-1", Place("ecs", "prod/service:api")),
        entry("123456789012", "cn-north-1", Place("ecs", "prod/service:api")),  # again
    ])  # fmt: skip
    assert arns == (
        "arn:aws-cn:ecs:cn-north-1:123456789012:service/prod/api",
        "arn:aws-cn:lambda:cn-north-1:123456789012:function:f",
        "arn:aws-us-gov:ecs:us-gov-west-1:123456789012:service/prod/api",
    )


def test_what_is_not_an_aws_name_is_left_out() -> None:
    assert workload_arns([
        entry("12345", "eu-west-1", Place("ecs", "prod/service:api")),
        entry("123456789012", "Europe", Place("lambda", "f")),
        entry("123456789012", "eu-west-1",
              Place("ecs", "prod/service:"), Place("ecs", "prod"), Place("ecs", "/service:api"),
              Place("ecs", "prod/service:a/b"), Place("ecs", "prod/family:api"),
              Place("lambda", "f$(id)"), Place("lambda", "x" * 65), Place("batch", "q")),
    ]) == ()  # fmt: skip
