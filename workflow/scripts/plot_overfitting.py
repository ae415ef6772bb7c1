from fashion_mnist_study.analysis.results import load_curves
from fashion_mnist_study.core.joblog import log_to
from fashion_mnist_study.outputs.plots import plot_overfitting

log_to(snakemake.log[0])
plot_overfitting(
    {
        "cnn": load_curves(snakemake.input.cnn),
        "cnn_regularized": load_curves(snakemake.input.cnn_regularized),
    },
    snakemake.output[0],
    dict(snakemake.params.plots),
)
