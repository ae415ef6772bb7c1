"""`make gpu-check`: its reading of Snakemake's and the jobs' output, and its CPU fallback."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
import torch
import yaml
from conftest import REPO, TINY_CONFIG, needs_debian_data, replace_file, smoke_run_output
from helpers import MODELS, write_config

from fashion_mnist_study.core.progress import load_rows
from fashion_mnist_study.tools.gpu_check import (
    Step,
    StudyRun,
    config_overrides,
    differences,
    job_spans,
    learned_numbers,
    main,
    pytest_counts,
    summary,
)

SNAKEMAKE_OUTPUT = """\
Select jobs to execute...
[Sat Nov 28 01:53:29 2026]
localrule download_fashion_mnist:
    output: resources/fashion_mnist/raw/train-images-idx3-ubyte.gz
    jobid: 4
    reason: Missing output files
    resources: tmpdir=/tmp
[Sat Nov 28 01:53:30 2026]
Finished jobid: 4 (Rule: download_fashion_mnist)
1 of 3 steps (33%) done

[Sat Nov 28 01:53:31 2026]
localrule train:
    jobid: 10
    wildcards: model=cnn_regularized, seed=0
    priority: 1

[Sat Nov 28 01:53:31 2026]
rule train:
    jobid: 9
    wildcards: model=cnn, seed=0
[Sat Nov 28 01:53:45 2026]
Finished jobid: 9 (Rule: train)
[Sat Nov 28 01:53:47 2026]
Finished jobid: 10 (Rule: train)
[Sat Nov 28 01:53:48 2026]
localrule all:
    jobid: 0
[Sat Nov 28 01:53:48 2026]
Finished jobid: 0 (Rule: all)
"""


def test_each_job_runs_from_its_start_line_to_its_finished_line() -> None:
    spans = job_spans(SNAKEMAKE_OUTPUT)
    assert [span.label for span in spans] == [
        "download_fashion_mnist",
        "train model=cnn_regularized, seed=0",
        "train model=cnn, seed=0",
    ]
    assert [(span.start.second, span.end.second) for span in spans] == [
        (29, 30),
        (31, 47),
        (31, 45),
    ]
    assert spans[0].start == datetime(2026, 11, 28, 1, 53, 29)


def test_a_job_that_never_finished_has_no_end() -> None:
    cut = SNAKEMAKE_OUTPUT.split("[Sat Nov 28 01:53:47 2026]")[0]
    assert [span.end is None for span in job_spans(cut)] == [False, True, False]


def test_pytest_counts_are_read_from_its_last_line() -> None:
    output = "...s\n3 passed, 1 skipped, 245 deselected in 12.31s\n"
    assert pytest_counts(output) == {"passed": 3, "skipped": 1, "deselected": 245}
    assert pytest_counts("1 failed, 2 passed, 1 error in 3s") == {
        "failed": 1,
        "passed": 2,
        "error": 1,
    }


def write_csv_rows(path: Path, rows: list[dict]) -> None:
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    replace_file(path, text.getvalue().encode())


def test_learned_numbers_ignore_timings_but_not_what_was_learned(smoke_run_copy: Path) -> None:
    reference = learned_numbers(smoke_run_copy)
    assert len(reference) == 6  # a CSV and a JSON per model
    metrics = smoke_run_copy / "results/metrics/cnn/seed0.csv"
    rows = load_rows(metrics)
    result_path = smoke_run_copy / "results/metrics/mlp/seed0.json"
    result = json.loads(result_path.read_text())

    write_csv_rows(metrics, [{**row, "seconds": "99.0"} for row in rows])
    changed = {**result, "seconds": 1.0, "seconds_this_run": 1.0}
    replace_file(result_path, json.dumps(changed).encode())
    assert differences(reference, learned_numbers(smoke_run_copy)) == []

    write_csv_rows(metrics, [{**rows[0], "val_acc": "0.5"}, *rows[1:]])
    replace_file(
        result_path, json.dumps({**result, "test_acc": result["test_acc"] + 0.01}).encode()
    )
    assert differences(reference, learned_numbers(smoke_run_copy)) == [
        "results/metrics/cnn/seed0.csv",
        "results/metrics/mlp/seed0.json",
    ]


def test_summary_names_each_training_its_accuracy_and_its_start_up(
    finished_smoke_run: Path,
) -> None:
    output = smoke_run_output(finished_smoke_run)
    run = StudyRun(
        "study (smoke, CPU)", finished_smoke_run, Step("study", 0, 21.5, Path("x"), output)
    )
    text = summary("cpu, 2 CPUs", [Step("cuda tests", 0, 3.0, Path("y"), "3 skipped")], [run], "")
    assert "device: cpu, 2 CPUs" in text
    assert "cuda tests: ok, 3.0 s (3 skipped)" in text
    assert "study (smoke, CPU): wall 21.5 s" in text
    for model in MODELS:
        result = json.loads(
            (finished_smoke_run / f"results/metrics/{model}/seed0.json").read_text()
        )
        line = next(line for line in text.splitlines() if line.startswith(f"  {model} seed 0 "))
        assert f"{result['test_acc']:.2%}" in line
        assert f"{result['seconds']:.1f}" in line
        before = result["seconds_before_first_step"]
        assert f"{sum(before.values()):.1f}" in line
    timeline = {
        match[1].strip(): (int(match[2]), int(match[3]))
        for match in re.finditer(r"^  (\S.*?)\s+(\d+)\s+(\d+)$", text, re.MULTILINE)
    }
    assert min(start for start, _ in timeline.values()) == 0
    assert timeline["download_fashion_mnist"][1] <= timeline["prepare_splits"][0]
    train = timeline["train model=cnn, seed=0"]
    assert timeline["prepare_splits"][1] <= train[0] <= train[1] <= timeline["report"][0]


def test_a_used_workdir_or_a_missing_data_folder_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    used, nowhere = tmp_path / "used", tmp_path / "nowhere"
    used.mkdir()
    (used / "something").write_text("")
    with pytest.raises(SystemExit) as refused:
        main(["--workdir", str(used)])
    assert refused.value.code == 2
    assert f"--workdir {used} is not empty" in capsys.readouterr().err
    # With the used workdir too: were the data folder not refused, the workdir would be, and
    # the check would never start.
    with pytest.raises(SystemExit) as refused:
        main(["--data", str(nowhere), "--workdir", str(used)])
    assert refused.value.code == 2
    assert f"--data {nowhere}: no such folder" in capsys.readouterr().err
    with pytest.raises(SystemExit) as refused:
        main(["--configfile", str(nowhere / "quick.yaml"), "--workdir", str(used)])
    assert refused.value.code == 2
    assert f"--configfile {nowhere / 'quick.yaml'}: no such file" in capsys.readouterr().err


@pytest.mark.slow
@needs_debian_data
@pytest.mark.skipif(
    torch.cuda.is_available(), reason="checks the fallback for machines without GPU"
)
def test_without_a_gpu_the_check_runs_on_the_cpu_and_says_the_gpu_was_not_checked(
    finished_smoke_run: Path, tmp_path: Path
) -> None:
    # The suite's settings on top: the study restores the finished run's trainings.
    check = ["fashion_mnist_study.tools.gpu_check", "--configfile", str(TINY_CONFIG)]
    result = subprocess.run(
        [sys.executable, "-m", *check, "--workdir", str(tmp_path / "check")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert "No CUDA GPU: checking the CPU path with the smoke settings instead." in out
    assert re.search(r"^cuda tests: ok, [\d.]+ s \(\d+ skipped, \d+ deselected\)$", out, re.M)
    assert re.search(r"^benchmark: ok", out, re.M)
    assert re.search(r"^study \(smoke, CPU\): wall [\d.]+ s$", out, re.M)
    for model in MODELS:
        assert re.search(rf"^  {model} seed 0 .*%", out, re.M)
    assert out.rstrip().endswith("the GPU path was not checked.")
    check_folder = tmp_path / "check"
    assert (check_folder / "default/results/report/report.html").is_file()
    assert (check_folder / "cuda_tests.log").is_file() and (check_folder / "bench.log").is_file()
    log = (check_folder / "default/snakemake.log").read_text()
    assert log.count("from cache.") >= 3, "the study trained again what the suite's run had"


def test_the_bfloat16_study_gets_its_precision_and_the_data_folder_as_config(
    tmp_path: Path,
) -> None:
    write_config(tmp_path, {"data": {"mirrors": ["m"]}}, "config.yaml")
    assert config_overrides(tmp_path, None, smoke=False) == []
    extra = tmp_path / "quick.yaml"
    arguments = config_overrides(
        tmp_path, tmp_path, smoke=True, precision="bfloat16", extra=(extra,)
    )
    assert arguments == ["--configfile", "config/smoke.yaml", str(extra), "config/gpu_check.yaml"]
    assert yaml.safe_load((tmp_path / "config/gpu_check.yaml").read_text()) == {
        "data": {"mirrors": [str(tmp_path), "m"]},
        "training": {"precision": "bfloat16"},
    }
