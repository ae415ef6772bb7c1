from fashion_mnist_study.core.joblog import log_to
from fashion_mnist_study.study.data import load_splits
from fashion_mnist_study.study.filters import apply_filters_to_test_images, save_filter_outputs

log_to(snakemake.log[0])
outputs = apply_filters_to_test_images(
    load_splits(snakemake.input.splits)["x_test"],
    dict(snakemake.params.filters),
    implementation=snakemake.wildcards.impl,
)
save_filter_outputs(outputs, snakemake.output[0])
