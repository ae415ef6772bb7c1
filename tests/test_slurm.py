"""The whole workflow through a real one-node SLURM cluster, started by tests/slurm_cluster.sh.

The cluster runs on this machine with three emulated GPUs; jobs go through the slurm executor
plugin with a profile derived from profiles/slurm. Needs root and the Debian packages
slurmctld slurmd slurm-client munge (installed here with apt-get when missing).
Run alone with: pytest -m slurm -s tests/test_slurm.py
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
import yaml
from conftest import DEBIAN_DATA, REPO, SMOKE, copy_workflow, job_stats, snakemake
from helpers import MODELS, learned_result, learned_rows, write_config

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

CLUSTER_SCRIPT = REPO / "tests" / "slurm_cluster.sh"
# Written by the script for the cluster's lifetime, then restored as they were.
HOST_CONFIG = (Path("/etc/slurm/slurm.conf"), Path("/etc/slurm/gres.conf"))
# The first line of each file the script writes: one left by a cluster that was never stopped
# is not the host's, and the script removes it when it stops.
CLUSTER_MARKER = b"# written by tests/slurm_cluster.sh"
SLURM_PACKAGES = ("slurmctld", "slurmd", "slurm-client", "munge")
SLURM_BINARIES = ("slurmctld", "slurmd", "sbatch", "squeue", "scontrol", "munged", "munge")
# Threads (and SLURM CPUs) of each training job; the local reference run uses the same.
TRAIN_THREADS = min(2, os.cpu_count() or 1)
# A GPU for each training and CPUs for all three at once, so that they run side by side: the
# jobs spend most of their time starting and waiting for Snakemake's next status check.
CLUSTER_SIZE = {"SLURM_GPUS": str(len(MODELS)), "SLURM_CPUS": str(len(MODELS) * TRAIN_THREADS)}
# On top of config/smoke.yaml: one epoch on fewer images, to keep the runs short.
FAST = {
    "data": {"subset": {"train": 256, "val": 128, "test": 256}},
    "models": {model: {"epochs": 1} for model in MODELS},
}
# Any Snakemake run here that takes longer is stuck (e.g. a status command that never answers).
RUN_TIMEOUT = 600
SUBMITTED = re.compile(
    r"Job \d+ has been submitted with SLURM jobid (\d+) "
    r"\(log: (\S+)/rule_(\w+)/(?:(\S+)/)?\d+\.log\)"
)
TABLES = ("test_accuracy.csv", "params.csv", "filter_errors.csv", "per_class_accuracy.csv")
FAILING_TARGET = "resources/fashion_mnist/raw/train-images-idx3-ubyte.gz"


def slurm_unavailable() -> str | None:
    """Why SLURM cannot be used here, or None; installs the packages when root has apt-get."""
    if os.geteuid() != 0:
        return "needs root to start a throwaway SLURM cluster (slurmd runs jobs as their user)"
    if all(shutil.which(name) for name in SLURM_BINARIES):
        return None
    if not shutil.which("apt-get"):
        missing = [name for name in SLURM_BINARIES if not shutil.which(name)]
        return f"SLURM binaries missing ({', '.join(missing)}) and no apt-get to install them"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *SLURM_PACKAGES]
    result = subprocess.run(install, capture_output=True, text=True, env=env)
    if result.returncode != 0:  # perhaps stale package lists
        subprocess.run(["apt-get", "update", "-qq"], capture_output=True, env=env)
        result = subprocess.run(install, capture_output=True, text=True, env=env)
    missing = [name for name in SLURM_BINARIES if not shutil.which(name)]
    if missing:
        return (
            f"SLURM binaries missing ({', '.join(missing)}) and "
            f"`{' '.join(install)}` failed: {result.stderr.strip()[-500:]}"
        )
    return None


def submitted_jobs(output: str) -> list[tuple[str, str, str]]:
    """(rule, wildcards, SLURM job id) of every job Snakemake submitted, from its output."""
    return [
        (rule, wildcards or "", jobid) for jobid, _, rule, wildcards in SUBMITTED.findall(output)
    ]


def scontrol_jobs() -> dict[str, dict[str, str]]:
    """Every job slurmctld remembers (MinJobAge=600 keeps finished ones): id -> fields."""
    text = subprocess.run(
        ["scontrol", "--oneliner", "show", "job"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    jobs = {}
    for line in text.splitlines():
        fields = dict(re.findall(r"(\w+)=(\S*)", line))
        if "JobId" in fields:
            jobs[fields["JobId"]] = fields
    return jobs


def print_jobs(jobs: list[tuple[str, str, str]], known: dict[str, dict[str, str]]) -> None:
    """The submitted jobs with their submit, start and end times (s after the first submit)."""

    def seconds(job: dict[str, str], key: str) -> float:
        return datetime.fromisoformat(job[key]).timestamp()

    found = [known[jobid] for _, _, jobid in jobs if jobid in known]
    origin = min((seconds(job, "SubmitTime") for job in found), default=0.0)
    print(f"\n{len(jobs)} jobs submitted (rule, wildcards, SLURM job id, submit/start/end in s):")
    for rule, wildcards, jobid in jobs:
        job = known.get(jobid)
        times = (
            " ".join(
                f"{seconds(job, key) - origin:5.0f}"
                for key in ("SubmitTime", "StartTime", "EndTime")
            )
            if job
            else "unknown to SLURM"
        )
        print(f"  {rule:24} {wildcards:18} {jobid:>5}  {times}")


def write_test_profile(source: Path, destination: Path) -> Path:
    """profiles/slurm, made quick for a tiny local cluster; resource names and gpu unchanged."""
    profile = yaml.safe_load(source.read_text())
    profile.update(
        {
            # The plugin's default wait (40 s) would dominate; jobs here take ~6 s.
            "slurm-init-seconds-before-status-checks": 8,
            # This cluster has no accounting (profiles/slurm sets this too).
            "slurm-status-command": "squeue",
            # Keep SLURM's own job logs as evidence.
            "slurm-keep-successful-logs": True,
            "latency-wait": 5,
        }
    )
    profile["default-resources"].update(mem_mb=500, runtime=10)
    profile["set-resources"]["train"].update(mem_mb=1500, runtime=10)
    profile["set-threads"]["train"] = TRAIN_THREADS
    destination.mkdir(parents=True, exist_ok=True)
    (destination / "config.yaml").write_text(yaml.safe_dump(profile, sort_keys=False))
    return destination


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory):
    """A running one-node cluster with one GPU; stopped (by recorded PIDs) afterwards."""
    reason = slurm_unavailable()
    if reason:
        pytest.skip(reason)
    state = tmp_path_factory.mktemp("slurm_cluster")
    host_config = host_slurm_config()
    started = time.monotonic()
    try:
        result = subprocess.run(
            ["bash", str(CLUSTER_SCRIPT), "start", str(state)],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, **CLUSTER_SIZE},
        )
        assert result.returncode == 0, f"cluster did not start:\n{result.stdout}{result.stderr}"
        yield state
    finally:
        pid_file = state / "pids"
        pids = (
            [line.split() for line in pid_file.read_text().splitlines()]
            if pid_file.exists()
            else []
        )
        stop = subprocess.run(
            ["bash", str(CLUSTER_SCRIPT), "stop", str(state)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        print(
            f"\nSLURM cluster: {time.monotonic() - started:.1f} s from start to stop; "
            f"daemons started: {' '.join(f'{name}={pid}' for name, pid in pids)}"
        )
        assert stop.returncode == 0, f"cluster did not stop:\n{stop.stdout}{stop.stderr}"
        for name, pid in pids:
            assert not process_alive(int(pid)), f"{name} (PID {pid}) still runs after stop"
        assert host_slurm_config(include_clusters=True) == host_config, (
            "/etc/slurm was not restored"
        )


def host_slurm_config(include_clusters: bool = False) -> dict[Path, bytes]:
    """/etc/slurm's files the script touches; those of a cluster only with include_clusters."""
    files = {path: path.read_bytes() for path in HOST_CONFIG if path.exists()}
    return {
        path: text
        for path, text in files.items()
        if include_clusters or not text.startswith(CLUSTER_MARKER)
    }


def process_alive(pid: int) -> bool:
    """Running and not a zombie (nobody may reap the stopped daemons in a sandbox)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def start_snakemake(workdir: Path, *args: str, cache: Path) -> subprocess.Popen:
    """Snakemake in the background with result cache `cache`, its output going to
    `workdir`/snakemake.out."""
    with open(workdir / "snakemake.out", "w") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "snakemake", *args],
            cwd=workdir,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", "SNAKEMAKE_OUTPUT_CACHE": str(cache)},
        )


def finish_snakemake(process: subprocess.Popen, workdir: Path, expect_success: bool = True) -> str:
    try:
        process.wait(timeout=RUN_TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    output = (workdir / "snakemake.out").read_text()
    failed = f"snakemake failed ({process.returncode}):\n{output[-8000:]}"
    assert process.returncode == 0 or not expect_success, failed
    return output


@dataclass(frozen=True)
class Runs:
    slurm: Path  # the workflow run through SLURM
    output: str  # its Snakemake output
    local: Path  # the same settings run by the local executor
    failed: subprocess.CompletedProcess  # a run whose one SLURM job fails


def start_failing_run(root: Path) -> tuple[subprocess.Popen, Path]:
    """A setting that fails only inside a job (a mirror that does not exist), through SLURM,
    in the background: Snakemake must name the job's logs and show them."""
    workdir = copy_workflow(root / "failing")
    profile = write_test_profile(workdir / "profiles/slurm/config.yaml", root / "failing_profile")
    broken = {"data": {"mirrors": ["file:///nonexistent/fashion-mnist-mirror/"]}}
    process = start_snakemake(
        workdir,
        "--profile",
        str(profile),
        FAILING_TARGET,
        *SMOKE,
        str(root / write_config(root, broken, "broken.yaml")),
        cache=root / "failing_cache",  # empty: the session's holds a download the job would reuse
    )
    return process, workdir


@pytest.fixture(scope="module")
def runs(cluster: Path, tmp_path_factory: pytest.TempPathFactory) -> Runs:
    """The whole workflow with every job a SLURM job, a local reference run of it, and a run
    whose job fails. Beside the SLURM run, which spends most of its time waiting between
    status checks, the other two run in the background."""
    if not DEBIAN_DATA.is_dir():
        pytest.skip("needs Debian's dataset-fashion-mnist package")
    root = tmp_path_factory.mktemp("runs")
    configs = (*SMOKE, str(root / write_config(root, FAST, "fast.yaml")))
    local = copy_workflow(root / "local")
    slurm = copy_workflow(root / "slurm")
    profile = write_test_profile(slurm / "profiles/slurm/config.yaml", root / "profile")
    started = time.monotonic()
    failing_process, failing = start_failing_run(root)
    # The same training threads as the SLURM jobs get.
    tables = [f"results/tables/{name}" for name in TABLES]
    threads = f"train={TRAIN_THREADS}"
    local_process = start_snakemake(
        local,
        *tables,
        "--cores",
        "2",
        "--set-threads",
        threads,
        *configs,
        cache=root / "local_cache",
    )
    try:
        # A result cache of its own: the local run would otherwise feed it its trainings.
        result = snakemake(
            slurm,
            "--profile",
            str(profile),
            "all",
            *configs,
            timeout=RUN_TIMEOUT,
            cache=root / "slurm_cache",
        )
    except BaseException:
        for process in (local_process, failing_process):
            process.kill()
            process.wait()
        raise
    print(f"\nworkflow through SLURM: {time.monotonic() - started:.1f} s")
    finish_snakemake(local_process, local)
    print(f"local reference run (alongside) done after {time.monotonic() - started:.1f} s")
    failed_output = finish_snakemake(failing_process, failing, expect_success=False)
    failed = subprocess.CompletedProcess(
        failing_process.args, failing_process.returncode, failed_output
    )
    return Runs(slurm=slurm, output=result.output, local=local, failed=failed)


def test_every_job_runs_on_slurm_with_a_gpu_for_training(runs: Runs):
    jobs = submitted_jobs(runs.output)
    known = scontrol_jobs()
    print_jobs(jobs, known)

    # Every job Snakemake planned went to SLURM; none ran on the login node (`all` has no code).
    assert Counter(rule for rule, _, _ in jobs) == Counter(job_stats(runs.output))
    local = re.findall(r"^localrule (\w+):", runs.output, flags=re.MULTILINE)
    assert set(local) <= {"all"}, local

    for rule, wildcards, jobid in jobs:
        job = known.get(jobid)
        assert job is not None, f"SLURM does not know job {jobid} ({rule})"
        assert job["JobState"] == "COMPLETED", (rule, job)
        assert job["Comment"].startswith(f"rule_{rule}"), (rule, job)
        assert job["WorkDir"] == str(runs.slurm)
        gpus = job.get("TresPerJob", "")
        if rule == "train":
            assert "gpu:1" in gpus, f"train {wildcards} got no GPU: {job}"
            assert job["NumCPUs"] == str(TRAIN_THREADS), job
        else:
            assert "gpu" not in gpus, f"{rule} asked for a GPU: {job}"

    # Snakemake leaves the trainings to SLURM's own limits: all three go out together, before
    # one finishes (the cluster has a GPU and CPUs for each), not one after the other as the
    # local limits (a GPU slot, the login node's CPUs) would have them.
    lines = runs.output.splitlines()
    submitted = [i for i, line in enumerate(lines) if "rule_train/" in line and "submitted" in line]
    first_done = next(i for i, line in enumerate(lines) if "(Rule: train)" in line)
    assert len(submitted) == len(MODELS) and max(submitted) < first_done, lines[:first_done]

    # Inside the job, SLURM's GPU allocation is visible to training (which still runs on the
    # CPU: the emulated GPU is /dev/null), with the threads SLURM granted.
    for model in MODELS:
        log = (runs.slurm / f"logs/train/{model}/seed0.log").read_text()
        assert re.search(r"CUDA_VISIBLE_DEVICES=\d\)", log), log[:2000]
        assert f"on cpu with {TRAIN_THREADS} threads" in log, log[:2000]

    for path in ("results/report/report.html", "results/plots/mlp_vs_cnn.png"):
        assert (runs.slurm / path).stat().st_size > 0


def test_slurm_results_equal_a_local_run(runs: Runs):
    for model in MODELS:
        stem = f"results/metrics/{model}/seed0"
        assert learned_rows(runs.slurm / f"{stem}.csv") == learned_rows(runs.local / f"{stem}.csv")
        on_slurm = learned_result(runs.slurm / f"{stem}.json")
        assert on_slurm == learned_result(runs.local / f"{stem}.json"), model
        assert on_slurm["device"] == "cpu"
        assert on_slurm["threads"] == TRAIN_THREADS
    for name in TABLES:
        table = f"results/tables/{name}"
        assert (runs.slurm / table).read_text() == (runs.local / table).read_text(), name


def test_cluster_jobs_keep_their_results_in_the_shared_cache(runs: Runs):
    """The cluster jobs stored their outputs in the cache folder (a shared file system here)."""
    for model in MODELS:
        metrics = runs.slurm / f"results/metrics/{model}/seed0.csv"
        assert metrics.is_symlink(), f"{model} was not stored in the cache"
        assert metrics.resolve().parent == (runs.slurm.parent / "slurm_cache").resolve()


def test_failed_cluster_job_shows_its_log(runs: Runs):
    """A setting that fails only inside a job: Snakemake names the job's logs and shows them."""
    output = runs.failed.stdout
    assert runs.failed.returncode != 0, output[-5000:]
    jobs = submitted_jobs(output)
    assert [rule for rule, _, _ in jobs] == ["download_fashion_mnist"], output[-5000:]
    jobid = jobs[0][2]
    assert scontrol_jobs()[jobid]["JobState"] == "FAILED"
    # The rule's log and SLURM's log by path, and the error inside the log (show-failed-logs).
    assert "logs/download_fashion_mnist/download.log" in output, output[-5000:]
    assert f"rule_download_fashion_mnist/{jobid}.log" in output, output[-5000:]
    assert "could not fetch a verified copy" in output, output[-5000:]
    print(f"\nfailed as expected: download_fashion_mnist, SLURM job id {jobid}")
