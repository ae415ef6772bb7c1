# Beyond the study: where the CNN's lead over the MLP lies, class by class.


rule per_class_accuracy:
    input:
        **per_model("predictions", rules.train.output.predictions),
        code=script_code("per_class_accuracy"),
    output:
        report(
            "results/tables/per_class_accuracy.csv",
            caption="../report/per_class_accuracy.rst",
            category="5 Per class",
        ),
    log:
        "logs/per_class_accuracy/per_class_accuracy.log",
    benchmark:
        "benchmarks/per_class_accuracy/per_class_accuracy.tsv"
    conda:
        "../envs/study.yaml"
    params:
        models=MODELS,
    script:
        "../scripts/per_class_accuracy.py"


rule plot_confusion:
    input:
        predictions=lambda wc: per_seed(rules.train.output.predictions, wc.model),
        code=script_code("plot_confusion"),
    output:
        report(
            "results/plots/confusion_{model}.png",
            caption="../report/confusion.rst",
            category="5 Per class",
            subcategory="{model}",
        ),
    log:
        "logs/plot_confusion/{model}.log",
    benchmark:
        "benchmarks/plot_confusion/{model}.tsv"
    conda:
        "../envs/study.yaml"
    params:
        plots=config["plots"],
    script:
        "../scripts/plot_confusion.py"


rule plot_cnn_vs_mlp_examples:
    input:
        splits=rules.prepare_splits.output.splits,
        cnn=per_seed(rules.train.output.predictions, "cnn"),
        mlp=per_seed(rules.train.output.predictions, "mlp"),
        code=script_code("plot_cnn_vs_mlp_examples"),
    output:
        report(
            "results/plots/cnn_vs_mlp_examples.png",
            caption="../report/cnn_vs_mlp_examples.rst",
            category="5 Per class",
        ),
    log:
        "logs/plot_cnn_vs_mlp_examples/cnn_vs_mlp_examples.log",
    benchmark:
        "benchmarks/plot_cnn_vs_mlp_examples/cnn_vs_mlp_examples.tsv"
    conda:
        "../envs/study.yaml"
    params:
        plots=config["plots"],
    script:
        "../scripts/plot_cnn_vs_mlp_examples.py"
