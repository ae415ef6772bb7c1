"""A training job's bookkeeping: the process set up (device, threads, memory, determinism),
its start-up timed, the run's state resumed from a checkpoint, and at the end the outputs
written, the result that vouches for them last."""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import resource
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import numpy as np
import torch
from torch import nn

from fashion_mnist_study.core.atomic import atomic_path, write_text
from fashion_mnist_study.core.checksums import seal_of, sha256_of
from fashion_mnist_study.core.hardware import processor_name, usable_cpus
from fashion_mnist_study.core.settings import ModelSettings
from fashion_mnist_study.study.devices import (
    device_name,
    peak_gpu_bytes,
    resolve_device,
    restore_rng_states,
    rng_states,
    skipped_on,
    support,
    synchronize,
)
from fashion_mnist_study.study.models import count_parameters
from fashion_mnist_study.study.precision import (
    emulation_warning,
    native_bfloat16,
    use_tf32,
)
from fashion_mnist_study.study.predictions import save_predictions
from fashion_mnist_study.study.training.checkpoints import Checkpoints, fingerprint, write_metrics
from fashion_mnist_study.study.training.step import (
    TrainStep,
    as_tensors,
    evaluate,
    model_and_optimizer,
    predict,
)


@dataclass(frozen=True)
class TrainOutputs:
    """Where a training job writes: the rule train's outputs."""

    metrics: str | os.PathLike[str]  # CSV, a row per epoch
    result: str | os.PathLike[str]  # JSON: test metrics and the job's cost
    weights: str | os.PathLike[str]
    predictions: str | os.PathLike[str]  # the test images' predicted classes


def configure_threads(threads: int) -> int:
    """Use the threads Snakemake granted, but no more than the CPUs this process may run on:
    threads beyond those only oversubscribe the cores (e.g. `--cores 4` on a 2-core machine)."""
    usable = max(1, min(threads, usable_cpus()))
    torch.set_num_threads(usable)
    return usable


# glibc's mallopt parameters (malloc.h).
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3


def keep_freed_memory() -> bool:
    """Make glibc keep the memory of freed tensors for the next batch; False where the C
    library is not glibc (nothing changes there).

    Why: by default glibc hands large freed blocks (a batch's activations are 1-8 MB each) back
    to the kernel, and the next batch faults them in again page by page. Keeping them cut a
    CNN run's page faults from about 300,000 to 140,000 and made its steps about 5% faster.
    """
    try:
        mallopt = getattr(ctypes.CDLL(None), "mallopt", None)
    except (OSError, TypeError):  # no process-wide C library handle (Windows)
        return False
    if mallopt is None:
        return False
    # Blocks up to 32 MB (glibc's largest threshold) come from the heap, which is trimmed only
    # when 1 GB lies free at its top.
    return bool(mallopt(M_MMAP_THRESHOLD, 32 << 20)) and bool(mallopt(M_TRIM_THRESHOLD, 1 << 30))


def process_age() -> float:
    """Seconds since this process started, to 10 ms (Linux); 0.0 where /proc cannot tell."""
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        start_ticks = int(fields[19])  # field 22 of stat(5): start time in clock ticks since boot
        since_boot = time.clock_gettime(time.CLOCK_BOOTTIME)
        return max(0.0, since_boot - start_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, IndexError, ValueError, AttributeError):
        return 0.0


class StartupClock:
    """Seconds of each phase before the first training step, the first one since the process
    started (interpreter, imports, reading the splits): where a short GPU job spends its time."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.phases: dict[str, float] = {"start": round(process_age(), 3)}
        self.last = time.perf_counter()

    def lap(self, phase: str) -> None:
        synchronize(self.device)  # the phase's GPU work belongs to it
        now = time.perf_counter()
        self.phases[phase] = round(now - self.last, 3)
        self.last = now


def configure_determinism(device: torch.device) -> None:
    if support(device).cudnn:
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True


def peak_memory_mb(device: torch.device) -> tuple[float, float | None]:
    """This process's peak resident memory and, on a GPU, its memory there (`peak_gpu_bytes`)."""
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux
    gpu = peak_gpu_bytes(device)
    return round(rss_kb / 1024, 1), None if gpu is None else round(gpu / 2**20, 1)


@dataclass
class Run:
    """One training job's state, as `start_run` sets it up for the epoch loop."""

    settings: ModelSettings
    seed: int
    device: torch.device
    threads: int
    model: nn.Module
    optimizer: torch.optim.Optimizer
    step: TrainStep
    checkpoints: Checkpoints
    x_val: torch.Tensor
    y_val: torch.Tensor
    rows: list[dict]  # a metrics row per finished epoch
    startup_seconds: dict[str, float] = field(default_factory=dict)  # StartupClock.phases

    def state(self) -> dict:
        """What a checkpoint holds besides its fingerprint."""
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "rng_cpu": torch.get_rng_state(),
            **rng_states(self.device),
            "rows": self.rows,
        }

    def resume(self) -> None:
        """Continue from the checkpoint if it matches; the metrics CSV then holds its epochs."""
        state = self.checkpoints.load(self.device)
        if state is not None:
            self.model.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
            # The checkpoint was loaded onto the device; generators take their state from
            # the CPU (a ByteTensor on a GPU is refused: "RNG state must be a torch.ByteTensor").
            torch.set_rng_state(state["rng_cpu"].cpu())
            restore_rng_states(self.device, state)
            self.rows = state["rows"]
            print(
                f"resuming after epoch {len(self.rows)} from {self.checkpoints.path}",
                file=sys.stderr,
            )
        self.checkpoints.metrics_csv.parent.mkdir(parents=True, exist_ok=True)
        write_metrics(self.checkpoints.metrics_csv, self.rows)


def start_run(
    settings: ModelSettings,
    splits: dict[str, np.ndarray],
    seed: int,
    device_setting: str,
    metrics_csv: str | os.PathLike[str],
    checkpoint_path: str | os.PathLike[str],
    threads: int,
    checkpoint_interval: float,
) -> Run:
    """Device, threads, data on the device, the model and its optimizer, resumed from the
    checkpoint if it matches; each phase's seconds logged."""
    device = resolve_device(device_setting)
    clock = StartupClock(device)
    threads = configure_threads(threads)
    keep_freed_memory()
    configure_determinism(device)
    use_tf32(settings.tf32)
    torch.zeros(1, device=device)  # creates the CUDA context: its seconds show on their own
    clock.lap("cuda" if device.type == "cuda" else "device")
    tf32 = f", TF32 {'on' if settings.tf32 else 'off'}" if support(device).tf32 else ""
    print(
        f"training {settings.name} seed {seed} on {device} with {threads} threads "
        f"in {settings.precision}{tf32} "
        f"(CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES', '<unset>')})",
        file=sys.stderr,
    )
    for note in (
        skipped_on(device, settings.tf32),
        emulation_warning(device, settings.precision, native_bfloat16(device)),
    ):
        if note:
            print(note, file=sys.stderr)
    x_train, y_train = as_tensors(splits["x_train"], splits["y_train"], device)
    x_val, y_val = as_tensors(splits["x_val"], splits["y_val"], device)
    clock.lap("data")
    torch.manual_seed(seed)
    model, optimizer = model_and_optimizer(settings, device)
    checkpoints = Checkpoints(
        Path(checkpoint_path),
        Path(metrics_csv),
        checkpoint_interval,
        partial(fingerprint, settings, seed, device.type, splits),
    )
    step = TrainStep(model, optimizer, x_train, y_train, settings.batch_size, settings.precision)
    run = Run(
        settings, seed, device, threads, model, optimizer, step, checkpoints, x_val, y_val, rows=[]
    )
    run.resume()
    step.prepare()
    clock.lap("model_and_graph")
    print(f"seconds before the first step: {clock.phases}", file=sys.stderr)
    run.startup_seconds = clock.phases
    return run


def finish_run(
    run: Run, splits: dict[str, np.ndarray], outputs: TrainOutputs, training_seconds: float
) -> dict:
    """Test once, write the weights, the predictions and, last, the result that vouches for
    them; delete the checkpoint. Returns the result."""
    device, settings = run.device, run.settings
    x_test, y_test = as_tensors(splits["x_test"], splits["y_test"], device)
    test_loss, test_acc = evaluate(run.model, x_test, y_test, settings.precision)
    predicted = predict(run.model, x_test, settings.precision).cpu().numpy()
    peak_rss_mb, peak_gpu_mb = peak_memory_mb(device)
    result = {
        "model": settings.name,
        "seed": run.seed,
        "settings": settings.as_dict(),
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "test_loss": test_loss,
        "test_acc": test_acc,
        "n_test": len(x_test),
        "params": count_parameters(run.model),
        "epochs": settings.epochs,
        "device": device_name(device),
        "processor": processor_name(),
        "threads": run.threads,
        "seconds": round(sum(r["seconds"] for r in run.rows), 3),
        "seconds_this_run": round(training_seconds, 3),
        "seconds_before_first_step": run.startup_seconds,
        "peak_rss_mb": peak_rss_mb,
        "peak_gpu_mb": peak_gpu_mb,
    }
    weights = {
        "settings": settings.as_dict(),
        "seed": run.seed,
        "state_dict": run.model.state_dict(),
    }
    # Saved through a file handle: given a path, torch.save names the archive's entries after
    # the temporary file's random name, and two identical trainings would differ in bytes.
    with atomic_path(outputs.weights) as tmp, open(tmp, "wb") as handle:
        torch.save(weights, handle)
    save_predictions(outputs.predictions, predicted, splits["y_test"])
    # Written last, the result vouches for the other outputs: whoever reads one checks it
    # against these checksums (checksums.check_output), results restored from the cache too.
    result["sha256"] = {
        name: sha256_of(path)
        for name, path in [
            ("metrics", run.checkpoints.metrics_csv),
            ("predictions", outputs.predictions),
            ("weights", outputs.weights),
        ]
    }
    result["seal"] = seal_of(result)
    write_text(outputs.result, json.dumps(result, indent=2) + "\n")
    run.checkpoints.path.unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # leave no empty checkpoint folders behind
        run.checkpoints.path.parent.rmdir()
    return result
