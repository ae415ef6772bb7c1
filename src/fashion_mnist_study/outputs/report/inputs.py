"""What the report is made of (ReportInputs), the one list of the report job's inputs: each file
field names the rule output it is, so the report rule's named inputs are derived from the fields
(common.smk's get_report_inputs) and the job reads them back by the same names (from_job).
Standard library only: the Snakefile imports this at parse time."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Literal

from fashion_mnist_study.core.job_inputs import inputs_by_key, inputs_by_model

# The metadata key of a field that is an input file (or files) of the report job.
INPUT = "input"
# Where the files of the field that holds every benchmarked job's benchmark (keyed by job) come
# from: no one rule output.
EVERY_BENCHMARK = "every benchmark"


@dataclass(frozen=True)
class Origin:
    """The rule output that a field is: output `output` of rule `rule` (its only one if None);
    with `per_model`, that output of each model, as one file or as its seeds' files."""

    rule: str
    output: str | None = None
    per_model: Literal["file", "files"] | None = None


def made_by(
    rule: str, output: str | None = None, *, per_model: Literal["file", "files"] | None = None
) -> Any:
    """A field of ReportInputs that is output `output` of rule `rule` (see Origin)."""
    return field(metadata={INPUT: Origin(rule, output, per_model)})


@dataclass(frozen=True)
class ReportInputs:
    """The files and settings the report is made of; a file field says which rule output it is
    (made_by)."""

    filter_errors: str = made_by("filter_errors")
    filters_plot: str = made_by("plot_filters")
    params: str = made_by("param_table")
    test_accuracy: str = made_by("test_accuracy")
    # model -> its seeds' metrics CSVs
    metrics: dict[str, list[str]] = made_by("train", "metrics", per_model="files")
    # model -> its seeds' result JSONs
    results: dict[str, list[str]] = made_by("train", "result", per_model="files")
    # model -> its training-curve figure
    curves: dict[str, str] = made_by("plot_curves", per_model="file")
    # model -> its confusion-matrix figure
    confusion: dict[str, str] = made_by("plot_confusion", per_model="file")
    overfitting: str = made_by("plot_overfitting")
    mlp_vs_cnn: str = made_by("plot_mlp_vs_cnn")
    cnn_vs_mlp_examples: str = made_by("plot_cnn_vs_mlp_examples")
    experiments: str = made_by("experiments_table")
    experiments_plot: str = made_by("plot_experiments")
    experiments_settings_plot: str = made_by("plot_experiment_settings")
    comparisons: str = made_by("comparisons", "comparisons")
    class_comparisons: str = made_by("comparisons", "classes")
    comparisons_plot: str = made_by("plot_comparisons")
    # job (rule and wildcards: `plot_curves model=cnn`) -> its Snakemake benchmark file
    benchmarks: dict[str, str] = field(metadata={INPUT: EVERY_BENCHMARK})
    baseline: str  # the model experiments.csv compares every model with
    alpha: float  # the level of every verdict
    kernel_names: list[str]
    filter_dtype: str
    pool: int

    @classmethod
    def from_job(cls, inputs: Any, params: Any) -> ReportInputs:
        """The report job's inputs as its rule declares them (`inputs`, `params`:
        snakemake.input and snakemake.params)."""
        files = {
            name: read_input(inputs, name, origin, params["models"])
            for name, origin in input_origins().items()
        }
        filters = params["filters"]
        return cls(
            **files,
            baseline=params["baseline"],
            alpha=params["alpha"],
            kernel_names=[kernel["name"] for kernel in filters["kernels"]],
            filter_dtype=filters["dtype"],
            pool=filters["pool"],
        )


def input_origins() -> dict[str, Origin | str]:
    """Field -> where its files come from (an Origin, or EVERY_BENCHMARK), for every field of
    ReportInputs that holds input files."""
    return {item.name: item.metadata[INPUT] for item in fields(ReportInputs) if item.metadata}


def read_input(inputs: Any, name: str, origin: Origin | str, models: list[str]) -> Any:
    """The value of field `name` from the job's named inputs `inputs`, as declared for it."""
    if not isinstance(origin, Origin):  # EVERY_BENCHMARK
        return inputs_by_key(inputs, name)
    if origin.per_model is None:
        return inputs[name]
    files = inputs_by_model(inputs, name, models)
    if origin.per_model == "file":
        return {model: paths[0] for model, paths in files.items()}
    return files
