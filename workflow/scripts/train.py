from fashion_mnist_study.data import load_splits
from fashion_mnist_study.joblog import log_to
from fashion_mnist_study.training import train_model

log_to(snakemake.log[0])
train_model(
    model_name=snakemake.wildcards.model,
    model_config=dict(snakemake.params.model),
    splits=load_splits(snakemake.input.splits),
    seed=int(snakemake.wildcards.seed),
    device_setting=snakemake.params.device,
    metrics_csv=snakemake.output.metrics,
    test_json=snakemake.output.test,
    weights_path=snakemake.output.weights,
    predictions_path=snakemake.output.predictions,
    checkpoint_path=snakemake.params.checkpoint,
    threads=snakemake.threads,
    # From the config, not params: how often state is saved changes no output.
    checkpoint_interval=snakemake.config["training"]["checkpoint_interval"],
)
