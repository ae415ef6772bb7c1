"""Training throughput: the project's step, in float32 and in bfloat16 mixed precision, against
a plain notebook-style loop, side by side.

    python -m fashion_mnist_study.tools.bench [--device auto] [--batch-size 64] [--rounds 5]
                                        [--precisions float32 bfloat16]
    python -m fashion_mnist_study.tools.bench --side-by-side

For each model it alternates the loops round by round on the same random images, keeps the
best round of each (the least disturbed by other processes), and relates each precision's step
to the machine's matmul rate in that precision, measured in the same run (the ceiling: the
share of it a step reaches). Nothing here changes what is learned.

--side-by-side times what the workflow's scheduling choice rests on. On the CPU: the two CNNs
trained one after the other with all CPUs each, against side by side with the CPUs shared out
(see get_training_threads in workflow/rules/common.smk). On a GPU: the three models trained one
after the other on it, against all three at once (see TRAININGS_PER_GPU in core/hardware.py).
"""

from __future__ import annotations

import argparse
import multiprocessing
import queue
import time
from collections import OrderedDict
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.flop_counter import FlopCounterMode

from fashion_mnist_study.core.hardware import threads_per_job, usable_cpus
from fashion_mnist_study.core.settings import COURSEWORK_MODELS, ModelSettings
from fashion_mnist_study.study.devices import (
    DEVICE_SETTINGS,
    device_name,
    resolve_device,
    support,
    synchronize,
)
from fashion_mnist_study.study.models import build_model
from fashion_mnist_study.study.precision import PRECISIONS, native_bfloat16
from fashion_mnist_study.study.training.run import configure_threads, keep_freed_memory
from fashion_mnist_study.study.training.step import TrainStep, model_and_optimizer, train_one_epoch

MLP_HIDDEN = (2176, 128, 128)
TRAIN_IMAGES = 50_000  # one epoch of the study


def notebook_model(name: str) -> nn.Module:
    """The study's models as a notebook writes them: conv-ReLU-pool order, default layout."""
    if name == "mlp":
        return build_model(study_settings("mlp", batch_size=64))
    layers: OrderedDict[str, nn.Module] = OrderedDict(
        conv1=nn.Conv2d(1, 32, 3),
        relu1=nn.ReLU(),
        pool1=nn.MaxPool2d(2, stride=1),
        conv2=nn.Conv2d(32, 64, 3),
        relu2=nn.ReLU(),
        pool2=nn.MaxPool2d(2, stride=1),
        flatten=nn.Flatten(),
    )
    if name == "cnn_regularized":
        layers["dropout"] = nn.Dropout(0.7)
    layers.update(
        fc1=nn.Linear(30976, 64),
        relu3=nn.ReLU(),
        fc2=nn.Linear(64, 32),
        relu4=nn.ReLU(),
        fc3=nn.Linear(32, 10),
    )
    return nn.Sequential(layers)


def study_settings(name: str, batch_size: int, precision: str = "float32") -> ModelSettings:
    """The study's model `name` as config/config.yaml sets it, for one epoch."""
    if name not in COURSEWORK_MODELS:
        raise ValueError(f"unknown model {name!r}; the study's: {', '.join(COURSEWORK_MODELS)}")
    regularized = name == "cnn_regularized"
    return ModelSettings(
        name=name,
        architecture="mlp" if name == "mlp" else "cnn",
        epochs=1,
        batch_size=batch_size,
        learning_rate=1e-3,
        weight_decay=1e-5 if regularized else 0.0,
        dropout=0.7 if regularized else 0.0,
        hidden_sizes=MLP_HIDDEN if name == "mlp" else (),
        precision=precision,
    )


def matmul_gflops(
    device: torch.device, dtype: torch.dtype = torch.float32, size: int = 2048, repeats: int = 10
) -> float:
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    a @ b  # warm-up
    synchronize(device)
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    synchronize(device)
    return 2 * size**3 * repeats / (time.perf_counter() - start) / 1e9


def training_flops_per_image(name: str, batch_size: int) -> float:
    """Forward + backward FLOPs of one training image, counted by PyTorch's FLOP counter."""
    model = notebook_model(name)
    x, y = torch.rand(batch_size, 1, 28, 28), torch.randint(0, 10, (batch_size,))
    with FlopCounterMode(display=False) as counter:
        F.cross_entropy(model(x), y).backward()
    return counter.get_total_flops() / batch_size


def notebook_loop(name: str, x: torch.Tensor, y: torch.Tensor, batch_size: int) -> Callable:
    """DataLoader over a TensorDataset, default layout, for-each Adam: a typical notebook."""
    model = notebook_model(name).to(x.device)
    settings = study_settings(name, batch_size)
    optimizer = torch.optim.Adam(
        model.parameters(), lr=settings.learning_rate, weight_decay=settings.weight_decay
    )
    loader = DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=True)

    def run() -> None:
        model.train()
        for inputs, targets in loader:
            loss = F.cross_entropy(model(inputs), targets)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        synchronize(x.device)

    return run


def project_loop(
    name: str, x: torch.Tensor, y: torch.Tensor, batch_size: int, precision: str = "float32"
) -> Callable:
    """The workflow's own model setup and epoch loop (fashion_mnist_study.study.training)."""
    model, optimizer = model_and_optimizer(study_settings(name, batch_size), x.device)
    generator = torch.Generator().manual_seed(0)
    step = TrainStep(model, optimizer, x, y, batch_size, precision)

    def run() -> None:
        order = torch.randperm(len(x), generator=generator).to(x.device)
        train_one_epoch(step, order)

    return run


def best_rate(runs: dict[str, Callable], images: int, rounds: int) -> dict[str, float]:
    """Images/s of each run, best of `rounds`, alternating the runs within each round."""
    for run in runs.values():
        run()  # warm-up: allocator, oneDNN primitives, CUDA kernels
    best = dict.fromkeys(runs, 0.0)
    for _ in range(rounds):
        for label, run in runs.items():
            start = time.perf_counter()
            run()
            best[label] = max(best[label], images / (time.perf_counter() - start))
    return best


def timed_training(
    name: str, threads: int, images: int, rounds: int, device: str, start, seconds
) -> None:
    """In a process of its own: set up as a training job does, then time `rounds` passes over
    `images` random images once every process of the measurement is ready (`start`)."""
    configure_threads(threads)
    keep_freed_memory()
    torch.manual_seed(0)
    x = torch.rand(images, 1, 28, 28, device=device)
    y = torch.randint(0, 10, (images,), device=device)
    run = project_loop(name, x, y, batch_size=64)
    run()  # warm-up (and the CUDA graph's capture)
    synchronize(x.device)
    start.wait()
    began = time.perf_counter()
    for _ in range(rounds):
        run()
    synchronize(x.device)
    seconds.put((name, time.perf_counter() - began))


def training_seconds(
    models: list[str],
    threads: int,
    together: bool,
    images: int,
    rounds: int,
    device: str = "cpu",
) -> dict[str, float]:
    """Seconds each model takes to train on `rounds` x `images` images, each in a process of
    its own with `threads` threads, all at once (`together`) or one after another."""
    context = multiprocessing.get_context("spawn")  # fresh processes: no inherited thread pools
    seconds: dict[str, float] = {}
    for batch in [models] if together else [[model] for model in models]:
        start, results = context.Barrier(len(batch)), context.Queue()
        workers = [
            context.Process(
                target=timed_training,
                args=(model, threads, images, rounds, device, start, results),
                name=model,
            )
            for model in batch
        ]
        for worker in workers:
            worker.start()
        finished = 0
        while finished < len(workers):
            try:
                model, took = results.get(timeout=1)
            except queue.Empty:
                failed = [worker for worker in workers if worker.exitcode not in (None, 0)]
                if failed:  # the others may wait for it at the barrier forever
                    for worker in workers:
                        worker.kill()
                    raise RuntimeError(
                        f"benchmark process for {failed[0].name} failed "
                        f"(exit code {failed[0].exitcode}); its error is printed above"
                    ) from None
                continue
            seconds[model] = took
            finished += 1
        for worker in workers:
            worker.join()
    return seconds


def side_by_side(images: int, rounds: int, repeats: int, device: torch.device) -> None:
    """On the CPU, both CNNs one after the other with all CPUs, against side by side sharing
    them; on a GPU, the three models one after the other on it, against all at once. The best
    (shortest) time of each model in each arrangement over `repeats` alternations."""
    cpus = usable_cpus()
    if support(device).gpu:
        models = list(COURSEWORK_MODELS)
        threads = threads_per_job(cpus, len(models))
        arrangements = {"after, one GPU": (threads, False), "beside, one GPU": (threads, True)}
    else:
        models = ["cnn", "cnn_regularized"]
        shared = threads_per_job(cpus, len(models))
        arrangements = {
            f"after, {cpus} threads": (cpus, False),
            f"beside, {shared} each": (shared, True),
        }
    best = {label: dict.fromkeys(models, float("inf")) for label in arrangements}
    for _ in range(repeats):
        for label, (threads, together) in arrangements.items():
            timed = training_seconds(models, threads, together, images, rounds, device.type)
            for model, took in timed.items():
                best[label][model] = min(best[label][model], took)
    print(f"{rounds} x {images} images per model, {cpus} CPUs, {device.type}, best of {repeats}")
    print(
        f"{'arrangement':<20}"
        + "".join(f"{model + ' img/s':>22}" for model in models)
        + f"{'all img/s':>12}"
    )
    for label, (_, together) in arrangements.items():
        seconds = best[label]
        # Side by side the slower model sets the pace; one after the other the times add up.
        both = max(seconds.values()) if together else sum(seconds.values())
        print(
            f"{label:<20}"
            + "".join(f"{rounds * images / seconds[m]:>22.0f}" for m in models)
            + f"{len(models) * rounds * images / both:>12.0f}"
        )


def matmul_ceilings(device: torch.device, precisions: list[str]) -> dict[str, float | None]:
    """GFLOP/s of a square matmul in each precision, printed as measured; None for emulated
    bfloat16, whose generic matmul is no ceiling (the step's convolutions outrun it). It gets
    512x512 matrices: at 2048 one product took a minute on a CPU without bfloat16."""
    ceilings: dict[str, float | None] = {}
    for precision in precisions:
        emulated = precision == "bfloat16" and not native_bfloat16(device)
        size = 512 if emulated else 2048
        gflops = matmul_gflops(device, getattr(torch, precision), size)
        ceilings[precision] = None if emulated else gflops
        print(
            f"matmul {size}x{size} {precision}: {gflops:.1f} GFLOP/s"
            + (" (emulated: no native bfloat16 here, so no ceiling)" if emulated else "")
        )
    return ceilings


def step_table(
    models: list[str],
    precisions: list[str],
    x: torch.Tensor,
    y: torch.Tensor,
    batch_size: int,
    rounds: int,
) -> None:
    """Per model, the notebook loop and the project's step in each precision, timed in
    alternation; each step's rate against the notebook's and against its precision's matmul."""
    ceilings = matmul_ceilings(x.device, precisions)
    print(
        f"{'model':<16}{'loop':<19}{'img/s':>9}{'speed-up':>10}"
        f"{'GFLOP/s':>9}{'of matmul':>10}{'s/epoch':>9}"
    )
    for model in models:
        loops = {"notebook float32": notebook_loop(model, x, y, batch_size)}
        for precision in precisions:
            loops[f"project {precision}"] = project_loop(model, x, y, batch_size, precision)
        rates = best_rate(loops, len(x), rounds)
        flops = training_flops_per_image(model, batch_size)
        for label, rate in rates.items():
            gflops = rate * flops / 1e9
            ceiling = ceilings[label.split()[1]]
            share = f"{gflops / ceiling:>10.0%}" if ceiling else f"{'-':>10}"
            print(
                f"{model:<16}{label:<19}{rate:>9.0f}{rate / rates['notebook float32']:>9.2f}x"
                f"{gflops:>9.1f}{share}{TRAIN_IMAGES / rate:>9.1f}"
            )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto", choices=DEVICE_SETTINGS)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--images", type=int, default=2048, help="images per timed round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=usable_cpus())
    parser.add_argument(
        "--models", nargs="+", default=list(COURSEWORK_MODELS), choices=COURSEWORK_MODELS
    )
    parser.add_argument(
        "--precisions",
        nargs="+",
        default=list(PRECISIONS),
        choices=PRECISIONS,
        help="the project's step in each (bfloat16 is emulated, and slow, on a CPU without it)",
    )
    parser.add_argument(
        "--side-by-side",
        action="store_true",
        help="time trainings one after the other against side by side (CPU: the two CNNs; "
        "GPU: the three models on one GPU)",
    )
    args = parser.parse_args(argv)
    device = resolve_device(args.device)
    if args.side_by_side:
        side_by_side(args.images, rounds=3, repeats=args.rounds, device=device)
        return

    threads = configure_threads(args.threads)
    keep_freed_memory()  # for both loops alike: the comparison stays one of the loops alone
    print(
        f"device {device_name(device)}, {threads} threads, torch {torch.__version__}, "
        f"batch {args.batch_size}, {args.images} images x {args.rounds} rounds"
    )
    torch.manual_seed(0)
    x = torch.rand(args.images, 1, 28, 28, device=device)
    y = torch.randint(0, 10, (args.images,), device=device)
    step_table(args.models, args.precisions, x, y, args.batch_size, args.rounds)


if __name__ == "__main__":
    main()
