from fashion_mnist_study.core.joblog import log_to
from fashion_mnist_study.outputs.plots import plot_filters
from fashion_mnist_study.study.data import load_arrays

log_to(snakemake.log[0])
plot_filters(
    load_arrays(snakemake.input.numpy),
    load_arrays(snakemake.input.torch),
    snakemake.output[0],
    dict(snakemake.params.plots),
)
