rule apply_filters:
    input:
        splits=rules.prepare_splits.output.splits,
        code=script_code("apply_filters"),
    output:
        filters="results/filters/{impl}.npz",
    log:
        "logs/apply_filters/{impl}.log",
    benchmark:
        "benchmarks/apply_filters/{impl}.tsv"
    conda:
        "../envs/study.yaml"
    params:
        filters=config["filters"],
    script:
        "../scripts/apply_filters.py"


rule filter_errors:
    input:
        numpy=only(rules.apply_filters.output.filters, impl="numpy"),
        torch=only(rules.apply_filters.output.filters, impl="torch"),
        code=script_code("filter_errors"),
    output:
        report(
            "results/tables/filter_errors.csv",
            caption="../report/filter_errors.rst",
            category="1 Shallow convolution",
        ),
    log:
        "logs/filter_errors/filter_errors.log",
    benchmark:
        "benchmarks/filter_errors/filter_errors.tsv"
    conda:
        "../envs/study.yaml"
    script:
        "../scripts/filter_errors.py"


rule plot_filters:
    input:
        splits=rules.prepare_splits.output.splits,
        numpy=only(rules.apply_filters.output.filters, impl="numpy"),
        torch=only(rules.apply_filters.output.filters, impl="torch"),
        code=script_code("plot_filters"),
    output:
        report(
            "results/plots/filters.png",
            caption="../report/filters.rst",
            category="1 Shallow convolution",
        ),
    log:
        "logs/plot_filters/plot_filters.log",
    benchmark:
        "benchmarks/plot_filters/plot_filters.tsv"
    conda:
        "../envs/study.yaml"
    params:
        filters=config["filters"],
        plots=config["plots"],
    script:
        "../scripts/plot_filters.py"
