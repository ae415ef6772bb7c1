from pathlib import Path

from fashion_mnist_study.core.joblog import log_to
from fashion_mnist_study.core.paths import IDX_NAMES
from fashion_mnist_study.study.download import fetch_fashion_mnist

log_to(snakemake.log[0])
destinations = {IDX_NAMES[name]: Path(snakemake.output[name]) for name in IDX_NAMES}
# Mirrors are read from the config, not declared as params: the files are defined by their
# checksums, so editing the list of places to fetch them from must not redo the study.
fetch_fashion_mnist(snakemake.config["data"]["mirrors"], destinations)
