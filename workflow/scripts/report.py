from fashion_mnist_study.core.joblog import log_to
from fashion_mnist_study.outputs.report.document import write_report
from fashion_mnist_study.outputs.report.inputs import ReportInputs

log_to(snakemake.log[0])
write_report(
    ReportInputs.from_job(snakemake.input, snakemake.params),
    html_path=snakemake.output.html,
    markdown_path=snakemake.output.markdown,
)
