from fashion_mnist_study.joblog import log_to
from fashion_mnist_study.plots import plot_overfitting
from fashion_mnist_study.summary import load_curves

log_to(snakemake.log[0])
plot_overfitting(
    {
        "cnn": load_curves(snakemake.input.cnn),
        "cnn_regularized": load_curves(snakemake.input.cnn_regularized),
    },
    snakemake.output[0],
    dict(snakemake.params.plots),
)
