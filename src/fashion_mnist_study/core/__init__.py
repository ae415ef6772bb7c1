"""The workflow's machinery, used by the Snakefile, every job and the tools.

`config` validates the config once against the schema and expands sweeps; `settings` makes one
typed `ModelSettings` per model; `atomic` writes files whole or not at all; `checksums` seals a
training's result and checks every output against it; `hardware` counts CPUs and GPUs; `paths`
declares the paths that workflow and package share; `checkout` copies the workflow's files;
`code_inputs` finds the package modules a workflow script runs; `job_inputs` and `joblog` adapt
a Snakemake job; `progress` prints the console lines; `formats` writes percentages and
intervals the one way the console, the report and the docs show them.

Imports nothing else of the package, and no torch, NumPy, pandas or matplotlib: the Snakefile
imports it at parse time.
"""
