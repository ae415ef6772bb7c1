import pandas as pd

from fashion_mnist_study.analysis.results import read_curves
from fashion_mnist_study.core.job_inputs import inputs_by_model
from fashion_mnist_study.core.joblog import log_to
from fashion_mnist_study.outputs.experiments import ranking
from fashion_mnist_study.outputs.plots import plot_experiments

log_to(snakemake.log[0])
metrics = inputs_by_model(snakemake.input, "metrics", snakemake.params.models)
plot_experiments(
    {model: read_curves(paths) for model, paths in metrics.items()},
    snakemake.output[0],
    dict(snakemake.params.plots),
    ranking=ranking(pd.read_csv(snakemake.input.test_accuracy)),
    baseline=snakemake.params.baseline,
)
