# Evidence for every comparison: intervals and paired tests on the same test images.


rule comparisons:
    input:
        **per_model("predictions", rules.train.output.predictions),
        per_class=rules.per_class_accuracy.output[0],
        code=script_code("comparisons"),
    output:
        comparisons=report(
            "results/tables/comparisons.csv",
            caption="../report/comparisons.rst",
            category="4 Summary",
        ),
        classes=report(
            "results/tables/class_comparisons.csv",
            caption="../report/class_comparisons.rst",
            category="5 Per class",
        ),
    log:
        "logs/comparisons/comparisons.log",
    benchmark:
        "benchmarks/comparisons/comparisons.tsv"
    conda:
        "../envs/study.yaml"
    params:
        models=MODELS,
        baseline=config["experiments"]["baseline"],
        sweep_bases=sweep_bases(config),
        alpha=config["evidence"]["alpha"],
    script:
        "../scripts/comparisons.py"


rule plot_comparisons:
    input:
        comparisons=rules.comparisons.output.comparisons,
        code=script_code("plot_comparisons"),
    output:
        report(
            "results/plots/comparisons.png",
            caption="../report/comparisons_plot.rst",
            category="4 Summary",
        ),
    log:
        "logs/plot_comparisons/comparisons.log",
    benchmark:
        "benchmarks/plot_comparisons/comparisons.tsv"
    conda:
        "../envs/study.yaml"
    params:
        plots=config["plots"],
        alpha=config["evidence"]["alpha"],
    script:
        "../scripts/plot_comparisons.py"
