from fashion_mnist_study.atomic import write_csv
from fashion_mnist_study.joblog import log_to
from fashion_mnist_study.summary import TEST_ACCURACY_COLUMNS, accuracy_summary_rows, load_results

log_to(snakemake.log[0])
rows = accuracy_summary_rows(load_results(snakemake.input.results))
write_csv(snakemake.output[0], rows, TEST_ACCURACY_COLUMNS)
