from fashion_mnist_study.atomic import write_table
from fashion_mnist_study.comparisons import accuracy_summary
from fashion_mnist_study.joblog import log_to
from fashion_mnist_study.summary import check_outputs, load_results

log_to(snakemake.log[0])
# The only job that reads the weights: it checks them, so a damaged one stops the run.
check_outputs(snakemake.input.weights, "weights")
write_table(snakemake.output[0], accuracy_summary(load_results(snakemake.input.results)))
