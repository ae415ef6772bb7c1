import pandas as pd

from fashion_mnist_study.core.joblog import log_to
from fashion_mnist_study.outputs.plots import plot_comparisons

log_to(snakemake.log[0])
plot_comparisons(
    pd.read_csv(snakemake.input.comparisons),
    snakemake.output[0],
    dict(snakemake.params.plots),
    snakemake.params.alpha,
)
