"""The QScanner adapter: run `qscanner … tar <archive>`, map its exit code, parse its files.

Exit codes (Qualys reference): 0 ok (ALLOW), 42 DENY, 43 AUDIT, 40/41 report not ready yet
(re-run while the time budget lasts), anything else an error. Credentials go only through the
child's environment; QScanner's own `QSCANNER_*` variables pass through.
"""

from __future__ import annotations

import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from scanner_runner.errors import ScannerError
from scanner_runner.report import write_atomic
from scanner_runner.scanners import process
from scanner_runner.scanners.interface import (
    DIRECTORY_FORMAT,
    ScannerOptions,
    ScanRequest,
    ScanResult,
    child_env,
    redact,
)
from scanner_runner.scanners.qscanner_files import (
    find_file,
    image_id_from_name,
    load_json,
    parse_sarif,
    parse_scan_result,
)
from scanner_runner.scanners.qscanner_redact import redact_secret_matches

NAME = "qscanner"
EXIT_OK, EXIT_NOT_READY, EXIT_POLICY_NOT_READY, EXIT_DENY, EXIT_AUDIT = 0, 40, 41, 42, 43
VERDICTS = {EXIT_OK: "ALLOW", EXIT_DENY: "DENY", EXIT_AUDIT: "AUDIT"}
EXIT_NAMES = {
    1: "generic error",
    2: "invalid parameter",
    6: "image artifact failed",
    7: "image archive failed",
    12: "OS scan failed",
    13: "SCA scan failed",
    15: "OS not found",
    17: "OS not supported",
    30: "JSON result handler failed",
    33: "change list upload failed",
}
SCAN_TYPES = {"pkg", "os", "sca", "secret", "fileinsight", "malware", "compliance"}
_POD_RE = re.compile(r"^[A-Z]{2,4}[0-9]{1,2}$")
_TAG_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")


def find_binary(options: ScannerOptions) -> str:
    """`--qscanner-path`/`QSCANNER_PATH` (already in options), else `qscanner` on PATH, else ''."""
    if options.qscanner_path:
        return options.qscanner_path
    return shutil.which("qscanner", path=options.base_env.get("PATH")) or ""


def validate_pod(pod: str) -> str:
    """An upper-cased Qualys pod name (US1, EU2, KSA1 …); ScannerError otherwise."""
    value = pod.strip().upper()
    if not _POD_RE.match(value):
        raise ScannerError(f"invalid Qualys pod {pod!r} (expected e.g. US1, EU2, KSA1)")
    return value


@dataclass
class QScanner:
    """Runs the QScanner binary on an image archive."""

    options: ScannerOptions
    name: str = NAME

    def argv(self, request: ScanRequest, binary: str, raw_dir: Path, cache: Path) -> list[str]:
        """The exact argument list (no credentials, ever)."""
        opts = self.options
        if opts.gateway_url:
            if not opts.gateway_url.startswith("https://"):
                raise ScannerError("the Qualys gateway URL must start with https://")
            target = ["--gateway-url", opts.gateway_url]
        elif opts.pod:
            target = ["--pod", validate_pod(opts.pod)]
        else:
            raise ScannerError("QScanner needs a Qualys pod (QUALYS_POD) or a gateway URL")
        bad = [t for t in opts.scan_types if t not in SCAN_TYPES]
        if bad or not opts.scan_types:
            raise ScannerError(f"unsupported QScanner scan types: {', '.join(bad) or '(none)'}")
        for tag in request.policy_tags:
            if not _TAG_RE.match(tag):
                raise ScannerError(f"invalid policy tag {tag!r}")
        mode = "evaluate-policy" if request.policy_tags else "get-report"
        argv = [binary, *target, "--mode", mode, "--scan-types", ",".join(opts.scan_types)]
        argv += ["--format", "json,cyclonedx" if opts.sbom else "json"]
        argv += ["--report-format", "sarif,json", "--output-dir", str(raw_dir)]
        argv += ["--cache-dir", str(cache), "--scan-timeout", f"{max(1, int(request.timeout))}s"]
        argv += ["--log-level", "info"]
        if request.policy_tags:
            argv += ["--policy-tags", ",".join(request.policy_tags)]
        # An unpacked zip Lambda is a built artifact, so `rootfs` (docs/zip.md says why not
        # `repo` or `lambda`); without --shell-commands QScanner runs no OS scan on it.
        command = "rootfs" if request.archive_format == DIRECTORY_FORMAT else "tar"
        return [*argv, command, str(request.archive)]

    def scan(self, request: ScanRequest) -> ScanResult:
        """Scan the archive; ScannerError for every outcome that is not a trustworthy report."""
        opts = self.options
        binary = find_binary(opts)
        if not binary:
            raise ScannerError("qscanner binary not found (set --qscanner-path or QSCANNER_PATH)")
        if not opts.credentials.present:
            raise ScannerError(
                "Qualys credentials missing (QUALYS_ACCESS_TOKEN, QUALYS_CLIENT_ID/"
                "QUALYS_CLIENT_SECRET, or QUALYS_SECRET_ARN)"
            )
        raw_dir, cache = request.output_dir, request.work_dir / "qscanner-cache"
        cache.mkdir(parents=True, exist_ok=True)
        argv = self.argv(request, binary, raw_dir, cache)
        extra = {k: v for k, v in opts.base_env.items() if k.startswith("QSCANNER_")}
        extra.pop("QSCANNER_PATH", None)
        extra.update({"DISABLE_QSCANNER_BANNER": "yes", **opts.credentials.as_env()})
        env = child_env(opts.base_env, request.work_dir, extra)
        secrets = opts.credentials.secrets()

        clock, sleep = opts.monotonic or time.monotonic, opts.sleep or time.sleep
        deadline = clock() + request.timeout
        attempt = 0
        while True:
            attempt += 1
            if raw_dir.exists():
                shutil.rmtree(raw_dir)
            raw_dir.mkdir(parents=True)
            remaining = max(1.0, deadline - clock())
            argv[argv.index("--scan-timeout") + 1] = f"{max(1, int(remaining))}s"
            console = raw_dir / "console.log"
            try:
                done = process.run(argv, env, remaining + opts.kill_grace, console)
            finally:  # also when it was killed at the timeout: the raw files are kept
                _redact_file(console, secrets)
                unchecked = redact_secret_matches(raw_dir)
            if unchecked:
                raise ScannerError(
                    f"QScanner file {unchecked[0]} is unreadable or too large to check for "
                    "secret values; removed"
                )
            code = done.returncode
            if code in (EXIT_NOT_READY, EXIT_POLICY_NOT_READY):
                if clock() + opts.retry_delay < deadline:
                    sleep(opts.retry_delay)
                    continue
                raise ScannerError(
                    f"QScanner report not ready within {request.timeout:.0f} s "
                    f"(exit {code} after {attempt} attempts)",
                    exit_code=code,
                    stderr=redact(done.stderr, secrets),
                )
            if code not in VERDICTS:
                meaning = EXIT_NAMES.get(code, "killed by a signal" if code < 0 else "error")
                raise ScannerError(
                    f"qscanner failed with exit code {code} ({meaning})",
                    exit_code=code,
                    stderr=redact(done.stderr, secrets),
                )
            # DENY/AUDIT count whenever QScanner says so; ALLOW only means something when a
            # policy was evaluated.
            verdict = VERDICTS[code] if request.policy_tags or code != EXIT_OK else ""
            return self._result(request, raw_dir, verdict)

    def _result(self, request: ScanRequest, raw_dir: Path, verdict: str) -> ScanResult:
        scan_file = find_file(raw_dir, "ScanResult.json")
        sarif_file = find_file(raw_dir, "Report.sarif.json")
        if scan_file is None or sarif_file is None:
            missing = "ScanResult.json" if scan_file is None else "Report.sarif.json"
            raise ScannerError(f"QScanner exited 0 but wrote no *-{missing} (fail closed)")
        meta = parse_scan_result(load_json(scan_file))
        if meta.failed_scans:
            raise ScannerError("QScanner scans did not succeed: " + ", ".join(meta.failed_scans))
        findings, sarif_ids, sarif_os = parse_sarif(load_json(sarif_file))
        named = {image_id_from_name(scan_file), image_id_from_name(sarif_file)} - {""}
        claimed = set(meta.image_ids) | set(sarif_ids) | named
        if request.archive_format == DIRECTORY_FORMAT:
            # No image ID names a directory: the raw dir is fresh per attempt, so its one
            # ScanResult and report are this tree's (two would be ambiguous: refused).
            if len(list(raw_dir.glob("*ScanResult.json"))) != 1:
                raise ScannerError("QScanner wrote more than one ScanResult for one directory")
            claimed = {request.image_id}
        if not claimed:
            raise ScannerError(
                "QScanner's report names no image ID; cannot match it to the archive"
            )
        if claimed != {request.image_id}:
            raise ScannerError(
                f"QScanner's report is for image {sorted(claimed)[0]}, "
                f"not the scanned archive's {request.image_id}"
            )
        sbom = next(iter(sorted(raw_dir.glob("*cyclonedx*")) + sorted(raw_dir.glob("*cdx*"))), None)
        mode = "evaluate-policy" if request.policy_tags else "get-report"
        return ScanResult(
            name=NAME,
            version=meta.version,
            mode=mode,
            findings=(*findings, *meta.secrets),
            image_id=request.image_id,
            vulnerability_data=True,
            os=meta.os or sarif_os,
            verdict=verdict,
            sbom=sbom,
            raw_files=tuple(sorted(p for p in raw_dir.rglob("*") if p.is_file())),
        )


def _redact_file(path: Path, secrets: tuple[str, ...]) -> None:
    if not secrets or not path.exists():
        return
    text = path.read_text(encoding="utf-8", errors="replace")
    cleaned = redact(text, secrets)
    if cleaned != text:
        write_atomic(path, cleaned)
