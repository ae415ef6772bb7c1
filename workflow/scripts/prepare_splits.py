from fashion_mnist_study.core.joblog import log_to
from fashion_mnist_study.core.paths import IDX_NAMES
from fashion_mnist_study.study.data import load_idx, make_splits, save_arrays

log_to(snakemake.log[0])
splits = make_splits(
    **{name: load_idx(snakemake.input[name]) for name in IDX_NAMES},
    val_size=snakemake.params.val_size,
    split_seed=snakemake.params.split_seed,
    subset=snakemake.params.subset,
)
save_arrays(snakemake.output.splits, splits)
