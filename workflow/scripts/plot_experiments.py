from fashion_mnist_study.job_inputs import inputs_by_model
from fashion_mnist_study.joblog import log_to
from fashion_mnist_study.plots import plot_experiments
from fashion_mnist_study.summary import load_curves

log_to(snakemake.log[0])
metrics = inputs_by_model(snakemake.input, "metrics", snakemake.params.models)
plot_experiments(
    {model: load_curves(paths) for model, paths in metrics.items()},
    snakemake.output[0],
    dict(snakemake.params.plots),
)
