"""The two architectures, defined once: the study's CNN (`cnn`, `cnn_regularized` and any model
with `architecture: cnn`) and its MLP (`architecture: mlp`)."""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from fashion_mnist_study.core.settings import ModelSettings

PARAM_COLUMNS = ["model", "layer", "type", "shape", "params"]
IMAGE_SHAPE = (1, 28, 28)
N_CLASSES = 10


class Dropout(nn.Dropout):
    """nn.Dropout with a cheaper random mask: each unit is kept with probability 1 - p, rounded
    to a multiple of 1/65536 (0.7 becomes 0.6999969), and scaled by the inverse of that kept
    probability, so the expected output is still the input.

    Why: torch's CPU random generator is serial. For one batch of 64 x 30,976 features,
    nn.Dropout's bernoulli_ took 19 ms and a torch.rand mask 8 ms, a tenth of a training step;
    taking four 16-bit numbers from each 64-bit draw brings the whole mask to 4 ms.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        kept = max(1, round((1 - self.p) * 65536))  # out of 65536
        words = torch.empty((x.numel() + 3) // 4, dtype=torch.int64, device=x.device)
        # From the smallest int64 with no upper bound: all 64 bits random, so each 16-bit
        # quarter is uniform on [-32768, 32767].
        numbers = words.random_(torch.iinfo(torch.int64).min, None).view(torch.int16)[: x.numel()]
        keep = numbers.view_as(x) < kept - 32768
        if x.dtype == torch.float32:
            # One float mask that keeps and rescales: a single multiply forward and backward.
            return x * (keep * (65536 / kept))
        # In bfloat16 (mixed precision), a float32 mask would turn the activations into
        # float32 ones, twice the memory, and a bfloat16 mask would round the rescaling
        # (3.328 for 3.333); a multiply by the scalar keeps it exact until the result rounds.
        return x * keep * (65536 / kept)


class FlattenChannelsLast(nn.Module):
    """Flatten (N, C, H, W) feature maps in height-width-channel order.

    Why this order: channels-last memory holds the features in it, so flattening is a view.
    nn.Flatten's channel-first order copied 8 MB per batch and sent the gradients back into
    ReLU and max pooling in the other memory layout, about 5% of a CNN training step on the
    CPU. Which fixed order fc1 reads its inputs in does not change the model: its weights
    start independent and identically distributed.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(0, 2, 3, 1).flatten(1)


def cnn(dropout: float = 0.0) -> nn.Sequential:
    """Conv 32 - Conv 64 (each ReLU + 2x2 max pool, stride 1) - FC 64 - FC 32 - FC 10.

    Each max pool runs before its ReLU: max and ReLU commute exactly (ReLU is monotone), so
    the function and its gradients are the study's, but the ReLU then touches the smaller
    pooled tensor, and the pooling kernel skips the zeros that ReLU would create (ties).

    With dropout > 0, dropout acts on the flattened 30,976 features that feed the 1.98M-weight
    first fully connected layer: that layer holds 99% of the parameters and is where the
    model overfits.
    """
    layers: OrderedDict[str, nn.Module] = OrderedDict(
        conv1=nn.Conv2d(1, 32, 3),
        pool1=nn.MaxPool2d(2, stride=1),
        relu1=nn.ReLU(inplace=True),
        conv2=nn.Conv2d(32, 64, 3),
        pool2=nn.MaxPool2d(2, stride=1),
        relu2=nn.ReLU(inplace=True),
        flatten=FlattenChannelsLast(),
    )
    if dropout > 0:
        layers["dropout"] = Dropout(dropout)
    layers.update(
        fc1=nn.Linear(64 * 22 * 22, 64),
        relu3=nn.ReLU(),
        fc2=nn.Linear(64, 32),
        relu4=nn.ReLU(),
        fc3=nn.Linear(32, N_CLASSES),
    )
    return nn.Sequential(layers)


def mlp(hidden_sizes: list[int], dropout: float = 0.0) -> nn.Sequential:
    """Fully connected network on the flattened image, ReLU between layers."""
    layers: OrderedDict[str, nn.Module] = OrderedDict(flatten=nn.Flatten())
    sizes = [IMAGE_SHAPE[1] * IMAGE_SHAPE[2], *hidden_sizes]
    for i, (n_in, n_out) in enumerate(zip(sizes, sizes[1:], strict=False), start=1):
        if dropout > 0:
            layers[f"dropout{i}"] = Dropout(dropout)
        layers[f"fc{i}"] = nn.Linear(n_in, n_out)
        layers[f"relu{i}"] = nn.ReLU()
    layers[f"fc{len(sizes)}"] = nn.Linear(sizes[-1], N_CLASSES)
    return nn.Sequential(layers)


def build_network(
    architecture: str, hidden_sizes: tuple[int, ...] = (), dropout: float = 0.0
) -> nn.Sequential:
    """A freshly initialised network of `architecture` (cnn or mlp), from torch's random state."""
    if architecture == "cnn":
        return cnn(dropout)
    if architecture == "mlp":
        return mlp(list(hidden_sizes), dropout)
    raise ValueError(f"unknown architecture {architecture!r}; known: cnn, mlp")


def build_model(settings: ModelSettings) -> nn.Sequential:
    return build_network(settings.architecture, settings.hidden_sizes, settings.dropout)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def parameter_rows(name: str, model: nn.Module) -> list[dict[str, object]]:
    """One row per layer with parameters, then a `total` row: model, layer, type, shape, params."""
    rows: list[dict[str, object]] = []
    for layer_name, layer in model.named_children():
        params = sum(p.numel() for p in layer.parameters())
        if params == 0:
            continue
        weight_shape = "x".join(str(d) for d in layer.weight.shape)
        rows.append(
            {
                "model": name,
                "layer": layer_name,
                "type": type(layer).__name__,
                "shape": weight_shape,
                "params": params,
            }
        )
    rows.append(
        {
            "model": name,
            "layer": "total",
            "type": "",
            "shape": "",
            "params": count_parameters(model),
        }
    )
    return rows
