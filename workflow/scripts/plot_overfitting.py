from fashion_mnist_study.analysis.results import read_curves
from fashion_mnist_study.core.joblog import log_to
from fashion_mnist_study.outputs.plots import plot_overfitting

log_to(snakemake.log[0])
plot_overfitting(
    {
        "cnn": read_curves(snakemake.input.cnn),
        "cnn_regularized": read_curves(snakemake.input.cnn_regularized),
    },
    snakemake.output[0],
    dict(snakemake.params.plots),
)
