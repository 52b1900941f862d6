"""The writer interface: a pure function from a ScanReport to the text of one output file."""

from __future__ import annotations

import contextlib
import functools
import gc
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from dispatcher.buildvars import KIND_LAMBDA_LAYER
from scanner_runner.report import ScanReport

Render = Callable[[ScanReport], str]

# Characters XML 1.0 cannot carry (and lone surrogates); scanner output is untrusted text.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
NVD_URL = "https://nvd.nist.gov/vuln/detail/"
_CVE_RE = re.compile(r"^CVE-\d{4}-\d{4,}$")


@dataclass(frozen=True)
class OutputFormat:
    """One report format: its `--format` name, its file in the output dir, and its renderer."""

    name: str
    filename: str
    media_type: str
    render: Render


@contextlib.contextmanager
def bulk_objects() -> Iterator[None]:
    """Pause the cyclic garbage collector while a writer builds its output.

    A report of 20,000 findings makes a writer create millions of short-lived dicts, lists and
    strings; reference counting frees every one of them, yet each allocation burst makes the
    cyclic collector walk all live containers again, finding nothing (in
    `benchmarks/report_bench.py` that was about a third of the time). Nothing is kept: cycles,
    if a writer ever made one, are collected at the first collection after the block.
    """
    if not gc.isenabled():  # nested, or paused by the caller: leave it as it is
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def clean_text(value: str, limit: int | None = None) -> str:
    """Drop characters no XML/HTML consumer accepts and cap the length (with an ellipsis)."""
    text = _XML_INVALID.sub("", value)
    if limit is not None and len(text) > limit:
        return text[: max(0, limit - 1)] + "\u2026"
    return text


def one_line(value: str) -> str:
    """`value` on one line: whitespace runs become one space, other control characters (NUL,
    ESC, DEL, C1, bidi and other format characters) are dropped, so no terminal reads them."""
    return "".join(c for c in " ".join(value.split()) if c.isprintable())


def short_digest(digest: str) -> str:
    """`sha256:0123456789ab…` -> `0123456789ab` (12 hex characters), for titles and subjects."""
    return digest.partition(":")[2][:12] if ":" in digest else digest[:12]


def scanner_label(report: ScanReport) -> str:
    """`qscanner 4.8.0 (get-report)`, without empty parts."""
    label = " ".join(p for p in (report.scanner.name, report.scanner.version) if p)
    return f"{label} ({report.scanner.mode})" if report.scanner.mode else label


def verdict_word(report: ScanReport) -> str:
    """PASSED / FAILED / ERROR, plus a qualifier people must not miss; an inventory-only pass
    is `INVENTORY ONLY`, as the HTML report's badge (nothing was checked, so nothing passed)."""
    word = report.status.upper()
    if report.status == "passed" and not report.vulnerability_data:
        return "INVENTORY ONLY (no vulnerability data)"
    if report.status == "failed" and not report.vulnerability_data:
        return "FAILED (INVENTORY ONLY: no vulnerability data)"
    if report.policy.decision == "audit":
        return "PASSED (AUDIT warning)"
    return word


def counts_unknown(report: ScanReport) -> str:
    """Why the counts by severity mean nothing ("" when they do): zeros would read as clean."""
    if report.status == "error":
        return "n/a (scan error)"
    return "" if report.vulnerability_data else "n/a (no vulnerability data)"


@functools.lru_cache(maxsize=65536)
def cve_url(cve: str) -> str:
    """The NVD page of a well-formed CVE id ("" for anything else, which is not linked).

    QIDs are not linked: Qualys' KnowledgeBase entries need a subscription login.
    """
    return NVD_URL + cve if _CVE_RE.match(cve) else ""


def target_rows(report: ScanReport) -> list[tuple[str, str]]:
    """(label, value) rows naming a zip function or layer (empty for an image): every writer
    renders the Lambda target through this one helper."""
    code = report.lambda_code
    if code is None:
        return []
    layers = [
        f"{arn} ({sha})" for arn, sha in zip(code.layers, code.layer_code_sha256, strict=False)
    ]
    return [
        ("Kind", code.kind),
        ("Layer" if code.kind == KIND_LAMBDA_LAYER else "Function", code.arn),
        ("Version", code.version or "-"),
        ("Runtime", code.runtime or "unknown"),
        ("Code SHA-256", code.code_sha256 or "unknown"),
        ("Layers", ", ".join(layers) or "-"),
    ]
