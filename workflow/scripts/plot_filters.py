from fashion_mnist_study.filters import load_filter_outputs
from fashion_mnist_study.joblog import log_to
from fashion_mnist_study.plots import plot_filters

log_to(snakemake.log[0])
plot_filters(
    load_filter_outputs(snakemake.input.numpy),
    load_filter_outputs(snakemake.input.torch),
    snakemake.output[0],
    dict(snakemake.params.plots),
)
