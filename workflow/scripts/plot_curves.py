from fashion_mnist_study.analysis.results import read_curves
from fashion_mnist_study.core.joblog import log_to
from fashion_mnist_study.outputs.plots import plot_curves

log_to(snakemake.log[0])
plot_curves(
    snakemake.wildcards.model,
    read_curves(snakemake.input.metrics),
    snakemake.output[0],
    dict(snakemake.params.plots),
)
