from fashion_mnist_study.atomic import write_csv
from fashion_mnist_study.filters import ERROR_COLUMNS, error_rows, load_filter_outputs
from fashion_mnist_study.joblog import log_to

log_to(snakemake.log[0])
rows = error_rows(
    load_filter_outputs(snakemake.input.numpy), load_filter_outputs(snakemake.input.torch)
)
write_csv(snakemake.output[0], rows, ERROR_COLUMNS)
