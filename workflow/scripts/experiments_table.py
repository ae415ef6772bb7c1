import pandas as pd

from fashion_mnist_study.atomic import write_table
from fashion_mnist_study.experiments import experiments_table
from fashion_mnist_study.job_inputs import inputs_by_model
from fashion_mnist_study.joblog import log_to

log_to(snakemake.log[0])
settings = dict(snakemake.params.settings)
table = experiments_table(
    settings,
    results=inputs_by_model(snakemake.input, "results", list(settings)),
    metrics=inputs_by_model(snakemake.input, "metrics", list(settings)),
    baseline=snakemake.params.baseline,
    comparisons=pd.read_csv(snakemake.input.comparisons),
)
write_table(snakemake.output[0], table)
