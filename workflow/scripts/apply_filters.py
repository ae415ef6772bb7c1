from fashion_mnist_study.data import load_splits
from fashion_mnist_study.filters import apply_filters_to_test_images, save_filter_outputs
from fashion_mnist_study.joblog import log_to

log_to(snakemake.log[0])
outputs = apply_filters_to_test_images(
    load_splits(snakemake.input.splits)["x_test"],
    dict(snakemake.params.filters),
    implementation=snakemake.wildcards.impl,
)
save_filter_outputs(outputs, snakemake.output[0])
