import os
import sys
from pathlib import Path

PACKAGE = "fashion_mnist_study"
SRC = Path(workflow.basedir, "src")

# Scripts (also in cluster jobs, which re-read this file) import the package from this
# checkout, so a copy of the workflow runs its own code.
sys.path.insert(0, str(SRC))
os.environ.update(
    PYTHONPATH=os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")]))
)

from fashion_mnist_study.config import ConfigError, validate_config
from fashion_mnist_study.hardware import visible_gpu_count

try:
    validate_config(
        config, Path(workflow.basedir, "workflow/schemas/config.schema.yaml")
    )
except ConfigError as error:
    raise WorkflowError(str(error)) from None

# Locally, never start more GPU jobs than there are GPUs; a cluster's scheduler does this itself.
if workflow.local_exec and workflow.global_resources.get("gpu") is None:
    workflow.register_resource("gpu", max(1, visible_gpu_count()))

MODELS = list(config["models"])
SEEDS = config["training"]["seeds"]
SPLITS = "resources/fashion_mnist/splits.npz"


wildcard_constraints:
    model="|".join(MODELS),
    seed=r"\d+",
    impl="numpy|torch",


def package_modules(*names):
    """Source files of the package modules a rule runs, so editing one reruns that rule."""
    # Relative paths: a moved or copied workflow keeps its recorded inputs, hence its results.
    return [os.path.relpath(SRC / PACKAGE / f"{name}.py") for name in names]


def get_model_config(wildcards):
    return config["models"][wildcards.model]


def get_architectures():
    """Per model, only the settings that shape its layers (the parameter table needs no more)."""
    return {
        model: {key: value for key, value in settings.items() if key == "hidden_sizes"}
        for model, settings in config["models"].items()
    }


def uses_gpu():
    """Whether training jobs will run on a GPU here; cluster profiles set gpu themselves."""
    device = config["training"]["device"]
    return device == "cuda" or (device == "auto" and visible_gpu_count() > 0)


def get_metrics(model, kind="csv"):
    return expand(f"results/metrics/{model}/seed{{seed}}.{kind}", seed=SEEDS)


def get_final_outputs():
    return [
        "results/tables/filter_errors.csv",
        "results/plots/filters.png",
        "results/tables/params.csv",
        "results/tables/test_accuracy.csv",
        expand("results/plots/{model}_curves.png", model=MODELS),
        "results/plots/overfitting.png",
        "results/plots/mlp_vs_cnn.png",
        "results/report/report.html",
    ]
