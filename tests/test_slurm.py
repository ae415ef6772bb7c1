"""The whole workflow through a real one-node SLURM cluster, started by tests/slurm_cluster.sh.

The cluster runs on this machine with one emulated GPU; jobs go through the slurm executor
plugin with a profile derived from profiles/slurm. Needs root and the Debian packages
slurmctld slurmd slurm-client munge (installed here with apt-get when missing).
Run alone with: pytest -m slurm -s tests/test_slurm.py
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import yaml
from conftest import REPO, SMOKE, copy_workflow, needs_debian_data, planned_jobs

pytestmark = [pytest.mark.slurm, pytest.mark.slow, needs_debian_data]

CLUSTER_SCRIPT = REPO / "tests" / "slurm_cluster.sh"
SLURM_PACKAGES = ("slurmctld", "slurmd", "slurm-client", "munge")
SLURM_BINARIES = ("slurmctld", "slurmd", "sbatch", "squeue", "scontrol", "munged")
# Threads (and SLURM CPUs) of each training job; the local reference run uses the same.
TRAIN_THREADS = min(2, os.cpu_count() or 1)
# On top of config/smoke.yaml: one epoch on fewer images, so the run takes about a minute.
FAST = {
    "data": {"subset": {"train": 512, "val": 256, "test": 256}},
    "models": {model: {"epochs": 1} for model in ("cnn", "cnn_regularized", "mlp")},
}
# Any Snakemake run here that takes longer is stuck (e.g. a status command that never answers).
RUN_TIMEOUT = 600
SUBMITTED = re.compile(
    r"Job \d+ has been submitted with SLURM jobid (\d+) "
    r"\(log: (\S+)/rule_(\w+)/(?:(\S+)/)?\d+\.log\)"
)
# Numbers that measure time, not results: they differ between any two runs.
TIMING_KEYS = {"seconds", "seconds_this_run"}
TABLES = ("test_accuracy.csv", "params.csv", "filter_errors.csv")


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


def run_snakemake(workdir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Like conftest.snakemake, with a time limit; stdout and stderr together in `.output`."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", *args],
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        timeout=RUN_TIMEOUT,
    )
    result.output = result.stdout
    if check and result.returncode != 0:
        raise AssertionError(
            f"snakemake {' '.join(args)} failed ({result.returncode}):\n{result.output[-8000:]}"
        )
    return result


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


def extra_configfile(directory: Path, name: str, content: dict) -> str:
    path = directory / name
    path.write_text(yaml.safe_dump(content))
    return str(path)


def write_test_profile(source: Path, destination: Path) -> Path:
    """profiles/slurm, made quick for a tiny local cluster; resource names and gpu unchanged."""
    profile = yaml.safe_load(source.read_text())
    profile.update(
        {
            # The plugin's default wait (40 s) would dominate; jobs here take ~6 s.
            "slurm-init-seconds-before-status-checks": 8,
            # This cluster has no accounting; the profile must already say so.
            "slurm-status-command": profile["slurm-status-command"],
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
    started = time.monotonic()
    try:
        result = subprocess.run(
            ["bash", str(CLUSTER_SCRIPT), "start", str(state)],
            capture_output=True,
            text=True,
            timeout=120,
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


def process_alive(pid: int) -> bool:
    """Running and not a zombie (nobody may reap the stopped daemons in a sandbox)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.fixture(scope="module")
def slurm_run(cluster: Path, tmp_path_factory: pytest.TempPathFactory):
    """The whole workflow, every job a SLURM job: (workdir, Snakemake output, extra args)."""
    root = tmp_path_factory.mktemp("slurm_run")
    workdir = copy_workflow(root / "workflow")
    profile = write_test_profile(workdir / "profiles/slurm/config.yaml", root / "profile")
    configs = (*SMOKE, extra_configfile(root, "fast.yaml", FAST))
    expected = planned_jobs(workdir, "all", extra=configs)
    started = time.monotonic()
    result = run_snakemake(workdir, "--profile", str(profile), "all", *configs)
    print(f"\nworkflow through SLURM: {time.monotonic() - started:.1f} s")
    return workdir, result.output, configs, expected, profile


@pytest.fixture(scope="module")
def local_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same settings run by the local executor, training with the same thread count."""
    root = tmp_path_factory.mktemp("local_run")
    workdir = copy_workflow(root / "workflow")
    configs = (*SMOKE, extra_configfile(root, "fast.yaml", FAST))
    targets = [f"results/tables/{name}" for name in TABLES]
    started = time.monotonic()
    run_snakemake(
        workdir, *targets, "--cores", "2", "--set-threads", f"train={TRAIN_THREADS}", *configs
    )
    print(f"\nlocal reference run: {time.monotonic() - started:.1f} s")
    return workdir


def test_every_job_runs_on_slurm_with_a_gpu_for_training(slurm_run):
    workdir, output, _, expected, _ = slurm_run
    jobs = submitted_jobs(output)
    print("\nsubmitted jobs (rule, wildcards, SLURM job id):")
    for rule, wildcards, jobid in jobs:
        print(f"  {rule:24} {wildcards:18} {jobid}")

    # Every job of the plan was submitted to SLURM, none ran on the login node.
    assert Counter(rule for rule, _, _ in jobs) == Counter(expected), output[-5000:]
    local = re.findall(r"^localrule (\w+):", output, flags=re.MULTILINE)
    assert set(local) <= {"all"}, local

    known = scontrol_jobs()
    for rule, wildcards, jobid in jobs:
        job = known.get(jobid)
        assert job is not None, f"SLURM does not know job {jobid} ({rule})"
        assert job["JobState"] == "COMPLETED", (rule, job)
        assert job["Comment"].startswith(f"rule_{rule}"), (rule, job)
        assert job["WorkDir"] == str(workdir)
        gpus = job.get("TresPerJob", "")
        if rule == "train":
            assert "gpu:1" in gpus, f"train {wildcards} got no GPU: {job}"
            assert job["NumCPUs"] == str(TRAIN_THREADS), job
        else:
            assert "gpu" not in gpus, f"{rule} asked for a GPU: {job}"

    # Inside the job, SLURM's GPU allocation is visible to training (which still runs on
    # the CPU: the emulated GPU is /dev/null).
    for model in ("cnn", "cnn_regularized", "mlp"):
        log = (workdir / f"logs/train/{model}/seed0.log").read_text()
        assert "CUDA_VISIBLE_DEVICES=0" in log, log[:2000]
        assert f"on cpu with {TRAIN_THREADS} threads" in log, log[:2000]

    for path in ("results/report/report.html", "results/plots/mlp_vs_cnn.png"):
        assert (workdir / path).stat().st_size > 0


def read_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return [
            {key: value for key, value in row.items() if key not in TIMING_KEYS}
            for row in csv.DictReader(handle)
        ]


def test_slurm_results_equal_a_local_run(slurm_run, local_run: Path):
    workdir = slurm_run[0]
    for model in ("cnn", "cnn_regularized", "mlp"):
        stem = f"results/metrics/{model}/seed0"
        assert read_rows(workdir / f"{stem}.csv") == read_rows(local_run / f"{stem}.csv"), model
        on_slurm, local = (
            {
                key: value
                for key, value in json.loads((run / f"{stem}.json").read_text()).items()
                if key not in TIMING_KEYS
            }
            for run in (workdir, local_run)
        )
        assert on_slurm == local, model
        assert on_slurm["device"] == "cpu"
    for name in TABLES:
        table = f"results/tables/{name}"
        assert (workdir / table).read_text() == (local_run / table).read_text(), name


def test_failed_cluster_job_shows_its_log(slurm_run, tmp_path: Path):
    """A setting that fails only inside a job: Snakemake names the job's logs and shows them."""
    finished, _, configs, _, profile = slurm_run
    workdir = tmp_path / "workflow"
    shutil.copytree(finished, workdir, symlinks=True)
    broken = extra_configfile(tmp_path, "broken.yaml", {"training": {"device": "cuda"}})
    target = "results/metrics/mlp/seed0.json"
    result = run_snakemake(
        workdir, "--profile", str(profile), target, *configs, broken, check=False
    )
    output = result.output
    assert result.returncode != 0, output[-5000:]
    jobs = submitted_jobs(output)
    assert [(rule, wildcards) for rule, wildcards, _ in jobs] == [("train", "mlp_0")], output
    jobid = jobs[0][2]
    assert scontrol_jobs()[jobid]["JobState"] == "FAILED"
    # The rule's log path, SLURM's log path, and (show-failed-logs) the error inside the log.
    assert "logs/train/mlp/seed0.log" in output, output[-5000:]
    assert f"rule_train/mlp_0/{jobid}.log" in output, output[-5000:]
    assert "PyTorch sees no GPU" in output, output[-5000:]
    print(f"\nfailed job as expected: train mlp_0, SLURM job id {jobid}")
