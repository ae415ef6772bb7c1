from pathlib import Path

from fashion_mnist_study.download import fetch_fashion_mnist
from fashion_mnist_study.joblog import log_to

log_to(snakemake.log[0])
destinations = {Path(path).name.removesuffix(".gz"): Path(path) for path in snakemake.output}
fetch_fashion_mnist(snakemake.params.mirrors, destinations)
