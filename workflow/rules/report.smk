rule plot_curves:
    input:
        metrics=lambda wc: per_seed(METRICS, wc.model),
        code=script_code("plot_curves"),
    output:
        report(
            CURVES,
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
        cnn=per_seed(METRICS, "cnn"),
        cnn_regularized=per_seed(METRICS, "cnn_regularized"),
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
        cnn=per_seed(METRICS, "cnn"),
        mlp=per_seed(METRICS, "mlp"),
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
        unpack(lambda wildcards: per_model("metrics", METRICS)),
        unpack(lambda wildcards: per_model("result", RESULT)),
        unpack(lambda wildcards: per_model("curves", CURVES)),
        unpack(lambda wildcards: per_model("confusion", CONFUSION)),
        filter_errors="results/tables/filter_errors.csv",
        filters_plot="results/plots/filters.png",
        params="results/tables/params.csv",
        test_accuracy="results/tables/test_accuracy.csv",
        overfitting="results/plots/overfitting.png",
        mlp_vs_cnn="results/plots/mlp_vs_cnn.png",
        cnn_vs_mlp_examples="results/plots/cnn_vs_mlp_examples.png",
        experiments="results/tables/experiments.csv",
        experiments_plot="results/plots/experiments.png",
        comparisons=COMPARISONS,
        class_comparisons="results/tables/class_comparisons.csv",
        comparisons_plot="results/plots/comparisons.png",
        # When the jobs are planned, every rule read: experiments_table and plot_experiments
        # come after this rule.
        benchmarks=lambda wildcards: list(get_benchmarks().values()),
        code=script_code("report"),
        templates=REPORT_TEMPLATES,
    output:
        html=report(
            "results/report/report.html",
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
        benchmark_labels=lambda wildcards: list(get_benchmarks()),
        filters=config["filters"],
        baseline=config["experiments"]["baseline"],
        alpha=config["evidence"]["alpha"],
    script:
        "../scripts/report.py"


rule experiments_table:
    input:
        unpack(lambda wildcards: per_model("metrics", METRICS)),
        unpack(lambda wildcards: per_model("result", RESULT)),
        comparisons=COMPARISONS,
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
        unpack(lambda wildcards: per_model("metrics", METRICS)),
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
        plots=config["plots"],
    script:
        "../scripts/plot_experiments.py"
