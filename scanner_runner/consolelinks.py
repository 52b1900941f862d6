"""Links a person can open: the AWS console page of a report in S3."""

from __future__ import annotations

from urllib.parse import quote, urlencode

from dispatcher.aws import partition

# The console's host in each partition (the S3 console lives under /s3/ in all three).
_CONSOLE = {
    "aws": "https://s3.console.aws.amazon.com",
    "aws-cn": "https://console.amazonaws.cn",
    "aws-us-gov": "https://console.amazonaws-us-gov.com",
}


def beside_report(report_uri: str, filename: str) -> str:
    """The S3 URI of `filename` in the folder of `report_uri` (`…/report.json`); "" when the
    report has no URI (it was not uploaded)."""
    return report_uri.removesuffix("report.json") + filename if report_uri else ""


def s3_object_url(s3_uri: str, region: str = "") -> str:
    """The console page of the object `s3://bucket/key` (in `region`'s partition and region, when
    given); "" for anything that is not an S3 URI with a key."""
    bucket, _, key = s3_uri.removeprefix("s3://").partition("/")
    if not s3_uri.startswith("s3://") or not bucket or not key:
        return ""
    query = urlencode({"region": region} if region else {}) + ("&" if region else "")
    return f"{_CONSOLE[partition(region)]}/s3/object/{quote(bucket)}?{query}prefix={quote(key)}"
