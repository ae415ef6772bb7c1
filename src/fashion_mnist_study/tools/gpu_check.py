"""Check the GPU path in one command: the tests that need CUDA, the training benchmark, and the
whole study in fresh folders, then one summary of where the time went.

    python -m fashion_mnist_study.tools.gpu_check [--data DIR] [--workdir DIR] [--cores N]
        [--configfile FILE ...]

(`make gpu-check` runs this in an environment made from the machine's own PyTorch.) The study
runs twice: as a local run does, trainings taking turns on the GPU, then with all three
trainings sharing it (`--resources gpu=3`); their numbers must be identical. A third run
trains in bfloat16 mixed precision (`training.precision: bfloat16`), for its times and
accuracies beside float32's. `--configfile` adds config files on top of each study's (fewer
epochs make a quicker check). Without a GPU it checks the same path on the CPU with the smoke
settings, says so, and exits with status 1: nothing about the GPU was checked. Each step's
whole output goes to a log file in the work folder.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path

import yaml

from fashion_mnist_study.analysis.results import learned
from fashion_mnist_study.core.checkout import REPO, copy_workflow
from fashion_mnist_study.core.hardware import usable_cpus
from fashion_mnist_study.core.progress import load_rows

SMOKE_CONFIG = "config/smoke.yaml"
CUDA_TESTS = "cuda tests"
# The study's three trainings at once on one GPU (hardware.TRAININGS_PER_GPU is the default).
SHARED_GPU = ["--resources", "gpu=3"]
# Without a GPU the benchmark only shows that it runs: a short float32 round (bfloat16 may be
# emulated on the CPU, and minutes slower).
CPU_BENCH = ["--images", "64", "--rounds", "1", "--precisions", "float32"]


@dataclass
class Step:
    """One command of the check: its name, whether it passed, its seconds, its log."""

    name: str
    returncode: int
    seconds: float
    log: Path
    output: str = field(repr=False, default="")

    @property
    def passed(self) -> bool:
        return self.returncode == 0


def run_step(name: str, command: list[str], cwd: Path, log: Path, timeout: float) -> Step:
    """Run `command`, its output (both streams) into `log`; print one line on how it went,
    and the end of its output when it failed."""
    started = time.perf_counter()
    try:
        result = subprocess.run(
            command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout
        )
        returncode, output = result.returncode, result.stdout.decode(errors="replace")
    except subprocess.TimeoutExpired as error:
        returncode = 124
        output = (error.output or b"").decode(errors="replace")
        output += f"\n[gpu-check: stopped after {timeout:.0f} s]\n"
    seconds = time.perf_counter() - started
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(f"$ {' '.join(command)}\n{output}")
    status = "ok" if returncode == 0 else f"FAILED (exit {returncode})"
    print(f"[{name}] {status} in {seconds:.1f} s; log: {log}", flush=True)
    if returncode != 0:
        print("\n".join(output.splitlines()[-40:]), flush=True)
    return Step(name, returncode, seconds, log, output)


# --- What Snakemake printed: when each job started and finished -----------------------------

TIMESTAMP = re.compile(r"^\[(\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4})\]$")
JOB_START = re.compile(r"^(?:local)?(?:rule|checkpoint) (\w+):$")
JOB_ID = re.compile(r"^\s+jobid: (\d+)$")
WILDCARDS = re.compile(r"^\s+wildcards: (.*)$")
JOB_END = re.compile(r"^Finished jobid: (\d+) \(Rule: (\w+)\)$")


@dataclass
class JobSpan:
    rule: str
    wildcards: str
    start: datetime
    end: datetime | None = None

    @property
    def label(self) -> str:
        return f"{self.rule} {self.wildcards}".strip()


def job_spans(snakemake_output: str) -> list[JobSpan]:
    """Every job Snakemake started, in order, with its start and end to the second (the
    resolution of Snakemake's timestamps). The `all` target is left out."""
    spans: dict[str, JobSpan] = {}
    stamp: datetime | None = None
    pending: JobSpan | None = None
    for line in snakemake_output.splitlines():
        if match := TIMESTAMP.match(line):
            stamp = datetime.strptime(match[1], "%a %b %d %H:%M:%S %Y")
        elif (match := JOB_START.match(line)) and stamp is not None:
            pending = JobSpan(match[1], "", stamp)
        elif (match := WILDCARDS.match(line)) and pending is not None:
            pending.wildcards = match[1]
        elif (match := JOB_ID.match(line)) and pending is not None:
            spans[match[1]] = pending
        elif (match := JOB_END.match(line)) and stamp is not None and match[1] in spans:
            spans[match[1]].end = stamp
    return [span for span in spans.values() if span.rule != "all"]


# --- What the training jobs wrote -----------------------------------------------------------


def training_results(workdir: Path) -> list[dict]:
    """The test JSON of every training job in `workdir`, by model and seed."""
    paths = sorted((workdir / "results/metrics").glob("*/seed*.json"))
    return [json.loads(path.read_text()) for path in paths]


def learned_numbers(workdir: Path) -> dict[str, object]:
    """Per training output file, everything but its timings: what must not depend on how the
    trainings were scheduled."""
    numbers: dict[str, object] = {}
    for path in sorted((workdir / "results/metrics").glob("*/seed*.*")):
        key = str(path.relative_to(workdir))
        if path.suffix == ".csv":
            numbers[key] = [learned(row) for row in load_rows(path)]
        elif path.suffix == ".json":
            numbers[key] = learned(json.loads(path.read_text()))
    return numbers


def differences(a: dict[str, object], b: dict[str, object]) -> list[str]:
    """The files whose learned numbers differ between two runs (or exist in one only)."""
    return sorted(key for key in a.keys() | b.keys() if a.get(key) != b.get(key))


# --- The summary ----------------------------------------------------------------------------


@dataclass
class StudyRun:
    label: str
    workdir: Path
    step: Step

    def spans(self) -> list[JobSpan]:
        return job_spans(self.step.output)


def training_table(run: StudyRun) -> list[str]:
    """Per training job: training seconds, test accuracy, and the seconds before its first
    step, phase by phase; then when the trainings ran within the workflow."""
    results = training_results(run.workdir)
    if not results:
        return ["  no training results"]
    phases = list(results[0].get("seconds_before_first_step", {}))
    lines = [
        f"  {'training job':<24}{'train s':>9}{'test acc':>10}{'before 1st step s':>19}  "
        + " + ".join(phases)
    ]
    for result in results:
        before = result.get("seconds_before_first_step", {})
        lines.append(
            f"  {result['model'] + ' seed ' + str(result['seed']):<24}"
            f"{result['seconds']:>9.1f}{result['test_acc']:>10.2%}"
            f"{sum(before.values()):>19.1f}  "
            + " + ".join(f"{before.get(phase, 0.0):.2f}" for phase in phases)
        )
    return lines


def timeline(run: StudyRun) -> list[str]:
    """Each job's start and end in seconds from the workflow's first job (1 s resolution)."""
    spans = run.spans()
    if not spans:
        return ["  no jobs found in Snakemake's output"]
    origin = min(span.start for span in spans)
    lines = [f"  {'job':<44}{'start':>7}{'end':>6}"]
    for span in sorted(spans, key=lambda s: (s.start, s.end or s.start)):
        end = f"{(span.end - origin).total_seconds():>6.0f}" if span.end else f"{'-':>6}"
        lines.append(f"  {span.label[:43]:<44}{(span.start - origin).total_seconds():>7.0f}{end}")
    return lines


def pytest_counts(pytest_output: str) -> dict[str, int]:
    """The counts of pytest's last line: {'passed': 3, 'skipped': 1, ...}."""
    pattern = r"(\d+) (passed|failed|skipped|deselected|errors?)\b"
    return {word: int(count) for count, word in re.findall(pattern, pytest_output)}


def summary(device: str, steps: list[Step], studies: list[StudyRun], identical: str) -> str:
    lines = ["", "=" * 30 + " gpu-check summary " + "=" * 30, f"device: {device}"]
    for step in steps:
        status = "ok" if step.passed else f"FAILED (exit {step.returncode})"
        detail = ""
        if step.name == CUDA_TESTS:
            counts = pytest_counts(step.output)
            detail = f" ({', '.join(f'{n} {word}' for word, n in counts.items())})"
        lines.append(f"{step.name}: {status}, {step.seconds:.1f} s{detail}")
    for study in studies:
        lines.append("")
        lines.append(f"{study.label}: wall {study.step.seconds:.1f} s")
        lines += training_table(study)
        lines += timeline(study)
    if identical:
        lines += ["", identical]
    return "\n".join(lines)


# --- The check ------------------------------------------------------------------------------


def describe_device() -> tuple[str, bool]:
    import torch  # here, not at import: the module's helpers serve tests without torch's start

    cpus = usable_cpus()
    if not torch.cuda.is_available():
        return f"cpu, {cpus} CPUs, torch {torch.__version__} (no CUDA GPU visible)", False
    name = torch.cuda.get_device_name(0)
    return f"{name}, torch {torch.__version__}, CUDA {torch.version.cuda}, {cpus} CPUs", True


def config_overrides(
    workdir: Path,
    data: Path | None,
    smoke: bool,
    precision: str = "float32",
    extra: tuple[Path, ...] = (),
) -> list[str]:
    """--configfile arguments: the smoke settings on the CPU; the user's `extra` files on top;
    `data` as the first mirror (where the files come from changes no output); the trainings'
    precision."""
    files = [SMOKE_CONFIG] if smoke else []
    files += [str(path.resolve()) for path in extra]
    override: dict = {}
    if data is not None:
        mirrors = yaml.safe_load((workdir / "config/config.yaml").read_text())["data"]["mirrors"]
        override["data"] = {"mirrors": [str(data.resolve()), *mirrors]}
    if precision != "float32":
        override["training"] = {"precision": precision}
    if override:
        path = workdir / "config/gpu_check.yaml"
        path.write_text(yaml.safe_dump(override))
        files.append(str(path.relative_to(workdir)))
    return ["--configfile", *files] if files else []


def run_study(
    label: str,
    workdir: Path,
    cores: int,
    data: Path | None,
    smoke: bool,
    extra: list[str],
    precision: str = "float32",
    configfiles: tuple[Path, ...] = (),
) -> StudyRun:
    copy_workflow(workdir)
    command = [sys.executable, "-m", "snakemake", "all", "--cores", str(cores), *extra]
    command += config_overrides(workdir, data, smoke, precision, configfiles)
    step = run_step(label, command, workdir, workdir / "snakemake.log", timeout=1800)
    return StudyRun(label, workdir, step)


def run_studies(
    workdir: Path, cores: int, data: Path | None, has_gpu: bool, configfiles: tuple[Path, ...]
) -> tuple[list[StudyRun], str, bool]:
    """On a GPU: the study taking turns on it, sharing it (the numbers must be identical), and
    in bfloat16; without one, the smoke study on the CPU; `configfiles` on top of each. Returns
    the runs, the line on whether the numbers were identical, and whether they were (or
    nothing was compared)."""
    run = partial(run_study, cores=cores, data=data, configfiles=configfiles)
    studies = [
        run(
            "study (snakemake all, default config)" if has_gpu else "study (smoke, CPU)",
            workdir / "default",
            smoke=not has_gpu,
            extra=[],
        ),
    ]
    if not has_gpu:
        return studies, "", True
    studies.append(
        run(
            f"study, three trainings sharing the GPU ({' '.join(SHARED_GPU)})",
            workdir / "shared",
            smoke=False,
            extra=SHARED_GPU,
        )
    )
    identical, same_numbers = "", True
    if all(study.step.passed for study in studies):
        differ = differences(*(learned_numbers(study.workdir) for study in studies))
        same_numbers = not differ
        identical = "numbers identical in both arrangements: " + (
            "yes" if same_numbers else "NO, they differ in " + ", ".join(differ)
        )
    studies.append(
        run(
            "study in bfloat16 (training.precision: bfloat16)",
            workdir / "bfloat16",
            smoke=False,
            extra=[],
            precision="bfloat16",
        )
    )
    return studies, identical, same_numbers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data",
        type=Path,
        help="a folder holding the four Fashion-MNIST .gz "
        "files, tried before config.yaml's mirrors",
    )
    parser.add_argument(
        "--workdir", type=Path, help="where the study runs (default: a new temporary folder)"
    )
    parser.add_argument("--cores", type=int, default=usable_cpus())
    parser.add_argument(
        "--configfile",
        type=Path,
        nargs="+",
        default=[],
        metavar="FILE",
        help="config files on top of each study's own (fewer epochs, say, for a quicker check)",
    )
    args = parser.parse_args(argv)
    if args.data is not None and not args.data.is_dir():
        parser.error(f"--data {args.data}: no such folder")
    for path in args.configfile:
        if not path.is_file():
            parser.error(f"--configfile {path}: no such file")
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="gpu-check-"))
    if workdir.exists() and any(workdir.iterdir()):
        parser.error(f"--workdir {workdir} is not empty: the study must run in a fresh folder")
    workdir.mkdir(parents=True, exist_ok=True)

    device, has_gpu = describe_device()
    print(f"gpu-check on {device}; logs and studies in {workdir}", flush=True)
    if not has_gpu:
        print("No CUDA GPU: checking the CPU path with the smoke settings instead.", flush=True)
    python = [sys.executable, "-m"]
    bench = [*python, "fashion_mnist_study.tools.bench"]
    steps = [
        run_step(
            CUDA_TESTS,
            [*python, "pytest", "-m", "cuda", "-p", "no:cacheprovider", "-q", str(REPO / "tests")],
            REPO,
            workdir / "cuda_tests.log",
            900,
        ),
        run_step(
            "benchmark", [*bench, *([] if has_gpu else CPU_BENCH)], REPO, workdir / "bench.log", 600
        ),
    ]
    if has_gpu:
        steps.append(
            run_step(
                "benchmark, side by side",
                [*bench, "--side-by-side", "--images", "16384", "--rounds", "1"],
                REPO,
                workdir / "bench_side_by_side.log",
                600,
            )
        )
    counts = pytest_counts(steps[0].output)
    if has_gpu and steps[0].passed and (not counts.get("passed") or "skipped" in counts):
        steps[0].returncode = 1  # with a GPU, every CUDA test must run and pass
        print(f"[{CUDA_TESTS}] FAILED: with a GPU, no CUDA test may be skipped", flush=True)
    for step in steps[1:]:
        print(step.output if step.passed else "", end="", flush=True)

    studies, identical, same_numbers = run_studies(
        workdir, args.cores, args.data, has_gpu, tuple(args.configfile)
    )
    passed = same_numbers and all(step.passed for step in steps + [s.step for s in studies])
    print(summary(device, steps, studies, identical), flush=True)
    if not has_gpu:
        print("\nNo CUDA GPU: only the CPU fallback ran; the GPU path was not checked.")
        return 1
    print(f"\ngpu-check {'passed' if passed else 'FAILED'}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
