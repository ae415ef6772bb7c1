"""Paths that both the workflow and the package know, declared once: the download's, the
splits', a training's and the study report's outputs (the rules take them as their outputs; the
package finds a training's files, and the result cache's entries, by them) and the names of the
data's files. Standard library
only: the Snakefile imports this at parse time."""

from __future__ import annotations

import os
import re
from pathlib import Path

# Fashion-MNIST's four IDX files, by what they hold, as its publishers name them (mirrors serve
# each as <name>.gz).
IDX_NAMES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
# The download's named outputs.
RAW_DATA = {name: f"resources/fashion_mnist/raw/{file}.gz" for name, file in IDX_NAMES.items()}
# The splits of the images, prepare_splits' output.
SPLITS = "resources/fashion_mnist/splits.npz"
# The study's own report, the report rule's page (beside it, its Markdown).
STUDY_REPORT = "results/report/report.html"
# A training job's named outputs.
TRAINING_OUTPUTS = {
    "metrics": "results/metrics/{model}/seed{seed}.csv",
    "result": "results/metrics/{model}/seed{seed}.json",
    "weights": "results/models/{model}/seed{seed}.pt",
    "predictions": "results/predictions/{model}/seed{seed}.npz",
}


def pattern_regex(pattern: str) -> re.Pattern[str]:
    """A Snakemake output pattern with {model} and {seed} as a regex with those groups."""
    parts = re.split(r"\{(model|seed)\}", pattern)
    groups = {"model": r"(?P<model>[^/]+)", "seed": r"(?P<seed>\d+)"}
    return re.compile(
        "".join(groups[part] if i % 2 else re.escape(part) for i, part in enumerate(parts))
    )


def training_output(path: str | os.PathLike[str], name: str, *, given: str) -> Path:
    """Output `name` of the training job whose output `given` is `path` (both keys of
    TRAINING_OUTPUTS): below the folders their patterns share, `path` fits `given`'s pattern and
    `name`'s takes its place, wherever those folders are."""
    own, other = (Path(TRAINING_OUTPUTS[key]).parts for key in (given, name))
    shared = len(os.path.commonprefix([own, other]))
    depth = len(own) - shared
    path = Path(path)
    found = pattern_regex("/".join(own[shared:])).fullmatch("/".join(path.parts[-depth:]))
    if depth == 0 or len(path.parts) < depth or found is None:
        raise ValueError(f"{path} is not a training's {given} ({TRAINING_OUTPUTS[given]})")
    return path.parents[depth - 1] / "/".join(other[shared:]).format(**found.groupdict())
