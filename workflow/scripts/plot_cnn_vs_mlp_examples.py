from fashion_mnist_study.analysis.examples import disagreement_groups
from fashion_mnist_study.core.joblog import log_to
from fashion_mnist_study.outputs.plots import plot_image_groups
from fashion_mnist_study.study.data import load_arrays
from fashion_mnist_study.study.predictions import stack_predictions

log_to(snakemake.log[0])
cnn, labels = stack_predictions(snakemake.input.cnn)
mlp, _ = stack_predictions(snakemake.input.mlp)
plot_image_groups(
    disagreement_groups(
        load_arrays(snakemake.input.splits)["x_test"], {"CNN": cnn, "MLP": mlp}, labels
    ),
    snakemake.output[0],
    dict(snakemake.params.plots),
)
