from fashion_mnist_study.joblog import log_to
from fashion_mnist_study.plots import plot_validation_accuracy
from fashion_mnist_study.summary import load_curves

log_to(snakemake.log[0])
plot_validation_accuracy(
    {"cnn": load_curves(snakemake.input.cnn), "mlp": load_curves(snakemake.input.mlp)},
    snakemake.output[0],
    dict(snakemake.params.plots),
    title="Validation accuracy: MLP vs CNN",
)
