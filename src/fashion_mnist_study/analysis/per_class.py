"""Where models differ, class by class: accuracy per class, confusion matrices, and which test
images one model gets right and another wrong, from each training job's predictions (the
figure of those images: examples.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fashion_mnist_study.analysis.results import mean_and_spread
from fashion_mnist_study.study.predictions import stack_predictions

# Fashion-MNIST's classes, as torchvision's FashionMNIST.classes names them (a test checks they
# are the same): written out, because importing torchvision costs each job that needs only
# the names 3.4 s.
CLASS_NAMES: tuple[str, ...] = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
PER_CLASS_COLUMNS = ["model", "class", "n_seeds", "accuracy_mean", "accuracy_std"]


def class_accuracy(predicted: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per seed and class, the share of that class's test images predicted right."""
    right = predicted == labels
    return np.stack([right[:, labels == c].mean(axis=1) for c in range(len(CLASS_NAMES))], axis=1)


def per_class_accuracy(predictions: dict[str, list[str]]) -> pd.DataFrame:
    """PER_CLASS_COLUMNS: per model (in the given order) and class, accuracy over seeds."""
    long = pd.concat(
        pd.DataFrame(
            {
                "model": model,
                "class": np.tile(CLASS_NAMES, len(accuracy)),
                "accuracy": accuracy.ravel(),
            }
        )
        for model, paths in predictions.items()
        for accuracy in [class_accuracy(*stack_predictions(paths))]
    )
    groups = long.groupby(["model", "class"], sort=False)["accuracy"]
    summary = mean_and_spread(groups).add_prefix("accuracy_")
    summary.insert(0, "n_seeds", groups.size())
    return summary.reset_index()[PER_CLASS_COLUMNS]


def confusion_matrix(predicted: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Row-normalised confusion matrix over all seeds: row = true class, column = predicted;
    each row sums to 1 (a class without test images stays 0)."""
    n = len(CLASS_NAMES)
    counts = np.zeros((n, n))
    for run in predicted:
        np.add.at(counts, (labels, run), 1)
    totals = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)


def always_right_where_other_always_wrong(
    right: np.ndarray, wrong: np.ndarray, labels: np.ndarray
) -> np.ndarray:
    """Test-image indices that the first model gets right in every seed and the second gets
    wrong in every seed, in test-set order."""
    first_right = (right == labels).all(axis=0)
    second_wrong = (wrong != labels).all(axis=0)
    return np.flatnonzero(first_right & second_wrong)


def most_common(predicted: np.ndarray) -> np.ndarray:
    """Per image, the class predicted most often over seeds (the lowest class on a tie)."""
    counts = np.apply_along_axis(np.bincount, 0, predicted, minlength=len(CLASS_NAMES))
    return counts.argmax(axis=0)
