"""LocalBuildLauncher: the dispatcher's Launcher seam over the local executor."""

from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path

import pytest

from dispatcher.buildvars import BuildRequest
from dispatcher.errors import BuildRequestError, LaunchError
from dispatcher.imageref import ImageRef
from scanner_runner.devtools.localbuild.launcher import LocalBuildLauncher, LocalProject
from scanner_runner.devtools.localbuild.model import EnvVar

ROOT = Path(__file__).resolve().parents[2]
BUILDSPEC = """version: 0.2
env:
  exported-variables: [SEEN, WHERE, DIRS]
phases:
  build:
    commands:
      - export SEEN="$IMAGE_REF|${IMAGE_DIGEST:-none}|$TRIGGER|$RESULTS_S3_BUCKET"
      - test -f pyproject.toml && test -d scanner_runner && test ! -e tests
      - test ! -e scanner_runner/devtools && test ! -e scripts
      - export WHERE="$PWD" DIRS="$HOME|$TMPDIR"
"""
# The packager and the modules it imports: a checkout's own scripts lay out its bundle.
PACKAGER = ("package.py", "wheelhouse.py", "runnerwheel.py")


@pytest.fixture
def project(tmp_path: Path) -> LocalProject:
    source = tmp_path / "checkout"
    for name in ("dispatcher", "scanner_runner", "scanner_runner/devtools", "tests"):
        (source / name).mkdir(parents=True)
        (source / name / "__init__.py").write_text("")
    (source / "buildspecs").mkdir()
    (source / "buildspecs" / "scan.yml").write_text(BUILDSPEC)
    (source / "pyproject.toml").write_text("[project]\n")
    (source / "README.md").write_text("# checkout\n")
    # the real packager: it decides which of these files a build gets
    (source / "scripts").mkdir()
    for name in PACKAGER:
        shutil.copy2(ROOT / "scripts" / name, source / "scripts" / name)
    return LocalProject(
        name="deployscan-scan",
        source_dir=source,
        work_root=tmp_path / "work",
        environment=(EnvVar("RESULTS_S3_BUCKET", "reports"),),
        base_env={"PATH": os.environ["PATH"]},
    )


def request(project: str = "deployscan-scan", image: str = "nginx:1.27") -> BuildRequest:
    return BuildRequest(project, ImageRef.parse(image), None, None, None, None, "manual", None)


def test_request_variables_become_overrides_on_a_fresh_source(project: LocalProject) -> None:
    launcher = LocalBuildLauncher(project)
    build_id = launcher.start(request())
    result = launcher.results[build_id]
    assert result.succeeded, result.log_tail()
    assert result.exported_variables["SEEN"] == "docker.io/library/nginx:1.27|none|manual|reports"
    assert build_id.startswith("deployscan-scan:")
    # a fresh copy of the bundle's files, and HOME and TMPDIR of the build's own
    build_dir = Path(result.log_path).parent
    assert result.exported_variables["WHERE"] == str(build_dir / "src")
    assert result.exported_variables["DIRS"] == f"{build_dir / 'home'}|{build_dir / 'tmp'}"


def test_the_project_tier_is_the_build_environment(project: LocalProject) -> None:
    lambda_project = dataclasses.replace(project, compute_tier="lambda")
    result = LocalBuildLauncher(lambda_project).run(request())
    assert result.succeeded, result.log_tail()
    build_dir = Path(result.log_path).parent
    # Lambda compute images set HOME=/tmp: here the build's own temp folder
    assert result.exported_variables["DIRS"] == f"{build_dir / 'tmp'}|{build_dir / 'tmp'}"
    assert "Lambda compute: writes only under" in result.log_path.read_text()


def test_deferred_start_queues_until_run_pending(project: LocalProject) -> None:
    seen: list[str] = []
    launcher = LocalBuildLauncher(
        project, deferred=True, on_result=lambda req, res: seen.append(str(req.image))
    )
    first = launcher.start(request(image="alpine:3.20"))
    second = launcher.start(request(image="nginx:1.27"))
    assert launcher.results == {} and len(launcher.pending) == 2
    results = launcher.run_pending()
    assert [r.build_id for r in results] == [first, second]
    assert [r.build_number for r in results] == [1, 2]
    assert seen == ["docker.io/library/alpine:3.20", "docker.io/library/nginx:1.27"]
    assert launcher.pending == []


def test_refusals_raise_launch_errors(project: LocalProject) -> None:
    launcher = LocalBuildLauncher(project, deferred=True)
    with pytest.raises(LaunchError, match="no such project"):
        launcher.start(request(project="other-project"))
    bad = BuildRequest("deployscan-scan", ImageRef.parse("nginx"), None, "linux", None, None,
                       "manual", None)  # fmt: skip
    with pytest.raises(BuildRequestError):
        launcher.start(bad)
    assert launcher.pending == []


def test_a_source_without_the_packager_or_a_bundle_file_is_refused(project: LocalProject) -> None:
    launcher = LocalBuildLauncher(project)
    (project.source_dir / "README.md").unlink()
    with pytest.raises(LaunchError, match=r"missing file: README\.md"):
        launcher.start(request())
    (project.source_dir / "scripts" / "package.py").unlink()
    with pytest.raises(LaunchError, match=r"no scripts/package\.py"):
        launcher.start(request())
