from fashion_mnist_study.analysis.per_class import CLASS_NAMES, confusion_matrix
from fashion_mnist_study.core.joblog import log_to
from fashion_mnist_study.outputs.plots import plot_confusion
from fashion_mnist_study.study.predictions import stack_predictions

log_to(snakemake.log[0])
plot_confusion(
    snakemake.wildcards.model,
    confusion_matrix(*stack_predictions(snakemake.input.predictions)),
    list(CLASS_NAMES),
    snakemake.output[0],
    dict(snakemake.params.plots),
)
