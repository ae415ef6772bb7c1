from fashion_mnist_study.core.joblog import log_to
from fashion_mnist_study.outputs.plots import plot_filters
from fashion_mnist_study.study.filters import load_filter_outputs

log_to(snakemake.log[0])
plot_filters(
    load_filter_outputs(snakemake.input.numpy),
    load_filter_outputs(snakemake.input.torch),
    snakemake.output[0],
    dict(snakemake.params.plots),
)
