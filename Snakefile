# Reproduces a Fashion-MNIST coursework study: shallow convolution in NumPy and PyTorch,
# a CNN, a regularized CNN and an MLP of the same size, their curves and an assembled report.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/filters.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/per_class.smk"
include: "workflow/rules/evidence.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        get_final_outputs(),
