"""The posture page: `posture.json` and a self-contained `index.html` at the report prefix root.

Rendered with the standard library (the dispatcher Lambda has no jinja2): inline CSS, no script,
no network; every value escaped. Report links are relative to the prefix root, so a downloaded
copy of the prefix (`aws s3 sync`) opens offline.
"""

from __future__ import annotations

import html
import json
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from dispatcher.errors import DeployscanError, aws_error_code
from dispatcher.scancache import STATUS_FAILED, STATUS_PASSED, code_sha256_of
from dispatcher.sweep.plan import iso, place_dict
from dispatcher.sweep.status import SEVERITIES, StatusRow

JSON_NAME, HTML_NAME = "posture.json", "index.html"
Link = Callable[[str], str | None]
_CSS = (
    "body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}"
    "table{border-collapse:collapse;width:100%}th,td{border:1px solid #ccc;padding:4px 6px;"
    "text-align:left;vertical-align:top}th{background:#f3f3f3}code{font-size:12px}"
    ".failed{background:#fde2e2}.passed{background:#e6f4e6}.unknown{background:#fff5d6}"
)


class PostureError(DeployscanError):
    """The posture page could not be written."""


def document(rows: Sequence[StatusRow], now: float, link: Link) -> dict[str, Any]:
    """The `posture.json` document: generated time, totals and one entry per running digest."""
    return {
        "generated_at": iso(now),
        "running_digests": len(rows),
        "failing": sum(1 for r in rows if r.verdict == STATUS_FAILED),
        "images": [row_dict(r, link) for r in rows],
    }


def row_dict(row: StatusRow, link: Link) -> dict[str, Any]:
    """One running digest (or zip code: `image` null, its `arn` and `code_sha256` instead) as
    JSON (posture.json, `deployscan status --json`)."""
    code = {} if row.kind == "image" else {
        "image": None, "arn": row.image, "code_sha256": code_sha256_of(row.digest)
    }  # fmt: skip
    return {
        "kind": row.kind,
        "name": row.name,
        "image": row.image,
        "digest": row.digest,
        "verdict": row.verdict,
        "counts": {s: row.counts.get(s, 0) for s in SEVERITIES},
        "vulnerability_data": row.vulnerability_data,
        "scanned_at": iso(row.scanned_at),
        "last_seen": iso(row.last_seen),
        "where": row.where(),
        "places": [{"account": a, "region": r, **place_dict(p)} for a, r, _, p in row.places[:200]],
        "report": link(row.report_uri) if row.report_uri else None,
    } | code


def render_html(doc: dict[str, Any]) -> str:
    """The page for people: one table row per running digest, riskiest first."""
    e = html.escape
    body = []
    for item in doc["images"]:
        css = {STATUS_FAILED: "failed", STATUS_PASSED: "passed"}.get(item["verdict"], "unknown")
        counts = " / ".join(str(item["counts"][s]) for s in SEVERITIES)
        if not item["vulnerability_data"]:
            counts = "n/a (inventory only)"
        places = "<br>".join(
            e(f"{p['account']} {p['region']} {p['kind']}:{p['name']}"
              + (f" x{p['tasks']}" if "tasks" in p else ""))
            for p in item["places"][:20]
        )  # fmt: skip
        report = item["report"]
        cell = f'<a href="{e(report)}">report</a>' if report else "-"
        body.append(
            f'<tr class="{css}"><td>{e(item["name"])}<br><code>{e(item["digest"])}</code></td>'
            f"<td>{e(item['verdict'])}</td><td>{counts}</td><td>{e(item['where'])}<br>"
            f"{places}</td><td>{e(item['scanned_at'] or '-')}</td><td>{cell}</td></tr>"
        )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>deployscan posture</title><style>{_CSS}</style></head><body>"
        f"<h1>What runs now</h1><p>{doc['running_digests']} running digests, "
        f"{doc['failing']} failing the policy; generated {e(doc['generated_at'] or '')}.</p>"
        "<table><tr><th>Image</th><th>Verdict</th><th>Critical / high / medium / low</th>"
        "<th>Where it runs</th><th>Scanned</th><th>Report</th></tr>"
        + "".join(body)
        + "</table></body></html>\n"
    )


def s3_link(bucket: str, prefix: str) -> Link:
    """Links relative to the prefix root for reports under it; other URIs as they are."""
    root = f"s3://{bucket}/{prefix}/" if prefix else f"s3://{bucket}/"

    def link(uri: str) -> str | None:
        if not uri.startswith(root) or ".." in uri:
            return uri or None
        return uri[len(root) :].rsplit("/", 1)[0] + "/report.html"

    return link


def write_s3(s3: Any, bucket: str, prefix: str, doc: dict[str, Any]) -> list[str]:
    """Put `posture.json` and `index.html` at the prefix root; the keys written."""
    keys = []
    for name, body, kind in _files(doc):
        key = f"{prefix}/{name}" if prefix else name
        try:
            s3.put_object(Bucket=bucket, Key=key, Body=body.encode(), ContentType=kind)
        except Exception as exc:  # botocore errors, wrapped once at this seam
            raise PostureError(f"s3:PutObject {key} failed: {aws_error_code(exc)}") from exc
        keys.append(key)
    return keys


def write_dir(directory: Path, doc: dict[str, Any]) -> list[Path]:
    """Write both files into `directory`, each through a temporary file and a rename."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, body, _ in _files(doc):
        handle, temp = tempfile.mkstemp(dir=directory, prefix=f".{name}.")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(body)
        os.replace(temp, directory / name)
        written.append(directory / name)
    return written


def _files(doc: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [
        (JSON_NAME, json.dumps(doc, indent=1, sort_keys=True) + "\n", "application/json"),
        (HTML_NAME, render_html(doc), "text/html; charset=utf-8"),
    ]
