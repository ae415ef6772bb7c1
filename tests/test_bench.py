"""The benchmark's side-by-side timing: real processes, real training steps, clear failures."""

from __future__ import annotations

import pytest

from fashion_mnist_study.bench import training_seconds


@pytest.mark.parametrize("together", [True, False])
def test_each_model_is_timed_in_its_own_process(together: bool) -> None:
    seconds = training_seconds(["cnn", "mlp"], threads=1, together=together, images=64, rounds=1)
    assert set(seconds) == {"cnn", "mlp"}
    assert all(0 < took < 60 for took in seconds.values())


def test_a_failing_benchmark_process_is_an_error_not_a_hang() -> None:
    with pytest.raises(RuntimeError, match="benchmark process for resnet failed"):
        training_seconds(["cnn", "resnet"], threads=1, together=True, images=64, rounds=1)
