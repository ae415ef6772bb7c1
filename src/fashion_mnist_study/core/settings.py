"""One model's settings as one typed object, built once from the validated config (config.py
validates; nothing downstream re-checks) and passed down to the model and its training."""

from __future__ import annotations

from dataclasses import asdict, dataclass

# The coursework's own models, always present, always first in tables and plots.
COURSEWORK_MODELS = ("cnn", "cnn_regularized", "mlp")
# The coursework's own questions, by the pair of models compared: does regularization help the
# CNN, does the CNN beat the MLP?
COURSEWORK_QUESTIONS = {("cnn_regularized", "cnn"): "Regularization", ("cnn", "mlp"): "CNN vs MLP"}
COURSEWORK_PAIRS = tuple(COURSEWORK_QUESTIONS)
# Past this many models, a sweep's, the figures and the report show a run as a sweep: a
# leaderboard, the best few models' curves labelled and the others grey.
MANY_MODELS = 8


@dataclass(frozen=True)
class ModelSettings:
    """One model of config `models` (or of a sweep), as the schema validated it."""

    name: str
    architecture: str  # cnn or mlp
    epochs: int
    batch_size: int
    learning_rate: float
    weight_decay: float
    dropout: float
    hidden_sizes: tuple[int, ...] = ()  # mlp only
    precision: str = "float32"  # or bfloat16: mixed precision, float32 weights (study/precision.py)
    tf32: bool = False  # TF32 float32 matmuls and convolutions on a GPU

    @classmethod
    def from_section(cls, name: str, section: dict) -> ModelSettings:
        return cls(
            name=name,
            architecture=section["architecture"],
            epochs=int(section["epochs"]),
            batch_size=int(section["batch_size"]),
            learning_rate=float(section["learning_rate"]),
            weight_decay=float(section["weight_decay"]),
            dropout=float(section["dropout"]),
            hidden_sizes=tuple(int(size) for size in section.get("hidden_sizes", ())),
            precision=section.get("precision", "float32"),
            tf32=bool(section.get("tf32", False)),
        )

    def as_dict(self) -> dict:
        """Plain types (hidden_sizes a list), as stored beside the trained weights."""
        return {**asdict(self), "hidden_sizes": list(self.hidden_sizes)}


def varying_settings(settings: dict[str, dict]) -> list[str]:
    """The settings (beside the architecture) whose value is not the same for every model,
    by name."""
    keys = sorted({key for section in settings.values() for key in section})
    return [
        key
        for key in keys
        if key != "architecture" and len({repr(s.get(key)) for s in settings.values()}) > 1
    ]


def setting_cells(section: dict, keys: list[str]) -> dict[str, object]:
    """The settings `keys` of one model as table cells: lists as 2176x128x128, absent
    settings empty."""
    return {key: _cell(section.get(key)) for key in keys}


def _cell(value: object) -> object:
    if isinstance(value, list):
        return "x".join(map(str, value))
    return "" if value is None else value
