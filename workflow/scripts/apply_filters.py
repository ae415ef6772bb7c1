from fashion_mnist_study.core.joblog import log_to
from fashion_mnist_study.study.data import load_arrays, save_arrays
from fashion_mnist_study.study.filters import apply_filters_to_test_images

log_to(snakemake.log[0])
outputs = apply_filters_to_test_images(
    load_arrays(snakemake.input.splits)["x_test"],
    dict(snakemake.params.filters),
    implementation=snakemake.wildcards.impl,
)
save_arrays(snakemake.output[0], outputs)
