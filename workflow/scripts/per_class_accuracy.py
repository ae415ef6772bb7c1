from fashion_mnist_study.analysis.per_class import per_class_accuracy
from fashion_mnist_study.core.atomic import write_table
from fashion_mnist_study.core.job_inputs import inputs_by_model
from fashion_mnist_study.core.joblog import log_to

log_to(snakemake.log[0])
predictions = inputs_by_model(snakemake.input, "predictions", snakemake.params.models)
write_table(snakemake.output[0], per_class_accuracy(predictions))
