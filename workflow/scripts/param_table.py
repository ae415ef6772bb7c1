import pandas as pd

from fashion_mnist_study.core.atomic import write_table
from fashion_mnist_study.core.joblog import log_to
from fashion_mnist_study.study.models import PARAM_COLUMNS, build_network, parameter_rows

log_to(snakemake.log[0])
rows = [
    row
    for name, shape in snakemake.params.architectures.items()
    for row in parameter_rows(
        name, build_network(shape["architecture"], tuple(shape["hidden_sizes"]))
    )
]
write_table(snakemake.output[0], pd.DataFrame(rows, columns=PARAM_COLUMNS))
