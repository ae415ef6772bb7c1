from fashion_mnist_study.core.joblog import log_to
from fashion_mnist_study.core.settings import ModelSettings
from fashion_mnist_study.study.data import load_arrays
from fashion_mnist_study.study.training.loop import train_model
from fashion_mnist_study.study.training.run import TrainOutputs

log_to(snakemake.log[0])
train_model(
    # Model and seed come from params, not wildcards: Snakemake's cache key holds params only.
    settings=ModelSettings.from_section(snakemake.params.model, snakemake.params.settings),
    splits=load_arrays(snakemake.input.splits),
    seed=snakemake.params.seed,
    device_setting=snakemake.params.device,
    outputs=TrainOutputs(
        metrics=snakemake.output.metrics,
        result=snakemake.output.result,
        weights=snakemake.output.weights,
        predictions=snakemake.output.predictions,
    ),
    checkpoint_path=snakemake.params.checkpoint,
    threads=snakemake.threads,
    # From the config, not params: how often state is saved changes no output.
    checkpoint_interval=snakemake.config["training"]["checkpoint_interval"],
)
