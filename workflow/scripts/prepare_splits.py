from pathlib import Path

from fashion_mnist_study.core.joblog import log_to
from fashion_mnist_study.study.data import load_idx, make_splits, save_splits

log_to(snakemake.log[0])
raw = {Path(path).name.removesuffix(".gz"): load_idx(path) for path in snakemake.input.raw}
splits = make_splits(
    raw["train-images-idx3-ubyte"],
    raw["train-labels-idx1-ubyte"],
    raw["t10k-images-idx3-ubyte"],
    raw["t10k-labels-idx1-ubyte"],
    val_size=snakemake.params.val_size,
    split_seed=snakemake.params.split_seed,
    subset=snakemake.params.subset,
)
save_splits(splits, snakemake.output[0])
