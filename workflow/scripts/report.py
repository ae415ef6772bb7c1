from fashion_mnist_study.joblog import log_to
from fashion_mnist_study.report import ReportInputs, write_report

log_to(snakemake.log[0])
write_report(
    ReportInputs(
        filter_errors=snakemake.input.filter_errors,
        filters_plot=snakemake.input.filters_plot,
        params=snakemake.input.params,
        test_accuracy=snakemake.input.test_accuracy,
        metrics=list(snakemake.input.metrics),
        results=list(snakemake.input.results),
        curves=list(snakemake.input.curves),
        overfitting=snakemake.input.overfitting,
        mlp_vs_cnn=snakemake.input.mlp_vs_cnn,
        kernel_names=[kernel["name"] for kernel in snakemake.params.filters["kernels"]],
        filter_dtype=snakemake.params.filters["dtype"],
        pool=snakemake.params.filters["pool"],
    ),
    html_path=snakemake.output.html,
    markdown_path=snakemake.output.markdown,
)
