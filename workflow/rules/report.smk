rule plot_curves:
    input:
        metrics=lambda wc: get_metrics(wc.model),
        code=package_modules("plots", "summary", "atomic"),
    output:
        report(
            "results/plots/{model}_curves.png",
            caption="../report/curves.rst",
            category="3 Training curves",
            subcategory="{model}",
        ),
    log:
        "logs/plot_curves/{model}.log",
    conda:
        "../envs/study.yaml"
    params:
        plots=config["plots"],
    script:
        "../scripts/plot_curves.py"


rule plot_overfitting:
    input:
        cnn=get_metrics("cnn"),
        cnn_regularized=get_metrics("cnn_regularized"),
        code=package_modules("plots", "summary", "atomic"),
    output:
        report(
            "results/plots/overfitting.png",
            caption="../report/overfitting.rst",
            category="3 Training curves",
        ),
    log:
        "logs/plot_overfitting/overfitting.log",
    conda:
        "../envs/study.yaml"
    params:
        plots=config["plots"],
    script:
        "../scripts/plot_overfitting.py"


rule plot_mlp_vs_cnn:
    input:
        cnn=get_metrics("cnn"),
        mlp=get_metrics("mlp"),
        code=package_modules("plots", "summary", "atomic"),
    output:
        report(
            "results/plots/mlp_vs_cnn.png",
            caption="../report/mlp_vs_cnn.rst",
            category="3 Training curves",
        ),
    log:
        "logs/plot_mlp_vs_cnn/mlp_vs_cnn.log",
    conda:
        "../envs/study.yaml"
    params:
        plots=config["plots"],
    script:
        "../scripts/plot_mlp_vs_cnn.py"


rule report:
    input:
        filter_errors="results/tables/filter_errors.csv",
        filters_plot="results/plots/filters.png",
        params="results/tables/params.csv",
        test_accuracy="results/tables/test_accuracy.csv",
        metrics=expand(
            "results/metrics/{model}/seed{seed}.csv", model=MODELS, seed=SEEDS
        ),
        results=expand(
            "results/metrics/{model}/seed{seed}.json", model=MODELS, seed=SEEDS
        ),
        curves=expand("results/plots/{model}_curves.png", model=MODELS),
        overfitting="results/plots/overfitting.png",
        mlp_vs_cnn="results/plots/mlp_vs_cnn.png",
        code=package_modules("report", "summary", "atomic"),
    output:
        html="results/report/report.html",
        markdown="results/report/report.md",
    log:
        "logs/report/report.log",
    conda:
        "../envs/study.yaml"
    params:
        filters=config["filters"],
        seeds=SEEDS,
    script:
        "../scripts/report.py"
