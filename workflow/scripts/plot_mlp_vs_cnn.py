from fashion_mnist_study.analysis.results import read_curves
from fashion_mnist_study.core.joblog import log_to
from fashion_mnist_study.outputs.plots import plot_validation_accuracy

log_to(snakemake.log[0])
plot_validation_accuracy(
    {"cnn": read_curves(snakemake.input.cnn), "mlp": read_curves(snakemake.input.mlp)},
    snakemake.output[0],
    dict(snakemake.params.plots),
    title="Validation accuracy: MLP vs CNN",
)
