"""Commands around the workflow, none of which a job runs.

`cli` is the `fashion-mnist-study` command (the result cache's upkeep); `bench` measures the
training step's speed; `dag_bench` times Snakemake's planning; `gpu_check` runs the GPU's
tests, benchmark and studies on a machine that has one; `docs_results` renders the latest full
run (`docs/latest-run/`) into the README and the manual; `report_bench` builds the report of a
sweep of made-up trainings and times it.

May use everything below; the tools are independent of one another.
"""
