"""Train one model on tensors held in memory (on the GPU when there is one), resumably."""

from __future__ import annotations

import contextlib
import csv
import ctypes
import hashlib
import json
import os
import pickle
import resource
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property, partial
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from fashion_mnist_study.atomic import atomic_path, write_text
from fashion_mnist_study.checksums import seal_of, sha256_of
from fashion_mnist_study.hardware import usable_cpus
from fashion_mnist_study.models import build_model, count_parameters
from fashion_mnist_study.precision import autocast, emulation_warning, native_bfloat16, use_tf32
from fashion_mnist_study.predictions import save_predictions
from fashion_mnist_study.progress import epoch_finished, training_started
from fashion_mnist_study.settings import ModelSettings

METRIC_COLUMNS = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "seconds")
# Images per evaluation batch. On the CPU, a 64-image batch's activations stay in the caches;
# at 2,048 the max pools became memory-bound and evaluation ran at half the speed.
EVAL_BATCH_SIZE = {"cpu": 64, "cuda": 2048}
# Seconds of training between checkpoints. A CPU epoch (about a minute) is checkpointed after
# each epoch as before; a GPU epoch takes half a second, and writing 24 MB of weights and Adam
# moments after each one would cost more than a tenth of the training, to save half a second
# of work at a kill.
CHECKPOINT_INTERVAL_S = 30.0


@dataclass(frozen=True)
class TrainOutputs:
    """Where a training job writes: the rule train's outputs."""

    metrics: str | os.PathLike[str]  # CSV, a row per epoch
    result: str | os.PathLike[str]  # JSON: test metrics and the job's cost
    weights: str | os.PathLike[str]
    predictions: str | os.PathLike[str]  # the test images' predicted classes


def resolve_device(setting: str) -> torch.device:
    """`auto` picks CUDA when a GPU is visible; `cuda` without one is an error."""
    if setting not in ("auto", "cpu", "cuda"):
        raise ValueError(f"training.device must be auto, cpu or cuda, got {setting!r}")
    if setting == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(
            "training.device is 'cuda' but PyTorch sees no GPU "
            f"(CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES', '<unset>')}); "
            "set training.device to auto or cpu"
        )
    if setting == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(setting)


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
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)  # the phase's GPU work belongs to it
        now = time.perf_counter()
        self.phases[phase] = round(now - self.last, 3)
        self.last = now


def configure_determinism(device: torch.device) -> None:
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True


def as_tensors(
    images: np.ndarray, labels: np.ndarray, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 (N, 28, 28) images -> float32 (N, 1, 28, 28) in [0, 1] on `device`, once."""
    x = torch.from_numpy(images).to(device).unsqueeze(1).float().div_(255)
    y = torch.from_numpy(labels.astype(np.int64)).to(device)
    return x, y


@torch.inference_mode()
def evaluate(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, precision: str = "float32"
) -> tuple[float, float]:
    """Mean cross-entropy and accuracy over a whole split, in batches sized for the device,
    in the precision the model trains in."""
    model.eval()
    loss_sum = torch.zeros((), device=x.device)
    correct = torch.zeros((), device=x.device, dtype=torch.long)
    batch = EVAL_BATCH_SIZE[x.device.type]
    for start in range(0, len(x), batch):
        target = y[start : start + batch]
        with autocast(x.device, precision):
            logits = model(x[start : start + batch])
            loss_sum += F.cross_entropy(logits, target, reduction="sum")
        correct += (logits.argmax(1) == target).sum()
    return loss_sum.item() / len(x), correct.item() / len(x)


@torch.inference_mode()
def predict(model: nn.Module, x: torch.Tensor, precision: str = "float32") -> torch.Tensor:
    """The predicted class of every image of `x`, in batches sized for the device."""
    model.eval()
    batch = EVAL_BATCH_SIZE[x.device.type]
    with autocast(x.device, precision):
        return torch.cat([model(x[i : i + batch]).argmax(1) for i in range(0, len(x), batch)])


def peak_memory_mb(device: torch.device) -> tuple[float, float | None]:
    """This process's peak resident memory and, on a GPU, PyTorch's peak allocation there."""
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux
    gpu = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None
    return round(rss_kb / 1024, 1), None if gpu is None else round(gpu, 1)


def epoch_generator(seed: int, epoch: int) -> torch.Generator:
    """The shuffle of an epoch depends on (seed, epoch) alone, so a resumed run reshuffles alike."""
    return torch.Generator().manual_seed(seed * 1_000_003 + epoch)


def fingerprint(settings: ModelSettings, seed: int, device: str, splits: dict) -> str:
    """What a checkpoint must match to be resumed: the settings, the seed, the device, the data."""
    digest = hashlib.sha256(json.dumps([settings.as_dict(), seed, device], sort_keys=True).encode())
    for key in sorted(splits):
        digest.update(key.encode() + splits[key].tobytes())
    return digest.hexdigest()


def model_and_optimizer(
    settings: ModelSettings, device: torch.device
) -> tuple[nn.Module, torch.optim.Optimizer]:
    """The model in channels-last layout and its Adam optimizer.

    Why channels-last and fused Adam: on the CPU, oneDNN's convolutions and max pooling run
    their vectorized kernels on NHWC tensors, and the fused optimizer step makes one pass over
    the 2M parameters instead of several; together about 1.5x the images per second of the
    plain layout, with the same arithmetic up to floating-point rounding.
    """
    model = build_model(settings).to(device, memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(
        model.parameters(),
        lr=settings.learning_rate,
        weight_decay=settings.weight_decay,
        fused=True,
        capturable=device.type == "cuda",  # its step can be recorded in a CUDA graph
    )
    return model, optimizer


class Checkpoints:
    """Per-epoch state, saved at most every `interval` seconds, and the metrics rows it covers:
    a row reaches the metrics CSV only once a checkpoint holds its epoch, so every logged epoch
    is resumable. The fingerprint (a hash of the 55 MB of splits among others) is computed
    only when a checkpoint is read or written."""

    def __init__(self, path: Path, metrics_csv: Path, interval: float,
                 fingerprint: Callable[[], str]) -> None:  # fmt: skip
        self.path, self.metrics_csv, self.interval = path, metrics_csv, interval
        self._fingerprint = fingerprint
        self.pending: list[dict] = []
        self.saved_at = time.perf_counter()

    @cached_property
    def fingerprint(self) -> str:
        return self._fingerprint()

    def load(self, device: torch.device) -> dict | None:
        """The saved state if it matches these settings, seed, device and data, else None."""
        if not self.path.exists():
            return None
        try:  # weights_only: unpickling runs no code, whoever wrote the file
            state = torch.load(self.path, map_location=device, weights_only=True)
        except pickle.UnpicklingError as error:
            raise RuntimeError(
                f"{self.path} holds more than tensors and plain values, so this code did not "
                f"write it; it was not loaded. Delete it to train from the start. ({error})"
            ) from None
        return state if state["fingerprint"] == self.fingerprint else None

    def add(self, row: dict, state: Callable[[], dict], last: bool) -> None:
        """Record a finished epoch; checkpoint when `interval` seconds passed since the last
        one. The last epoch needs none: the job's outputs follow at once."""
        self.pending.append(row)
        if not last and time.perf_counter() - self.saved_at >= self.interval:
            save_checkpoint(self.path, {"fingerprint": self.fingerprint, **state()})
            self.flush()
            self.saved_at = time.perf_counter()

    def flush(self) -> None:
        for row in self.pending:
            append_metrics(self.metrics_csv, row)
        self.pending.clear()


class TrainStep:
    """One optimizer step on the batch of `x`, `y` that `index` selects, summing the loss and
    the correct predictions on the device (no host synchronisation per batch).

    On a GPU, full batches replay a CUDA graph of the very same step. Why: the CNN's step is
    some forty small kernels, and launching them one by one from Python cost about 2 ms per
    batch of 64 on an H200, several times the GPU's own work.
    """

    def __init__(self, model: nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor,
                 y: torch.Tensor, batch_size: int, precision: str = "float32") -> None:  # fmt: skip
        self.model, self.optimizer, self.x, self.y = model, optimizer, x, y
        self.batch_size, self.precision = batch_size, precision
        self.loss_sum = torch.zeros((), device=x.device)
        self.correct = torch.zeros((), device=x.device, dtype=torch.long)
        self.graph: torch.cuda.CUDAGraph | None = None
        self.graph_index = torch.zeros(batch_size, dtype=torch.long, device=x.device)

    def eager(self, index: torch.Tensor) -> None:
        inputs, targets = self.x[index], self.y[index]
        with autocast(self.x.device, self.precision):  # the backward pass follows its casts
            logits = self.model(inputs)
            loss = F.cross_entropy(logits, targets)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.loss_sum += loss.detach() * len(index)
        self.correct += (logits.argmax(1) == targets).sum()

    def __call__(self, index: torch.Tensor) -> None:
        if self.x.device.type != "cuda" or len(index) != self.batch_size:
            self.eager(index)
            return
        if self.graph is None:
            self.graph = self.record_graph(index)
        self.graph_index.copy_(index)
        self.graph.replay()

    def prepare(self) -> None:
        """Record the CUDA graph now rather than at the first full batch (nothing to do on the
        CPU, or with no full batch), so its cost shows apart from training's."""
        if self.x.device.type == "cuda" and self.graph is None and len(self.x) >= self.batch_size:
            index = torch.arange(self.batch_size, device=self.x.device)
            self.graph = self.record_graph(index)

    def record_graph(self, index: torch.Tensor) -> torch.cuda.CUDAGraph:
        """Warm up on a side stream (CUDA graphs need it), record the step, then undo the
        warm-up's updates, so the graph changes the speed and nothing else."""
        weights = {key: value.clone() for key, value in self.model.state_dict().items()}
        moments = {p: {k: v.clone() for k, v in state.items() if torch.is_tensor(v)}
                   for p, state in self.optimizer.state.items()}  # fmt: skip
        rng = torch.cuda.get_rng_state(self.x.device)
        self.graph_index.copy_(index)
        side = torch.cuda.Stream(self.x.device)
        side.wait_stream(torch.cuda.current_stream(self.x.device))
        with torch.cuda.stream(side):
            for _ in range(3):
                self.eager(self.graph_index)
        torch.cuda.current_stream(self.x.device).wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            self.eager(self.graph_index)
        with torch.no_grad():
            for key, value in self.model.state_dict().items():
                value.copy_(weights[key])
            for p, state in self.optimizer.state.items():
                for key, value in state.items():
                    if torch.is_tensor(value):
                        saved = moments.get(p, {}).get(key)  # None: the warm-up made it
                        if saved is None:
                            value.zero_()
                        else:
                            value.copy_(saved)
        torch.cuda.set_rng_state(rng, self.x.device)
        self.loss_sum.zero_()
        self.correct.zero_()
        return graph


def train_one_epoch(
    step: TrainStep,
    order: torch.Tensor,
    progress: Callable[[range], Iterable[int]] = iter,
) -> tuple[float, float]:
    """One pass over the training images in `order`; mean training loss and accuracy."""
    step.model.train()
    step.loss_sum.zero_()
    step.correct.zero_()
    for start in progress(range(0, len(order), step.batch_size)):
        step(order[start : start + step.batch_size])
    return step.loss_sum.item() / len(order), step.correct.item() / len(order)


# The metrics log is written row by row as epochs end, with the csv module: a training job
# imports no pandas (a quarter of a second of every job's start-up, measured here).
def write_metrics(path: Path, rows: list[dict]) -> None:
    # A new file, never one written through: when a result-cache entry lacks a file, Snakemake
    # leaves links into the cache for the outputs it found and then runs the job.
    path.unlink(missing_ok=True)
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=METRIC_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def append_metrics(path: Path, row: dict) -> None:
    with open(path, "a", newline="") as handle:
        csv.DictWriter(handle, fieldnames=METRIC_COLUMNS, lineterminator="\n").writerow(row)


def save_checkpoint(path: Path, state: dict) -> None:
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


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
        cuda = self.device.type == "cuda"
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "rng_cpu": torch.get_rng_state(),
            "rng_cuda": torch.cuda.get_rng_state() if cuda else None,
            "rows": self.rows,
        }

    def resume(self) -> None:
        """Continue from the checkpoint if it matches; the metrics CSV then holds its epochs."""
        state = self.checkpoints.load(self.device)
        if state is not None:
            self.model.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
            torch.set_rng_state(state["rng_cpu"])
            if self.device.type == "cuda":
                torch.cuda.set_rng_state(state["rng_cuda"])
            self.rows = state["rows"]
            print(f"resuming after epoch {len(self.rows)} from {self.checkpoints.path}",
                  file=sys.stderr)  # fmt: skip
        self.checkpoints.metrics_csv.parent.mkdir(parents=True, exist_ok=True)
        write_metrics(self.checkpoints.metrics_csv, self.rows)


def start_run(settings: ModelSettings, splits: dict[str, np.ndarray], seed: int,
              device_setting: str, metrics_csv: str | os.PathLike[str],
              checkpoint_path: str | os.PathLike[str], threads: int,
              checkpoint_interval: float) -> Run:  # fmt: skip
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
    tf32 = f", TF32 {'on' if settings.tf32 else 'off'}" if device.type == "cuda" else ""
    print(
        f"training {settings.name} seed {seed} on {device} with {threads} threads "
        f"in {settings.precision}{tf32} "
        f"(CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES', '<unset>')})",
        file=sys.stderr,
    )
    warning = emulation_warning(device, settings.precision, native_bfloat16(device))
    if warning:
        print(warning, file=sys.stderr)
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
    run = Run(settings, seed, device, threads, model, optimizer, step, checkpoints, x_val, y_val,
              rows=[])  # fmt: skip
    run.resume()
    step.prepare()
    clock.lap("model_and_graph")
    print(f"seconds before the first step: {clock.phases}", file=sys.stderr)
    run.startup_seconds = clock.phases
    return run


def train_model(
    settings: ModelSettings,
    splits: dict[str, np.ndarray],
    seed: int,
    device_setting: str,
    outputs: TrainOutputs,
    checkpoint_path: str | os.PathLike[str],
    threads: int = 1,
    progress_bar: bool = True,
    checkpoint_interval: float = CHECKPOINT_INTERVAL_S,
) -> dict:
    """Train, validate every epoch, test once; resume from `checkpoint_path` if it matches.

    A checkpoint is written after an epoch once `checkpoint_interval` seconds of training
    passed since the last one (0: after every epoch)."""
    run = start_run(settings, splits, seed, device_setting, outputs.metrics, checkpoint_path,
                    threads, checkpoint_interval)  # fmt: skip
    model, step, rows, n = run.model, run.step, run.rows, len(run.step.x)
    training_started(settings.name, seed, settings.epochs, len(rows), run.device.type, run.threads)
    started = time.perf_counter()
    for epoch in range(len(rows) + 1, settings.epochs + 1):
        epoch_start = time.perf_counter()
        order = torch.randperm(n, generator=epoch_generator(seed, epoch)).to(run.device)
        progress = partial(
            tqdm,
            desc=f"{settings.name} epoch {epoch}",
            disable=not progress_bar,
            file=sys.stderr,
            mininterval=5,
        )
        train_loss, train_acc = train_one_epoch(step, order, progress)
        val_loss, val_acc = evaluate(model, run.x_val, run.y_val, settings.precision)
        row = {
            "epoch": epoch,
            "train_loss": train_loss,
            "train_acc": train_acc,
            "val_loss": val_loss,
            "val_acc": val_acc,
            "seconds": round(time.perf_counter() - epoch_start, 3),
        }
        rows.append(row)
        run.checkpoints.add(row, run.state, last=epoch == settings.epochs)
        print(f"{settings.name} seed {seed} epoch {epoch}: {row}", file=sys.stderr)
        epoch_finished(settings.name, seed, settings.epochs, rows)  # a line on the console
    run.checkpoints.flush()
    return finish_run(run, splits, outputs, training_seconds=time.perf_counter() - started)


def finish_run(run: Run, splits: dict[str, np.ndarray], outputs: TrainOutputs,
               training_seconds: float) -> dict:  # fmt: skip
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
        "device": str(device) if device.type == "cpu" else torch.cuda.get_device_name(device),
        "threads": run.threads,
        "seconds": round(sum(r["seconds"] for r in run.rows), 3),
        "seconds_this_run": round(training_seconds, 3),
        "seconds_before_first_step": run.startup_seconds,
        "peak_rss_mb": peak_rss_mb,
        "peak_gpu_mb": peak_gpu_mb,
    }
    weights = {"settings": settings.as_dict(), "seed": run.seed,
               "state_dict": run.model.state_dict()}  # fmt: skip
    with atomic_path(outputs.weights) as tmp:
        torch.save(weights, tmp)
    save_predictions(outputs.predictions, predicted, splits["y_test"])
    # Written last, the result vouches for the other outputs: whoever reads one checks it
    # against these checksums (checksums.check_output), results restored from the cache too.
    result["sha256"] = {
        name: sha256_of(path)
        for name, path in [("metrics", run.checkpoints.metrics_csv),
                           ("predictions", outputs.predictions), ("weights", outputs.weights)]
    }  # fmt: skip
    result["seal"] = seal_of(result)
    write_text(outputs.result, json.dumps(result, indent=2) + "\n")
    run.checkpoints.path.unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # leave no empty checkpoint folders behind
        run.checkpoints.path.parent.rmdir()
    return result
