"""The two architectures: the study's parameter counts, layer order, output shapes, and the
two layers written for speed (the flatten order and the dropout mask)."""

from __future__ import annotations

import pytest
import torch
import yaml
from conftest import REPO
from helpers import MODELS
from torch import nn

from fashion_mnist_study.core.config import model_settings
from fashion_mnist_study.study.models import (
    PARAM_COLUMNS,
    Dropout,
    build_model,
    build_network,
    count_parameters,
    parameter_rows,
)

SETTINGS = model_settings(yaml.safe_load((REPO / "config" / "config.yaml").read_text()))
CNN_LAYERS = {
    "conv1": ("Conv2d", "32x1x3x3", 320),
    "conv2": ("Conv2d", "64x32x3x3", 18_496),
    "fc1": ("Linear", "64x30976", 1_982_528),
    "fc2": ("Linear", "32x64", 2_080),
    "fc3": ("Linear", "10x32", 330),
}
CNN_TOTAL = 2_003_754


def rows_by_layer(name: str) -> dict[str, dict]:
    rows = parameter_rows(name, build_model(SETTINGS[name]))
    assert all(list(row) == PARAM_COLUMNS and row["model"] == name for row in rows)
    return {row["layer"]: row for row in rows}


@pytest.mark.parametrize("name", ["cnn", "cnn_regularized"])
def test_cnn_parameter_counts_per_layer_match_the_study(name: str) -> None:
    rows = rows_by_layer(name)
    assert list(rows) == [*CNN_LAYERS, "total"]  # layers without parameters are left out
    for layer, (kind, shape, params) in CNN_LAYERS.items():
        assert (rows[layer]["type"], rows[layer]["shape"], rows[layer]["params"]) == (
            kind,
            shape,
            params,
        )
    assert rows["total"]["params"] == CNN_TOTAL
    assert sum(params for _, _, params in CNN_LAYERS.values()) == CNN_TOTAL


def test_regularized_cnn_has_dropout_right_before_fc1() -> None:
    model = build_model(SETTINGS["cnn_regularized"])
    names = [name for name, _ in model.named_children()]
    before_fc1 = dict(model.named_children())[names[names.index("fc1") - 1]]
    assert isinstance(before_fc1, nn.Dropout)
    assert before_fc1.p == pytest.approx(0.7)
    assert names[names.index("fc1") - 2] == "flatten"
    assert sum(isinstance(module, nn.Dropout) for module in model.modules()) == 1


def test_plain_cnn_has_no_dropout() -> None:
    model = build_model(SETTINGS["cnn"])
    assert not any(isinstance(module, nn.Dropout) for module in model.modules())


def test_mlp_from_the_config_is_within_half_a_percent_of_the_cnn() -> None:
    mlp_total = rows_by_layer("mlp")["total"]["params"]
    assert abs(mlp_total / CNN_TOTAL - 1) < 0.005
    assert mlp_total == 2_004_618  # the count the config's comment gives


def test_mlp_layers_follow_hidden_sizes() -> None:
    rows = rows_by_layer("mlp")
    hidden = SETTINGS["mlp"].hidden_sizes
    sizes = [28 * 28, *hidden, 10]
    assert [rows[f"fc{i}"]["shape"] for i in range(1, len(sizes))] == [
        f"{n_out}x{n_in}" for n_in, n_out in zip(sizes, sizes[1:], strict=False)
    ]


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("batch", [1, 5])
def test_forward_gives_ten_logits_per_image(name: str, batch: int) -> None:
    model = build_model(SETTINGS[name]).eval()
    with torch.inference_mode():
        out = model(torch.rand(batch, 1, 28, 28))
    assert out.shape == (batch, 10)
    assert torch.isfinite(out).all()


def test_count_parameters_counts_every_weight() -> None:
    model = build_network("mlp", hidden_sizes=(3,))
    assert count_parameters(model) == (784 * 3 + 3) + (3 * 10 + 10)


def test_an_unknown_architecture_is_an_error_naming_it() -> None:
    with pytest.raises(ValueError, match="unknown architecture 'resnet'"):
        build_network("resnet")


def test_any_model_of_an_architecture_gets_its_own_dropout_and_sizes() -> None:
    wide = SETTINGS["mlp"].__class__(
        name="wide",
        architecture="mlp",
        epochs=1,
        batch_size=8,
        learning_rate=0.1,
        weight_decay=0.0,
        dropout=0.25,
        hidden_sizes=(5, 6),
    )
    model = build_model(wide)
    # before each hidden layer, not before the output layer
    assert [module.p for module in model if isinstance(module, nn.Dropout)] == [0.25] * 2
    assert [module.out_features for module in model if isinstance(module, nn.Linear)] == [5, 6, 10]


def test_cnn_computes_what_a_channel_first_flatten_computes_with_fc1_columns_reordered() -> None:
    torch.manual_seed(0)
    model = build_model(SETTINGS["cnn"]).eval()
    reference = build_model(SETTINGS["cnn"]).eval()
    reference.flatten = nn.Flatten()
    state = model.state_dict()
    # fc1 column (h, w, c) of ours is column (c, h, w) of the channel-first model.
    state["fc1.weight"] = state["fc1.weight"].view(64, 22, 22, 64).permute(0, 3, 1, 2).flatten(1)
    reference.load_state_dict(state)
    x = torch.rand(8, 1, 28, 28)
    with torch.inference_mode():
        ours = model(x.contiguous(memory_format=torch.channels_last))
        assert torch.allclose(ours, reference(x), atol=1e-5)
        assert torch.allclose(ours, model(x), atol=1e-5)  # any memory layout, same function
        assert not torch.allclose(ours, reference.fc3.bias.expand_as(ours), atol=1e-3)


def test_dropout_keeps_units_at_the_configured_rate_and_preserves_the_mean() -> None:
    torch.manual_seed(0)
    dropout = Dropout(0.7).train()
    out = dropout(torch.ones(64, 30976))
    kept = out != 0
    # 1,982,464 draws: the kept fraction's standard deviation is 0.0003.
    assert abs(kept.float().mean().item() - 0.3) < 0.002
    assert torch.allclose(out[kept], torch.tensor(65536 / 19661))  # 1 / kept probability
    assert abs(out.mean().item() - 1) < 0.007


def test_dropout_masks_differ_between_calls_and_repeat_with_the_seed() -> None:
    dropout = Dropout(0.5).train()
    x = torch.ones(4, 1000)
    torch.manual_seed(1)
    first, second = dropout(x), dropout(x)
    torch.manual_seed(1)
    assert torch.equal(dropout(x), first)
    assert not torch.equal(first, second)
    # Every 16-bit quarter of the 64-bit draws is used: no position is always kept or dropped.
    masks = torch.stack([dropout(x) != 0 for _ in range(200)])
    assert masks.any(0).all() and (~masks).any(0).all()


def test_dropout_gradient_is_its_mask_and_eval_mode_is_the_identity() -> None:
    dropout = Dropout(0.7).train()
    x = torch.rand(3, 50, requires_grad=True)
    out = dropout(x)
    out.sum().backward()
    assert torch.equal(x.grad, (out != 0) * (65536 / 19661))
    assert torch.equal(dropout.eval()(x), x)
    assert torch.equal(Dropout(0.0).train()(x), x)


def test_dropout_in_bfloat16_stays_bfloat16_and_rescales_like_float32() -> None:
    x = torch.rand(64, 3000)
    torch.manual_seed(2)
    reference = Dropout(0.7).train()(x)
    torch.manual_seed(2)
    out = Dropout(0.7).train()(x.bfloat16())
    assert out.dtype == torch.bfloat16
    assert torch.equal(out, (x.bfloat16().float() * (reference != 0) * (65536 / 19661)).bfloat16())
