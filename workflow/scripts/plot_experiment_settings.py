import pandas as pd

from fashion_mnist_study.core.joblog import log_to
from fashion_mnist_study.outputs.experiments import accuracy_by_setting
from fashion_mnist_study.outputs.plots import plot_setting_slices

log_to(snakemake.log[0])
table, settings = accuracy_by_setting(
    snakemake.params.settings, pd.read_csv(snakemake.input.test_accuracy)
)
plot_setting_slices(table, settings, snakemake.output[0], dict(snakemake.params.plots))
