rule train:
    input:
        splits=SPLITS,
        code=package_modules("training", "models", "data", "atomic", "hardware"),
    output:
        metrics=METRICS,
        test=RESULTS,
        weights="results/models/{model}/seed{seed}.pt",
        predictions=PREDICTIONS,
    log:
        "logs/train/{model}/seed{seed}.log",
    benchmark:
        "benchmarks/train/{model}/seed{seed}.tsv"
    priority: get_training_priority
    conda:
        "../envs/study.yaml"
    threads: get_training_threads()
    resources:
        gpu=1 if uses_gpu() else None,
        training_cpus=lambda wildcards, threads: threads,
    params:
        model=get_model_config,
        device=config["training"]["device"],
        # Per-epoch state lives outside the outputs, which Snakemake deletes before a rerun,
        # so a killed job resumes from its last finished epoch.
        checkpoint=lambda wc: f"results/checkpoints/{wc.model}/seed{wc.seed}.ckpt",
    script:
        "../scripts/train.py"


rule param_table:
    input:
        code=package_modules("models", "atomic"),
    output:
        report(
            "results/tables/params.csv",
            caption="../report/params.rst",
            category="2 CNN",
        ),
    log:
        "logs/param_table/param_table.log",
    benchmark:
        "benchmarks/param_table/param_table.tsv"
    conda:
        "../envs/study.yaml"
    params:
        architectures=get_architectures(),
    script:
        "../scripts/param_table.py"


rule test_accuracy:
    input:
        results=expand(RESULTS, model=MODELS, seed=SEEDS),
        code=package_modules("summary", "atomic"),
    output:
        report(
            "results/tables/test_accuracy.csv",
            caption="../report/test_accuracy.rst",
            category="4 Summary",
        ),
    log:
        "logs/test_accuracy/test_accuracy.log",
    benchmark:
        "benchmarks/test_accuracy/test_accuracy.tsv"
    conda:
        "../envs/study.yaml"
    script:
        "../scripts/test_accuracy.py"
