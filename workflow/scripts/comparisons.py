from fashion_mnist_study.analysis.comparisons import (
    class_comparisons_table,
    class_names,
    compared_pairs,
    comparisons_table,
    right_answers,
)
from fashion_mnist_study.core.atomic import write_table
from fashion_mnist_study.core.job_inputs import inputs_by_model
from fashion_mnist_study.core.joblog import log_to

log_to(snakemake.log[0])
models, alpha = snakemake.params.models, snakemake.params.alpha
right, labels = right_answers(inputs_by_model(snakemake.input, "predictions", models))
pairs = compared_pairs(models, snakemake.params.baseline, snakemake.params.sweep_bases)
write_table(snakemake.output.comparisons, comparisons_table(right, pairs, alpha))
write_table(
    snakemake.output.classes,
    class_comparisons_table(right, labels, class_names(snakemake.input.per_class), alpha),
)
