"""Training: deterministic numbers, resume after a kill, and early errors for bad settings."""

from __future__ import annotations

import json
import os
import platform
import signal
import subprocess
import sys
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import learned_result, learned_rows

from fashion_mnist_study.core import hardware
from fashion_mnist_study.core.checksums import seal_of, sha256_of
from fashion_mnist_study.core.settings import ModelSettings
from fashion_mnist_study.study import devices
from fashion_mnist_study.study.devices import resolve_device, skipped_on
from fashion_mnist_study.study.models import build_model
from fashion_mnist_study.study.predictions import load_predictions
from fashion_mnist_study.study.training import run as training_run
from fashion_mnist_study.study.training.checkpoints import fingerprint
from fashion_mnist_study.study.training.loop import train_model
from fashion_mnist_study.study.training.run import TrainOutputs, keep_freed_memory

TINY_CNN = ModelSettings(
    name="cnn_regularized",
    architecture="cnn",
    epochs=4,
    batch_size=32,
    learning_rate=0.001,
    weight_decay=0.00001,
    dropout=0.7,
)


def tiny_splits(n_train: int = 256, n_val: int = 64, n_test: int = 64) -> dict[str, np.ndarray]:
    """Learnable synthetic images: the label sets the brightness of a block."""
    rng = np.random.default_rng(0)
    splits = {}
    for name, n in (("train", n_train), ("val", n_val), ("test", n_test)):
        labels = rng.integers(0, 10, n).astype(np.uint8)
        images = rng.integers(0, 60, (n, 28, 28)).astype(np.uint8)
        for i, label in enumerate(labels):
            images[i, 2 * label : 2 * label + 6, 4:24] += 150
        splits[f"x_{name}"], splits[f"y_{name}"] = images, labels
    return splits


def outputs(folder: Path) -> TrainOutputs:
    return TrainOutputs(
        metrics=folder / "metrics.csv",
        result=folder / "result.json",
        weights=folder / "weights.pt",
        predictions=folder / "predictions.npz",
    )


def run(
    tmp: Path,
    splits: dict,
    settings: ModelSettings = TINY_CNN,
    device: str = "cpu",
    checkpoint_interval: float = 0,
    seed: int = 3,
):
    tmp.mkdir(parents=True, exist_ok=True)
    return train_model(
        settings=settings,
        splits=splits,
        seed=seed,
        device_setting=device,
        outputs=outputs(tmp),
        checkpoint_path=tmp / "checkpoint" / f"seed{seed}.ckpt",
        threads=1,
        progress_bar=False,
        checkpoint_interval=checkpoint_interval,
    )


def trained_epochs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The epochs that trainings in this test go on to train, in order (each epoch draws its
    shuffle once)."""
    from fashion_mnist_study.study.training import loop

    epochs: list[int] = []
    generator = loop.epoch_generator

    def recording(seed: int, epoch: int) -> torch.Generator:
        epochs.append(epoch)
        return generator(seed, epoch)

    monkeypatch.setattr(loop, "epoch_generator", recording)
    return epochs


def numbers_without_timing(folder: Path) -> tuple[list[dict], dict]:
    return learned_rows(folder / "metrics.csv"), learned_result(folder / "result.json")


def test_same_config_and_seed_give_identical_numbers_on_cpu(tmp_path: Path) -> None:
    splits = tiny_splits()
    run(tmp_path / "a", splits)
    run(tmp_path / "b", splits)
    rows_a, result_a = numbers_without_timing(tmp_path / "a")
    rows_b, result_b = numbers_without_timing(tmp_path / "b")
    assert len(rows_a) == TINY_CNN.epochs
    assert rows_a == rows_b
    assert result_a == result_b
    weights_a = torch.load(tmp_path / "a" / "weights.pt")["state_dict"]
    weights_b = torch.load(tmp_path / "b" / "weights.pt")["state_dict"]
    assert all(torch.equal(weights_a[key], weights_b[key]) for key in weights_a)
    for output in ("weights.pt", "predictions.npz"):  # the files themselves, byte for byte
        assert (tmp_path / "a" / output).read_bytes() == (tmp_path / "b" / output).read_bytes()


def test_training_learns_and_writes_the_contract(tmp_path: Path) -> None:
    result = run(tmp_path, tiny_splits(), replace(TINY_CNN, name="cnn", dropout=0.0))
    rows, _ = numbers_without_timing(tmp_path)
    with open(tmp_path / "metrics.csv") as handle:
        header = handle.readline().strip().split(",")
    assert header == ["epoch", "train_loss", "train_acc", "val_loss", "val_acc", "seconds"]
    assert [int(row["epoch"]) for row in rows] == [1, 2, 3, 4]
    assert float(rows[-1]["train_loss"]) < float(rows[0]["train_loss"])
    assert result["test_acc"] > 0.5  # chance is 0.1
    assert result["n_test"] == 64 and result["params"] == 2_003_754
    assert {"test_loss", "test_acc", "n_test", "params", "epochs", "device", "seconds"} <= set(
        json.loads((tmp_path / "result.json").read_text())
    )
    assert not (tmp_path / "checkpoint").exists(), "the checkpoint must go once the job succeeds"
    predicted, labels = load_predictions(tmp_path / "predictions.npz")
    assert predicted.dtype == labels.dtype == np.uint8
    assert np.array_equal(labels, tiny_splits()["y_test"])
    assert np.mean(predicted == labels) == pytest.approx(result["test_acc"])
    assert result["peak_rss_mb"] > 100  # torch alone takes more
    assert result["peak_gpu_mb"] is None  # trained on the CPU


def test_the_result_describes_its_training_and_vouches_for_every_output(tmp_path: Path) -> None:
    result = run(tmp_path, tiny_splits(), replace(TINY_CNN, epochs=1))
    assert result == json.loads((tmp_path / "result.json").read_text())
    assert result["settings"] == replace(TINY_CNN, epochs=1).as_dict()
    assert datetime.fromisoformat(result["trained_at"]).tzinfo is not None
    files = {"metrics": "metrics.csv", "predictions": "predictions.npz", "weights": "weights.pt"}
    assert result["sha256"] == {name: sha256_of(tmp_path / f) for name, f in files.items()}
    assert result["seal"] == seal_of(result)


KILL_SCRIPT = """
import sys
from pathlib import Path
import numpy as np
sys.path[:0] = [{tests!r}]
from dataclasses import replace
from test_training import tiny_splits, run, TINY_CNN
run(Path({folder!r}), tiny_splits(n_train=512), replace(TINY_CNN, epochs=6))
"""


def test_killed_training_trains_only_the_epochs_after_its_checkpoint_and_ends_identical(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = KILL_SCRIPT.format(tests=str(Path(__file__).parent), folder=str(tmp_path / "killed"))
    process = subprocess.Popen([sys.executable, "-c", script], env={**os.environ})
    metrics = tmp_path / "killed" / "metrics.csv"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if metrics.exists() and len(metrics.read_text().splitlines()) >= 3:  # header + 2 epochs
            break
        time.sleep(0.05)
    assert process.poll() is None, "training ended before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert not (tmp_path / "killed" / "result.json").exists()
    checkpoint = tmp_path / "killed" / "checkpoint" / "seed3.ckpt"
    saved_epochs = len(torch.load(checkpoint, weights_only=True)["rows"])
    assert 2 <= saved_epochs < 6
    logged = metrics.read_text()  # the epochs before the kill, their seconds included

    splits = tiny_splits(n_train=512)
    settings = replace(TINY_CNN, epochs=6)
    trained = trained_epochs(monkeypatch)
    run(tmp_path / "killed", splits, settings)
    assert trained == list(range(saved_epochs + 1, 7)), "not resumed after its checkpoint"
    assert metrics.read_text().startswith(logged)  # those epochs kept, not trained again
    run(tmp_path / "uninterrupted", splits, settings)
    log_rows, resumed_result = numbers_without_timing(tmp_path / "killed")
    reference_rows, reference_result = numbers_without_timing(tmp_path / "uninterrupted")
    assert len(log_rows) == 6
    assert log_rows == reference_rows
    assert resumed_result == reference_result


class Payload:
    """Stands for an object whose unpickling would run code."""


def test_a_checkpoint_with_objects_is_refused_not_unpickled(tmp_path: Path) -> None:
    (tmp_path / "checkpoint").mkdir()
    torch.save({"fingerprint": "x", "payload": Payload()}, tmp_path / "checkpoint" / "seed3.ckpt")
    with pytest.raises(RuntimeError, match="did not write it; it was not loaded"):
        run(tmp_path, tiny_splits())


def test_weights_keep_their_settings_and_load_without_unpickling_code(tmp_path: Path) -> None:
    run(tmp_path, tiny_splits())
    saved = torch.load(tmp_path / "weights.pt", weights_only=True)
    assert saved["settings"] == TINY_CNN.as_dict() and saved["seed"] == 3
    model = build_model(ModelSettings.from_section(TINY_CNN.name, saved["settings"]))
    model.load_state_dict(saved["state_dict"])


TWO_EPOCHS = replace(TINY_CNN, epochs=2)


@pytest.fixture(scope="module")
def checkpoint_after_epoch_1(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the checkpoint that TWO_EPOCHS (seed 3, CPU, tiny_splits()) writes after its
    first epoch."""
    from fashion_mnist_study.study.training import checkpoints

    folder = tmp_path_factory.mktemp("checkpointed")
    kept = folder / "after_epoch_1.ckpt"
    save = checkpoints.save_checkpoint

    def keeping_save(path: Path, state: dict) -> None:
        save(path, state)
        kept.write_bytes(path.read_bytes())

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(checkpoints, "save_checkpoint", keeping_save)
        run(folder / "training", tiny_splits(), TWO_EPOCHS)
    assert kept.exists()
    return kept


@pytest.mark.parametrize("change", ["nothing", "learning rate", "seed", "device", "data"])
def test_a_checkpoint_is_resumed_only_by_the_same_settings_seed_device_and_data(
    change: str, checkpoint_after_epoch_1: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real checkpoint of a training, left where a training that differs from it in one
    respect looks for its own: that one starts from epoch 1."""
    settings, seed, splits = TWO_EPOCHS, 3, tiny_splits()
    state = torch.load(checkpoint_after_epoch_1, weights_only=True)
    if change == "learning rate":
        settings = replace(settings, learning_rate=0.002)
    elif change == "seed":
        seed = 4
    elif change == "data":
        splits["x_train"][0, 0, 0] += 1  # one pixel of one image
    elif change == "device":  # as written by the same training on a GPU
        state["fingerprint"] = fingerprint(settings, seed, "cuda", splits)
    (tmp_path / "checkpoint").mkdir()
    torch.save(state, tmp_path / "checkpoint" / f"seed{seed}.ckpt")
    trained = trained_epochs(monkeypatch)
    run(tmp_path, splits, settings, seed=seed)
    assert trained == ([2] if change == "nothing" else [1, 2])


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_requested_without_gpu_is_an_error_naming_the_setting() -> None:
    with pytest.raises(RuntimeError, match="training.device is 'cuda' but PyTorch sees no GPU"):
        resolve_device("cuda")


def visible(monkeypatch: pytest.MonkeyPatch, cuda: bool, mps: bool) -> None:
    """Make PyTorch see a CUDA GPU and Apple's GPU (MPS) or not, whatever this machine has."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)


@pytest.mark.parametrize(
    ("cuda", "mps", "expected"),
    [(True, True, "cuda"), (True, False, "cuda"), (False, True, "mps"), (False, False, "cpu")],
)
def test_auto_prefers_cuda_then_mps_then_cpu(
    monkeypatch: pytest.MonkeyPatch, cuda: bool, mps: bool, expected: str
) -> None:
    visible(monkeypatch, cuda=cuda, mps=mps)
    assert resolve_device("auto") == torch.device(expected)


def test_each_device_named_explicitly_is_the_one_used(monkeypatch: pytest.MonkeyPatch) -> None:
    visible(monkeypatch, cuda=True, mps=True)
    assert [resolve_device(name).type for name in ("cpu", "cuda", "mps")] == ["cpu", "cuda", "mps"]


def test_mps_requested_without_mps_is_an_error_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    visible(monkeypatch, cuda=True, mps=False)
    with pytest.raises(RuntimeError) as raised:
        resolve_device("mps")
    message = str(raised.value)
    assert message.startswith("training.device is 'mps' but PyTorch sees no Apple GPU")
    assert message.endswith("set training.device to auto or cpu")


def test_an_unknown_device_is_refused_naming_the_choices() -> None:
    with pytest.raises(ValueError, match="must be auto, cpu, cuda or mps, got 'metal'"):
        resolve_device("metal")


def test_the_log_says_in_one_line_what_mps_goes_without() -> None:
    mps = torch.device("mps")  # a device name only: no tensor is made on it
    assert skipped_on(mps, tf32=False) == (
        "on mps, unlike CUDA: no CUDA graphs (each step's kernels are launched one by one)"
    )
    line = skipped_on(mps, tf32=True)
    assert line.startswith("on mps, unlike CUDA: no CUDA graphs")
    assert line.endswith("; TF32 not applied (tf32 is set, and only CUDA has it)")
    assert "\n" not in line
    # Nothing is skipped on CUDA, and nothing of the GPU path would apply to the CPU.
    for other in ("cuda", "cpu"):
        assert skipped_on(torch.device(other), tf32=True) is None


def test_a_training_logs_what_its_device_goes_without(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setattr(training_run, "skipped_on", lambda device, tf32: f"skipped, tf32={tf32}")
    run(tmp_path, tiny_splits(n_train=64), replace(TINY_CNN, epochs=1, tf32=True))
    assert capsys.readouterr().err.count("skipped, tf32=True\n") == 1


def test_on_mps_the_mps_counterparts_run_and_nothing_cuda_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Synchronisation, random state, memory and the device's name go to torch.mps on Apple's
    GPU; CUDA graphs, capturable Adam, TF32 and cuDNN's flags are CUDA's alone."""
    calls: list[str] = []

    def cuda_only(*args: object, **kwargs: object) -> None:
        raise AssertionError("a CUDA-only call on mps")

    cuda_calls = ("synchronize", "get_rng_state", "set_rng_state", "max_memory_allocated")
    for name in (*cuda_calls, "get_device_name"):
        monkeypatch.setattr(torch.cuda, name, cuda_only)
    monkeypatch.setattr(torch.mps, "synchronize", lambda: calls.append("synchronize"))
    monkeypatch.setattr(torch.mps, "get_rng_state", lambda: torch.tensor([7], dtype=torch.uint8))
    monkeypatch.setattr(torch.mps, "set_rng_state", lambda state: calls.append(f"rng {state}"))
    monkeypatch.setattr(torch.mps, "driver_allocated_memory", lambda: 3 * 2**20)
    mps = torch.device("mps")
    devices.synchronize(mps)
    state = devices.rng_states(mps)
    devices.restore_rng_states(mps, state)
    assert calls == ["synchronize", "rng tensor([7], dtype=torch.uint8)"]
    assert list(state) == ["rng_mps"]
    assert training_run.peak_memory_mb(mps)[1] == 3.0
    assert devices.device_name(mps) == "mps"
    support = devices.support(mps)
    assert support.gpu
    assert not (support.cuda_graphs or support.tf32 or support.cudnn)
    deterministic = torch.backends.cudnn.deterministic
    monkeypatch.setattr(torch.backends.cudnn, "deterministic", not deterministic)
    training_run.configure_determinism(mps)
    assert torch.backends.cudnn.deterministic is not deterministic


@pytest.mark.parametrize(
    ("system", "machine", "nvidia_gpus", "expected"),
    [
        ("Darwin", "arm64", 0, True),  # Apple silicon: its GPU through MPS
        ("Darwin", "x86_64", 0, False),  # an Intel Mac: no MPS for PyTorch 2.14
        ("Linux", "x86_64", 0, False),
        ("Linux", "x86_64", 2, True),
    ],
)
def test_auto_trainings_carry_the_gpu_resource_on_a_mac_with_apple_silicon(
    monkeypatch: pytest.MonkeyPatch, system: str, machine: str, nvidia_gpus: int, expected: bool
) -> None:
    """What the Snakefile's uses_gpu decides by, without importing torch."""
    monkeypatch.setattr(hardware.platform, "system", lambda: system)
    monkeypatch.setattr(hardware.platform, "machine", lambda: machine)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", ",".join(map(str, range(nvidia_gpus))))
    assert hardware.trains_on_gpu("auto") is expected
    assert hardware.trains_on_gpu("mps") and hardware.trains_on_gpu("cuda")
    assert not hardware.trains_on_gpu("cpu")
    # A Mac's GPU is one slot, which its trainings take in turns like one CUDA GPU's.
    assert hardware.local_gpu_slots() == max(1, nvidia_gpus) * hardware.TRAININGS_PER_GPU


@pytest.mark.cuda
@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_same_config_and_seed_give_identical_numbers_on_gpu(tmp_path: Path, precision: str) -> None:
    splits = tiny_splits()
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        train_model(
            settings=replace(TINY_CNN, precision=precision),
            splits=splits,
            seed=3,
            device_setting="cuda",
            outputs=outputs(tmp_path / folder),
            checkpoint_path=tmp_path / folder / "seed3.ckpt",
            progress_bar=False,
        )
    assert numbers_without_timing(tmp_path / "a") == numbers_without_timing(tmp_path / "b")
    assert json.loads((tmp_path / "a" / "result.json").read_text())["device"] != "cpu"


@pytest.mark.cuda
@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_cuda_graph_replay_learns_exactly_what_eager_steps_learn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, precision: str
) -> None:
    from fashion_mnist_study.study.training.step import TrainStep

    def train(folder: str) -> None:
        (tmp_path / folder).mkdir()
        train_model(
            settings=replace(TINY_CNN, precision=precision),
            splits=tiny_splits(n_train=240),
            seed=3,
            device_setting="cuda",
            outputs=outputs(tmp_path / folder),
            checkpoint_path=tmp_path / folder / "seed3.ckpt",
            progress_bar=False,
        )

    train("graphed")  # 240 images in batches of 32: graph replays plus one eager partial batch
    monkeypatch.setattr(TrainStep, "__call__", TrainStep.eager)
    train("eager")
    graphed_rows, graphed = numbers_without_timing(tmp_path / "graphed")
    eager_rows, eager = numbers_without_timing(tmp_path / "eager")
    for a, b in zip(graphed_rows, eager_rows, strict=True):
        assert {k: float(v) for k, v in a.items()} == pytest.approx(
            {k: float(v) for k, v in b.items()}, rel=1e-5, abs=1e-6
        )
    assert graphed["test_acc"] == pytest.approx(eager["test_acc"], abs=1 / 64)


SHARED_GPU_SCRIPT = """
import sys
from pathlib import Path
sys.path[:0] = [{tests!r}]
from test_training import tiny_splits, run
run(Path({folder!r}), tiny_splits(n_train=1024), device="cuda")
"""


@pytest.mark.cuda
def test_trainings_sharing_the_gpu_learn_exactly_what_one_alone_learns(tmp_path: Path) -> None:
    """Three training processes at once on one GPU, as a local run starts them."""
    tests = str(Path(__file__).parent)
    scripts = [
        SHARED_GPU_SCRIPT.format(tests=tests, folder=str(tmp_path / f"shared{i}")) for i in range(3)
    ]
    processes = [subprocess.Popen([sys.executable, "-c", script]) for script in scripts]
    assert [process.wait(timeout=300) for process in processes] == [0, 0, 0]
    run(tmp_path / "alone", tiny_splits(n_train=1024), device="cuda")
    alone = numbers_without_timing(tmp_path / "alone")
    for i in range(3):
        assert numbers_without_timing(tmp_path / f"shared{i}") == alone


def test_checkpoints_wait_for_their_interval_and_every_epoch_is_logged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fashion_mnist_study.study.training import checkpoints

    saved: list[int] = []
    save = checkpoints.save_checkpoint

    def counting_save(path: Path, state: dict) -> None:
        saved.append(len(state["rows"]))
        save(path, state)

    monkeypatch.setattr(checkpoints, "save_checkpoint", counting_save)
    run(tmp_path / "rare", tiny_splits(), checkpoint_interval=3600)
    assert saved == []  # no hour passed: the outputs follow the last epoch, no checkpoint
    run(tmp_path / "every", tiny_splits(), checkpoint_interval=0)
    assert saved == [1, 2, 3]  # after each epoch but the last
    assert numbers_without_timing(tmp_path / "rare") == numbers_without_timing(tmp_path / "every")
    assert len(numbers_without_timing(tmp_path / "rare")[0]) == TINY_CNN.epochs


def test_the_result_says_where_the_seconds_before_the_first_step_went(tmp_path: Path) -> None:
    run(tmp_path, tiny_splits())
    result = json.loads((tmp_path / "result.json").read_text())
    phases = result["seconds_before_first_step"]
    assert list(phases) == ["start", "device", "data", "model_and_graph"]
    assert all(seconds >= 0 for seconds in phases.values())
    # This process started before the test session: far more than the 10 ms /proc resolves.
    assert phases["start"] > 0.01


FREED_BYTES_KEPT = """
import ctypes, sys
import torch
from fashion_mnist_study.study.training.run import keep_freed_memory
if sys.argv[1] == "keep":
    assert keep_freed_memory()
class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]
mallinfo2 = ctypes.CDLL(None).mallinfo2
mallinfo2.restype = MallInfo2
activations = torch.ones(4_000_000)  # 16 MB, a large batch's activations
del activations
print(mallinfo2().fordblks)  # free bytes the process keeps for its next allocations
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's allocator only")
def test_freed_batch_memory_stays_in_the_process_for_the_next_batch() -> None:
    def kept_bytes(mode: str) -> int:
        result = subprocess.run(
            [sys.executable, "-c", FREED_BYTES_KEPT, mode],
            capture_output=True,
            text=True,
            check=True,
        )
        return int(result.stdout)

    # By default glibc unmaps a freed 16 MB block, and touching it again faults in 4,096 pages.
    assert kept_bytes("default") < 8_000_000 < 16_000_000 < kept_bytes("keep")


@pytest.mark.skipif(platform.libc_ver()[0] == "glibc", reason="for C libraries other than glibc")
def test_keeping_freed_memory_is_skipped_without_glibc() -> None:
    assert keep_freed_memory() is False
