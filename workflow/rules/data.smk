rule download_fashion_mnist:
    input:
        code=script_code("download_fashion_mnist"),
    output:
        **RAW_DATA,
    log:
        "logs/download_fashion_mnist/download.log",
    cache: "omit-software"
    conda:
        "../envs/study.yaml"
    script:
        "../scripts/download_fashion_mnist.py"


rule prepare_splits:
    input:
        **rules.download_fashion_mnist.output,
        code=script_code("prepare_splits"),
    output:
        splits=SPLITS,
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
