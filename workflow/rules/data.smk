rule download_fashion_mnist:
    input:
        code=script_code("download_fashion_mnist"),
    output:
        train_images="resources/fashion_mnist/raw/train-images-idx3-ubyte.gz",
        train_labels="resources/fashion_mnist/raw/train-labels-idx1-ubyte.gz",
        test_images="resources/fashion_mnist/raw/t10k-images-idx3-ubyte.gz",
        test_labels="resources/fashion_mnist/raw/t10k-labels-idx1-ubyte.gz",
    log:
        "logs/download_fashion_mnist/download.log",
    cache: "omit-software"
    conda:
        "../envs/study.yaml"
    script:
        "../scripts/download_fashion_mnist.py"


rule prepare_splits:
    input:
        raw=rules.download_fashion_mnist.output,
        code=script_code("prepare_splits"),
    output:
        SPLITS,
    log:
        "logs/prepare_splits/prepare_splits.log",
    benchmark:
        "benchmarks/prepare_splits/prepare_splits.tsv"
    conda:
        "../envs/study.yaml"
    params:
        val_size=config["data"]["val_size"],
        split_seed=config["data"]["split_seed"],
        subset=config["data"]["subset"],
    script:
        "../scripts/prepare_splits.py"
