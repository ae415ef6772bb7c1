from fashion_mnist_study.core.atomic import write_table
from fashion_mnist_study.core.joblog import log_to
from fashion_mnist_study.study.data import load_arrays
from fashion_mnist_study.study.filters import error_table

log_to(snakemake.log[0])
table = error_table(load_arrays(snakemake.input.numpy), load_arrays(snakemake.input.torch))
write_table(snakemake.output[0], table)
