rule plot_curves:
    input:
        metrics=lambda wc: per_seed(rules.train.output.metrics, wc.model),
        code=script_code("plot_curves"),
    output:
        report(
            "results/plots/{model}_curves.png",
            caption="../report/curves.rst",
            category="3 Training curves",
            subcategory="{model}",
        ),
    log:
        "logs/plot_curves/{model}.log",
    benchmark:
        "benchmarks/plot_curves/{model}.tsv"
    conda:
        "../envs/study.yaml"
    params:
        plots=config["plots"],
    script:
        "../scripts/plot_curves.py"


rule plot_overfitting:
    input:
        cnn=per_seed(rules.train.output.metrics, "cnn"),
        cnn_regularized=per_seed(rules.train.output.metrics, "cnn_regularized"),
        code=script_code("plot_overfitting"),
    output:
        report(
            "results/plots/overfitting.png",
            caption="../report/overfitting.rst",
            category="3 Training curves",
        ),
    log:
        "logs/plot_overfitting/overfitting.log",
    benchmark:
        "benchmarks/plot_overfitting/overfitting.tsv"
    conda:
        "../envs/study.yaml"
    params:
        plots=config["plots"],
    script:
        "../scripts/plot_overfitting.py"


rule plot_mlp_vs_cnn:
    input:
        cnn=per_seed(rules.train.output.metrics, "cnn"),
        mlp=per_seed(rules.train.output.metrics, "mlp"),
        code=script_code("plot_mlp_vs_cnn"),
    output:
        report(
            "results/plots/mlp_vs_cnn.png",
            caption="../report/mlp_vs_cnn.rst",
            category="3 Training curves",
        ),
    log:
        "logs/plot_mlp_vs_cnn/mlp_vs_cnn.log",
    benchmark:
        "benchmarks/plot_mlp_vs_cnn/mlp_vs_cnn.tsv"
    conda:
        "../envs/study.yaml"
    params:
        plots=config["plots"],
    script:
        "../scripts/plot_mlp_vs_cnn.py"


rule report:
    input:
        unpack(get_report_inputs),
        code=script_code("report"),
        templates=REPORT_TEMPLATES,
    output:
        html=report(
            STUDY_REPORT,
            caption="../report/study_report.rst",
            category="6 Study report",
        ),
        markdown="results/report/report.md",
    log:
        "logs/report/report.log",
    benchmark:
        "benchmarks/report/report.tsv"
    conda:
        "../envs/study.yaml"
    params:
        models=MODELS,
        filters=config["filters"],
        baseline=config["experiments"]["baseline"],
        alpha=config["evidence"]["alpha"],
    script:
        "../scripts/report.py"


rule experiments_table:
    input:
        **per_model("metrics", rules.train.output.metrics),
        **per_model("result", rules.train.output.result),
        comparisons=rules.comparisons.output.comparisons,
        code=script_code("experiments_table"),
    output:
        report(
            "results/tables/experiments.csv",
            caption="../report/experiments_table.rst",
            category="7 Experiments",
        ),
    log:
        "logs/experiments_table/experiments.log",
    benchmark:
        "benchmarks/experiments_table/experiments.tsv"
    conda:
        "../envs/study.yaml"
    params:
        settings=MODEL_SECTIONS,
        baseline=config["experiments"]["baseline"],
    script:
        "../scripts/experiments_table.py"


rule plot_experiments:
    input:
        **per_model("metrics", rules.train.output.metrics),
        test_accuracy=rules.test_accuracy.output[0],
        code=script_code("plot_experiments"),
    output:
        report(
            "results/plots/experiments.png",
            caption="../report/experiments_plot.rst",
            category="7 Experiments",
        ),
    log:
        "logs/plot_experiments/experiments.log",
    benchmark:
        "benchmarks/plot_experiments/experiments.tsv"
    conda:
        "../envs/study.yaml"
    params:
        models=MODELS,
        baseline=config["experiments"]["baseline"],
        plots=config["plots"],
    script:
        "../scripts/plot_experiments.py"


rule plot_experiment_settings:
    input:
        test_accuracy=rules.test_accuracy.output[0],
        code=script_code("plot_experiment_settings"),
    output:
        report(
            "results/plots/experiment_settings.png",
            caption="../report/experiment_settings.rst",
            category="7 Experiments",
        ),
    log:
        "logs/plot_experiment_settings/experiment_settings.log",
    benchmark:
        "benchmarks/plot_experiment_settings/experiment_settings.tsv"
    conda:
        "../envs/study.yaml"
    params:
        settings=MODEL_SECTIONS,
        plots=config["plots"],
    script:
        "../scripts/plot_experiment_settings.py"
