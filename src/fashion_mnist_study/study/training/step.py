"""What runs on the device: the data as tensors, the model and its optimizer, one
optimizer step (replayed from a CUDA graph on a GPU), one epoch, evaluation and prediction."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from fashion_mnist_study.core.settings import ModelSettings
from fashion_mnist_study.study.devices import support
from fashion_mnist_study.study.models import build_model
from fashion_mnist_study.study.precision import (
    autocast,
)


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
    batch = support(x.device).eval_batch_size
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
    batch = support(x.device).eval_batch_size
    with autocast(x.device, precision):
        return torch.cat([model(x[i : i + batch]).argmax(1) for i in range(0, len(x), batch)])


def epoch_generator(seed: int, epoch: int) -> torch.Generator:
    """The shuffle of an epoch depends on (seed, epoch) alone, so a resumed run reshuffles alike."""
    return torch.Generator().manual_seed(seed * 1_000_003 + epoch)


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
        capturable=support(device).cuda_graphs,  # its step can be recorded in a CUDA graph
    )
    return model, optimizer


class TrainStep:
    """One optimizer step on the batch of `x`, `y` that `index` selects, summing the loss and
    the correct predictions on the device (no host synchronisation per batch).

    On a CUDA GPU, full batches replay a CUDA graph of the very same step. Why: the CNN's step
    is some forty small kernels, and launching them one by one from Python cost about 2 ms per
    batch of 64 on an H200, several times the GPU's own work. Apple's GPU (MPS) has no graphs:
    its steps run eagerly, as on the CPU.
    """

    def __init__(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        x: torch.Tensor,
        y: torch.Tensor,
        batch_size: int,
        precision: str = "float32",
    ) -> None:
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
        if not support(self.x.device).cuda_graphs or len(index) != self.batch_size:
            self.eager(index)
            return
        if self.graph is None:
            self.graph = self.record_graph(index)
        self.graph_index.copy_(index)
        self.graph.replay()

    def prepare(self) -> None:
        """Record the CUDA graph now rather than at the first full batch (nothing to do without
        CUDA graphs, or with no full batch), so its cost shows apart from training's."""
        graphs = support(self.x.device).cuda_graphs
        if graphs and self.graph is None and len(self.x) >= self.batch_size:
            index = torch.arange(self.batch_size, device=self.x.device)
            self.graph = self.record_graph(index)

    def record_graph(self, index: torch.Tensor) -> torch.cuda.CUDAGraph:
        """Warm up on a side stream (CUDA graphs need it), record the step, then undo the
        warm-up's updates, so the graph changes the speed and nothing else."""
        weights = {key: value.clone() for key, value in self.model.state_dict().items()}
        moments = {
            p: {k: v.clone() for k, v in state.items() if torch.is_tensor(v)}
            for p, state in self.optimizer.state.items()
        }
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
