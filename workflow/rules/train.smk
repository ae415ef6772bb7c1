rule train:
    input:
        splits=rules.prepare_splits.output.splits,
        code=script_code("train"),
    output:
        **TRAINING_OUTPUTS,
    log:
        "logs/train/{model}/seed{seed}.log",
    # Content-addressed: the key holds the code, the params (model, seed and settings among
    # them) and the data the job reads, not paths, threads or the software stack.
    cache: "omit-software"
    priority: get_training_priority
    conda:
        "../envs/study.yaml"
    threads: get_training_threads()
    resources:
        gpu=1 if uses_gpu() else None,
        training_cpus=lambda wildcards, threads: threads,
    params:
        # Everything the job reads, the model's name and seed included: Snakemake's cache key
        # holds params, not wildcards.
        model=lambda wc: wc.model,
        seed=lambda wc: int(wc.seed),
        settings=get_model_settings,
        device=config["training"]["device"],
        # Per-epoch state lives outside the outputs, which Snakemake deletes before a rerun,
        # so a killed job resumes from its last checkpoint.
        checkpoint=lambda wc: f"results/checkpoints/{wc.model}/seed{wc.seed}.ckpt",
    script:
        "../scripts/train.py"


rule param_table:
    input:
        code=script_code("param_table"),
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
        results=expand(rules.train.output.result, model=MODELS, seed=SEEDS),
        weights=expand(rules.train.output.weights, model=MODELS, seed=SEEDS),
        code=script_code("test_accuracy"),
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
