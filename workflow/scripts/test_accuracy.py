from fashion_mnist_study.atomic import write_csv
from fashion_mnist_study.joblog import log_to
from fashion_mnist_study.summary import TEST_ACCURACY_COLUMNS, load_results, test_accuracy_rows

log_to(snakemake.log[0])
rows = test_accuracy_rows(load_results(snakemake.input.results))
write_csv(snakemake.output[0], rows, TEST_ACCURACY_COLUMNS)
