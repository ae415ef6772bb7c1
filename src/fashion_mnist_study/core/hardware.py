"""What the machine offers, found without importing torch (the Snakefile calls this)."""

from __future__ import annotations

import os
import platform
from pathlib import Path

NVIDIA_GPUS = Path("/proc/driver/nvidia/gpus")
# Training jobs that run at once on one GPU in a local run. Sharing could pay: a training at
# batch 64 keeps a GPU far from busy, and each job spends seconds starting (imports, CUDA
# context, graph capture) that another's training could fill. It stays 1 until measured:
# `make gpu-check` times the study both ways (`--resources gpu=3` shares it).
TRAININGS_PER_GPU = 1


def visible_gpu_count() -> int:
    """NVIDIA GPUs this process may use: CUDA_VISIBLE_DEVICES if set, else the driver's list."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        entries = [entry for entry in visible.split(",") if entry.strip()]
        return 0 if not entries or entries[0].strip() == "-1" else len(entries)
    return len(list(NVIDIA_GPUS.iterdir())) if NVIDIA_GPUS.is_dir() else 0


def apple_gpu_assumed() -> bool:
    """Whether this is a Mac with Apple silicon, whose GPU PyTorch reaches through MPS.

    Assumed from the platform alone, since asking PyTorch would import it: every such Mac has
    the GPU, and PyTorch's wheels for it need macOS 14, where MPS works. Only a virtual machine
    without the GPU proves this wrong; `auto` then trains on the CPU, taking turns on the GPU
    slot all the same."""
    return platform.system() == "Darwin" and platform.machine() == "arm64"


def trains_on_gpu(device: str) -> bool:
    """Whether training jobs with `training.device` set to `device` run on a GPU here: an
    NVIDIA one (CUDA) or Apple silicon's (MPS)."""
    if device in ("cuda", "mps"):
        return True
    return device == "auto" and (visible_gpu_count() > 0 or apple_gpu_assumed())


def local_gpu_slots() -> int:
    """How many GPU-tagged jobs a local run may start at once: TRAININGS_PER_GPU per visible
    NVIDIA GPU, or for the one GPU of a Mac (at least one slot, so `training.device: cuda`
    without a GPU fails in the job, naming the setting, instead of waiting forever)."""
    return max(1, visible_gpu_count()) * TRAININGS_PER_GPU


def threads_per_job(cpus: int, jobs: int) -> int:
    """Threads for each of `jobs` jobs sharing `cpus` CPUs, at least one."""
    return max(1, cpus // jobs)


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one, as on Linux)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def processor_name(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """The CPU's model name as Linux lists it ("AMD EPYC"), else what the platform says
    ("arm" on a Mac), so a result says which processor produced its numbers and timings."""
    try:
        for line in cpuinfo.read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("model name", "Model"):
                return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"
