from fashion_mnist_study.atomic import write_table
from fashion_mnist_study.joblog import log_to
from fashion_mnist_study.summary import accuracy_summary, load_results

log_to(snakemake.log[0])
write_table(snakemake.output[0], accuracy_summary(load_results(snakemake.input.results)))
