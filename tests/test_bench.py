"""The benchmark's side-by-side timing: real processes, real training steps, clear failures."""

from __future__ import annotations

import multiprocessing
import os
import re
from types import SimpleNamespace

import pytest

from fashion_mnist_study.tools import bench
from fashion_mnist_study.tools.bench import training_seconds


class RecordingContext:
    """The spawn context the benchmark starts its processes from, keeping each process it
    makes and the number of processes each start barrier waits for."""

    def __init__(self) -> None:
        self.context = multiprocessing.get_context("spawn")
        self.processes: list = []
        self.barriers: list[int] = []

    def Process(self, **kwargs):  # the names of multiprocessing's context
        process = self.context.Process(**kwargs)
        self.processes.append(process)
        return process

    def Barrier(self, parties: int):
        self.barriers.append(parties)
        return self.context.Barrier(parties)

    def Queue(self):
        return self.context.Queue()


@pytest.mark.parametrize("together", [True, False])
def test_each_model_is_timed_in_its_own_process(
    together: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    recording = RecordingContext()
    monkeypatch.setattr(bench, "multiprocessing", SimpleNamespace(get_context=lambda _: recording))
    seconds = training_seconds(["cnn", "mlp"], threads=1, together=together, images=64, rounds=1)
    assert set(seconds) == {"cnn", "mlp"}
    assert all(0 < took < 60 for took in seconds.values())
    # One process per model, each a process of its own (not this one) that ended well.
    assert sorted(process.name for process in recording.processes) == ["cnn", "mlp"]
    pids = {process.pid for process in recording.processes}
    assert len(pids) == 2 and os.getpid() not in pids
    assert all(process.exitcode == 0 for process in recording.processes)
    # Together: both start their timed rounds at once; apart: each on its own.
    assert recording.barriers == ([2] if together else [1, 1])


def test_a_failing_benchmark_process_is_an_error_not_a_hang() -> None:
    with pytest.raises(RuntimeError, match="benchmark process for resnet failed"):
        training_seconds(["cnn", "resnet"], threads=1, together=True, images=64, rounds=1)


def test_the_step_table_times_each_precision_against_the_notebook_and_its_own_ceiling(
    capsys: pytest.CaptureFixture,
) -> None:
    bench.main(["--device", "cpu", "--models", "mlp", "--images", "64", "--rounds", "1"])
    out = capsys.readouterr().out
    assert "matmul 2048x2048 float32" in out
    assert re.search(r"matmul \d+x\d+ bfloat16: [\d.]+ GFLOP/s", out)
    rows = [line.split() for line in out.splitlines() if line.startswith("mlp ")]
    assert [row[1:3] for row in rows] == [
        ["notebook", "float32"],
        ["project", "float32"],
        ["project", "bfloat16"],
    ]
    assert rows[0][4] == "1.00x"  # the notebook is the reference of the speed-ups
    assert all(float(row[3]) > 0 for row in rows)
    assert rows[1][6].endswith("%")  # of float32's matmul
    emulated = "emulated" in out  # bfloat16 then has no ceiling to be a share of
    assert rows[2][6] == "-" if emulated else rows[2][6].endswith("%")
