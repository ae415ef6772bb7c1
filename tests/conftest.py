"""Shared fixtures: temporary copies of the workflow, and one finished run of it (with the
result cache it filled) that every test reading outputs shares, made once per test run even
when pytest-xdist runs the tests in several processes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest
import torch
from filelock import FileLock

from fashion_mnist_study.core.checkout import copy_workflow
from fashion_mnist_study.core.paths import STUDY_REPORT
from fashion_mnist_study.core.settings import COURSEWORK_MODELS
from fashion_mnist_study.tools.report_bench import (
    bench_config,
    settings_of,
    write_synthetic_run,
)

REPO = Path(__file__).resolve().parents[1]
DEBIAN_DATA = Path("/usr/share/datasets/fashion-mnist")


def session_cache() -> Path:
    """The result cache this test run's workflows share, never the user's (a test that needs
    another passes its own). One per run: xdist's workers find the same folder by the run's id."""
    run_id = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    if run_id is None:
        return Path(tempfile.mkdtemp(prefix="fashion-mnist-study-cache-"))
    folder = Path(tempfile.gettempdir()) / f"fashion-mnist-study-cache-{run_id}"
    folder.mkdir(exist_ok=True)
    return folder


os.environ["SNAKEMAKE_OUTPUT_CACHE"] = str(session_cache())


def replace_file(path: Path, content: bytes) -> None:
    """Give `path` new content without writing through it: outputs restored from the result
    cache are links into it, and writing through one would change the cache."""
    path.unlink()
    path.write_bytes(content)


# The order in which xdist's workers (`make test` runs two, each taking whole files) start the
# longest files, the others following in name order. The SLURM tests first: they spend most of
# their time waiting for the cluster, which the other worker fills: first with the sweeps'
# reports, which need the finished run the end-to-end tests share and make it on the way; then
# the longest, so that no worker is left with one at the end (`make test` lists the slowest
# tests: revise this when they change).
FIRST_FILES = (
    "test_slurm.py",
    "test_sweep_report.py",
    "test_workflow.py",
    "test_training.py",
    "test_gpu_check.py",
    "test_module.py",
    "test_cache.py",
    "test_cache_command.py",
    "test_bench.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Files in the order of FIRST_FILES. Tests marked `cuda` (run by `make gpu-check`) are
    skipped where PyTorch sees no GPU."""
    rank = {name: i for i, name in enumerate(FIRST_FILES)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: files stay whole
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


# The documented quick settings (config/smoke.yaml); the suite's own runs add tests/tiny.yaml.
SMOKE = ("--configfile", "config/smoke.yaml")
TINY_CONFIG = REPO / "tests/tiny.yaml"
TINY = (*SMOKE, str(TINY_CONFIG))
# The documented command (snakemake --cores 4 all): on a 2-core machine it asks for more cores
# than there are.
SMOKE_CORES = 4
# The finished smoke run sees two CPUs (fewer where there are fewer) on any machine, as on a
# 2-core CI runner: how its trainings share them is then the same everywhere (where the OS
# lets a process choose its CPUs; elsewhere it sees them all).
SMOKE_CPUS = set(sorted(os.sched_getaffinity(0))[:2]) if hasattr(os, "sched_setaffinity") else None


def smoke_run_output_file(workdir: Path) -> Path:
    """Where the finished run in `workdir` keeps what Snakemake printed (outside the workflow)."""
    return workdir.parent / "snakemake_output.txt"


def smoke_run_output(workdir: Path) -> str:
    """What Snakemake printed during the finished run in `workdir`."""
    return smoke_run_output_file(workdir).read_text()


@pytest.fixture(scope="session")
def shared_tmp(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Path:
    """A temporary folder every process of this test run sees: xdist's workers each have a
    folder of their own inside it."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if hasattr(request.config, "workerinput") else base


def once_per_test_run(shared: Path, name: str, make: Callable[[Path], None]) -> Path:
    """The folder `shared`/`name`, made by `make` once per test run: the first pytest process
    to ask makes it, the others (xdist's workers) wait for it and share it. A failed `make`
    leaves nothing that counts as made, so the next one to ask tries again."""
    folder = shared / name
    with FileLock(shared / f"{name}.lock"):
        if not (folder / ".made").exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            make(folder)
            (folder / ".made").touch()
    return folder


def cache_entries_of(workdir: Path) -> set[Path]:
    """The files of the session's result cache that the outputs in `workdir` link to."""
    cache = Path(os.environ["SNAKEMAKE_OUTPUT_CACHE"]).resolve()
    links = (path.resolve() for path in workdir.rglob("*") if path.is_symlink())
    return {entry for entry in links if entry.parent == cache}


def run_the_workflow(folder: Path) -> None:
    """The whole workflow on the suite's settings, real data, the session's cache; what
    Snakemake printed beside it, and a copy of the cache entries it made or used."""
    workdir = copy_workflow(folder / "workflow")
    result = snakemake(workdir, "all", "--cores", str(SMOKE_CORES), *TINY, cpus=SMOKE_CPUS)
    smoke_run_output_file(workdir).write_text(result.output)
    (folder / "cache").mkdir()
    for entry in cache_entries_of(workdir):
        shutil.copy2(entry, folder / "cache" / entry.name)


@pytest.fixture(scope="session")
def finished_run_folder(shared_tmp: Path) -> Path:
    if not DEBIAN_DATA.is_dir():
        pytest.skip("needs Debian's dataset-fashion-mnist package")
    return once_per_test_run(shared_tmp, "finished_run", run_the_workflow)


@pytest.fixture(scope="session")
def finished_smoke_run(finished_run_folder: Path) -> Path:
    """One complete run of the workflow (config/smoke.yaml and tests/tiny.yaml, real data),
    shared by every test that only reads its outputs. Its trainings are in the session's
    result cache, so a run with the same settings elsewhere restores them."""
    return finished_run_folder / "workflow"


@pytest.fixture(scope="session")
def finished_run_cache(finished_run_folder: Path) -> Path:
    """The result cache as the finished run left it: its download and trainings alone, as
    copies (read only; copy the folder before changing it). The session's cache itself gains
    the entries other tests store."""
    return finished_run_folder / "cache"


@pytest.fixture
def smoke_run_copy(finished_smoke_run: Path, tmp_path: Path) -> Path:
    """A private copy of the finished run (results and Snakemake metadata included; outputs
    restored from the cache stay links into it, which Snakemake never writes through)."""
    destination = tmp_path / "workflow"
    shutil.copytree(finished_smoke_run, destination, symlinks=True)
    return destination


@pytest.fixture
def run_cache_copy(finished_run_cache: Path, tmp_path: Path) -> Path:
    """A private copy of the finished run's cache entries, to damage: the session's cache
    holds other tests' entries too."""
    destination = tmp_path / "cache"
    shutil.copytree(finished_run_cache, destination)
    return destination


SNAKEMAKE_REPORT = "results/report/snakemake_report.html"


# A sweep's report at two sizes (the coursework's three models and a sweep of the rest), built
# by the workflow from synthetic training outputs (tools/report_bench.py).
SWEEP_SIZES = (10, 51)
BENCHMARK = "s\th:m:s\tmax_rss\n1.0\t0:00:01\t10\n"
PER_MODEL_FIGURES = {
    "results/plots/{model}_curves.png": "benchmarks/plot_curves/{model}.tsv",
    "results/plots/confusion_{model}.png": "benchmarks/plot_confusion/{model}.tsv",
}
# The outputs of the study's own jobs that a sweep leaves as they are (the shallow convolution,
# the parameter table, the CNN-vs-MLP examples), with each job's benchmark.
STUDY_OUTPUTS = {
    "results/filters/numpy.npz": "benchmarks/apply_filters/numpy.tsv",
    "results/filters/torch.npz": "benchmarks/apply_filters/torch.tsv",
    "results/tables/filter_errors.csv": "benchmarks/filter_errors/filter_errors.tsv",
    "results/plots/filters.png": "benchmarks/plot_filters/plot_filters.tsv",
    "results/tables/params.csv": "benchmarks/param_table/param_table.tsv",
    "results/plots/cnn_vs_mlp_examples.png": (
        "benchmarks/plot_cnn_vs_mlp_examples/cnn_vs_mlp_examples.tsv"
    ),
}


def stand_in(workdir: Path, output: str, source: Path, benchmark: str) -> None:
    """`output` of `workdir` as a copy of `source`, with its job's benchmark, newer than the
    synthetic training outputs (which report_bench dates minutes back), so that Snakemake takes
    the job as done."""
    newer = time.time() - 60
    for path, write in ((output, lambda p: shutil.copy(source, p)), (benchmark, None)):
        target = workdir / path
        target.parent.mkdir(parents=True, exist_ok=True)
        write(target) if write else target.write_text(BENCHMARK)
        os.utime(target, (newer, newer))


def with_stand_ins(workdir: Path, finished_run: Path, models: list[str]) -> None:
    """The study's own outputs taken from the finished run, and each swept model's curves and
    confusion matrix as a copy of the cnn's: the report's structure at a sweep's scale is what
    the sweep tests check, and these jobs, a hundred of them for 51 models, would add minutes
    to every test run (tools/report_bench.py draws and times them all)."""
    for output, benchmark in STUDY_OUTPUTS.items():
        stand_in(workdir, output, finished_run / output, benchmark)
    for model in models:
        for figure, benchmark in PER_MODEL_FIGURES.items():
            source = finished_run / figure.format(model="cnn")
            stand_in(workdir, figure.format(model=model), source, benchmark.format(model=model))


def build_sweep(folder: Path, finished_run: Path) -> None:
    for size in SWEEP_SIZES:
        workdir = copy_workflow(folder / f"models-{size}")
        config = write_synthetic_run(workdir, size)
        models = settings_of(workdir, bench_config(size))
        swept = [model for model in models if model not in COURSEWORK_MODELS]
        with_stand_ins(workdir, finished_run, swept)
        snakemake(workdir, STUDY_REPORT, "--cores", "2", "--configfile", str(config))


@pytest.fixture(scope="session")
def sweeps(shared_tmp: Path, finished_smoke_run: Path) -> dict[int, Path]:
    """The workflow's folders of the 10- and 51-model sweeps, their reports built; made once
    per test run."""
    folder = once_per_test_run(
        shared_tmp, "sweep_reports", partial(build_sweep, finished_run=finished_smoke_run)
    )
    return {size: folder / f"models-{size}" for size in SWEEP_SIZES}


@pytest.fixture(scope="session")
def snakemake_report_run(finished_smoke_run: Path, shared_tmp: Path) -> Path:
    """A copy of the finished run with Snakemake's `--report` page of it beside the study's
    report: made once per test run for the browser tests and the captions test."""

    def make(folder: Path) -> None:
        workdir = folder / "workflow"
        shutil.copytree(finished_smoke_run, workdir, symlinks=True)
        snakemake(workdir, "--report", SNAKEMAKE_REPORT, *TINY)

    return once_per_test_run(shared_tmp, "snakemake_report_run", make) / "workflow"
