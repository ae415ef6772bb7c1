from fashion_mnist_study.joblog import log_to
from fashion_mnist_study.plots import plot_curves
from fashion_mnist_study.summary import load_curves

log_to(snakemake.log[0])
plot_curves(
    snakemake.wildcards.model,
    load_curves(snakemake.input.metrics),
    snakemake.output[0],
    dict(snakemake.params.plots),
)
