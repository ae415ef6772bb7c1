from fashion_mnist_study.analysis.comparisons import accuracy_summary
from fashion_mnist_study.analysis.results import check_outputs, read_results
from fashion_mnist_study.core.atomic import write_table
from fashion_mnist_study.core.joblog import log_to

log_to(snakemake.log[0])
# The only job that reads the weights: it checks them, so a damaged one stops the run.
check_outputs(snakemake.input.weights, "weights")
write_table(snakemake.output[0], accuracy_summary(read_results(snakemake.input.results)))
