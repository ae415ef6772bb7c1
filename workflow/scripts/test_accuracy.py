from fashion_mnist_study.atomic import write_table
from fashion_mnist_study.comparisons import accuracy_summary
from fashion_mnist_study.joblog import log_to
from fashion_mnist_study.summary import load_results

log_to(snakemake.log[0])
write_table(snakemake.output[0], accuracy_summary(load_results(snakemake.input.results)))
