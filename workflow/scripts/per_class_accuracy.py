from fashion_mnist_study.atomic import write_table
from fashion_mnist_study.job_inputs import inputs_by_model
from fashion_mnist_study.joblog import log_to
from fashion_mnist_study.per_class import per_class_accuracy

log_to(snakemake.log[0])
predictions = inputs_by_model(snakemake.input, "predictions", snakemake.params.models)
write_table(snakemake.output[0], per_class_accuracy(predictions))
