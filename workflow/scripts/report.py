from fashion_mnist_study.core.job_inputs import inputs_by_model
from fashion_mnist_study.core.joblog import log_to
from fashion_mnist_study.outputs.report.document import write_report
from fashion_mnist_study.outputs.report.numbers import ReportInputs

log_to(snakemake.log[0])
models = snakemake.params.models


def single(name):
    return {
        model: files[0] for model, files in inputs_by_model(snakemake.input, name, models).items()
    }


write_report(
    ReportInputs(
        filter_errors=snakemake.input.filter_errors,
        filters_plot=snakemake.input.filters_plot,
        params=snakemake.input.params,
        test_accuracy=snakemake.input.test_accuracy,
        metrics=inputs_by_model(snakemake.input, "metrics", models),
        results=inputs_by_model(snakemake.input, "result", models),
        curves=single("curves"),
        confusion=single("confusion"),
        overfitting=snakemake.input.overfitting,
        mlp_vs_cnn=snakemake.input.mlp_vs_cnn,
        cnn_vs_mlp_examples=snakemake.input.cnn_vs_mlp_examples,
        experiments=snakemake.input.experiments,
        experiments_plot=snakemake.input.experiments_plot,
        comparisons=snakemake.input.comparisons,
        class_comparisons=snakemake.input.class_comparisons,
        comparisons_plot=snakemake.input.comparisons_plot,
        baseline=snakemake.params.baseline,
        alpha=snakemake.params.alpha,
        benchmarks=dict(
            zip(snakemake.params.benchmark_labels, snakemake.input.benchmarks, strict=True)
        ),
        kernel_names=[kernel["name"] for kernel in snakemake.params.filters["kernels"]],
        filter_dtype=snakemake.params.filters["dtype"],
        pool=snakemake.params.filters["pool"],
    ),
    html_path=snakemake.output.html,
    markdown_path=snakemake.output.markdown,
)
