"""Shared fixtures: temporary copies of the workflow and a finished smoke run to reuse."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from functools import partial
from pathlib import Path

import pytest
import torch

from fashion_mnist_study.tools.gpu_check import copy_workflow

REPO = Path(__file__).resolve().parents[1]
DEBIAN_DATA = Path("/usr/share/datasets/fashion-mnist")
# Workflow runs of this session share one result cache of their own, never the user's (a
# test that needs another sets SNAKEMAKE_OUTPUT_CACHE itself).
os.environ["SNAKEMAKE_OUTPUT_CACHE"] = tempfile.mkdtemp(prefix="fashion-mnist-study-cache-")


def replace_file(path: Path, content: bytes) -> None:
    """Give `path` new content without writing through it: outputs restored from the result
    cache are links into it, and writing through one would change the cache."""
    path.unlink()
    path.write_bytes(content)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked `cuda` (run by `make gpu-check`) are skipped where PyTorch sees no GPU."""
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)


needs_debian_data = pytest.mark.skipif(
    not DEBIAN_DATA.is_dir(),
    reason="needs Debian's dataset-fashion-mnist package (apt-get install dataset-fashion-mnist)",
)


def snakemake(
    workdir: Path,
    *args: str,
    check: bool = True,
    timeout: float | None = None,
    cache: Path | None = None,
    cpus: set[int] | None = None,
) -> subprocess.CompletedProcess:
    """Run Snakemake in `workdir` with this interpreter (and result cache `cache`, else the
    session's; on the CPUs `cpus`, else this process's); output captured as text, both
    streams together in `.output` as well."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if cache is not None:
        env["SNAKEMAKE_OUTPUT_CACHE"] = str(cache)
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", *args],
        cwd=workdir,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        preexec_fn=None if cpus is None else partial(os.sched_setaffinity, 0, cpus),
    )
    result.output = result.stdout + result.stderr
    if check and result.returncode != 0:
        raise AssertionError(
            f"snakemake {' '.join(args)} failed ({result.returncode}):\n"
            f"{result.stdout[-5000:]}\n{result.stderr[-8000:]}"
        )
    return result


def job_stats(output: str) -> dict[str, int]:
    """Rule -> job count from the `Job stats:` table Snakemake prints (`all` left out)."""
    lines = output.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("Job stats:")]
    assert starts, f"no job stats in the output:\n{output[-3000:]}"
    jobs: dict[str, int] = {}
    for line in lines[starts[0] + 3 :]:
        name, count = line.split()
        if name == "total":
            break
        if name != "all":
            jobs[name] = int(count)
    return jobs


def planned_jobs(workdir: Path, *targets: str, extra: tuple[str, ...] = ()) -> dict[str, int]:
    """Rule name -> job count that a dry run plans (`all` left out; empty when up to date)."""
    result = snakemake(workdir, *targets, "--dry-run", "--quiet", "rules", *extra)
    if "Nothing to be done" in result.stdout:
        return {}
    return job_stats(result.stdout)


SMOKE = ("--configfile", "config/smoke.yaml")
# The README's command: on a 2-core machine it asks for more cores than there are.
SMOKE_CORES = 4
# The finished smoke run sees two CPUs (fewer where there are fewer) on any machine, as on a
# 2-core CI runner: how its trainings share them is then the same everywhere (where the OS
# lets a process choose its CPUs; elsewhere it sees them all).
SMOKE_CPUS = set(sorted(os.sched_getaffinity(0))[:2]) if hasattr(os, "sched_setaffinity") else None


def smoke_run_output_file(workdir: Path) -> Path:
    """Where the smoke run in `workdir` keeps what Snakemake printed (outside the workflow)."""
    return workdir.parent / "snakemake_output.txt"


def smoke_run_output(workdir: Path) -> str:
    """What Snakemake printed during the finished smoke run in `workdir`."""
    return smoke_run_output_file(workdir).read_text()


@pytest.fixture(scope="session")
def finished_smoke_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One complete run of the workflow on config/smoke.yaml, real data, shared by tests."""
    if not DEBIAN_DATA.is_dir():
        pytest.skip("needs Debian's dataset-fashion-mnist package")
    workdir = copy_workflow(tmp_path_factory.mktemp("smoke") / "workflow")
    result = snakemake(workdir, "all", "--cores", str(SMOKE_CORES), *SMOKE, cpus=SMOKE_CPUS)
    smoke_run_output_file(workdir).write_text(result.output)
    return workdir


@pytest.fixture
def smoke_run_copy(finished_smoke_run: Path, tmp_path: Path) -> Path:
    """A private copy of the finished smoke run (results and Snakemake metadata included)."""
    destination = tmp_path / "workflow"
    shutil.copytree(finished_smoke_run, destination, symlinks=True)
    return destination
