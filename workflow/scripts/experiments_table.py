import pandas as pd

from fashion_mnist_study.core.atomic import write_table
from fashion_mnist_study.core.job_inputs import inputs_by_model
from fashion_mnist_study.core.joblog import log_to
from fashion_mnist_study.outputs.experiments import experiments_table

log_to(snakemake.log[0])
settings = dict(snakemake.params.settings)
table = experiments_table(
    settings,
    results=inputs_by_model(snakemake.input, "result", list(settings)),
    metrics=inputs_by_model(snakemake.input, "metrics", list(settings)),
    baseline=snakemake.params.baseline,
    comparisons=pd.read_csv(snakemake.input.comparisons),
)
write_table(snakemake.output[0], table)
