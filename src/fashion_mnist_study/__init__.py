"""Reproduce a Fashion-MNIST coursework study: filters, CNNs and an MLP.

The subpackages, from the bottom up; each may import those below it, never one above
(import-linter checks it: `make lint`, contracts in pyproject.toml):

- `core`: the workflow's machinery: the config and each model's settings, files written
  whole, checksums and seals, hardware, job logs and console progress. No torch, NumPy or
  pandas, so the Snakefile imports it without slowing a dry run.
- `cache`: Snakemake's between-workflow result cache: its folder, which entries the config
  uses, listing, verifying and pruning them. Beside `study`, independent of it.
- `study`: the study's computations: the data, the shallow filters, the models, their
  precision and training, the test predictions.
- `analysis`: from training outputs to evidence: results over seeds, intervals and tests,
  comparisons, per-class accuracy.
- `outputs`: what the study shows: figures, the experiments table and the report.
- `tools`: commands around the workflow: `fashion-mnist-study`, the benchmarks, the GPU check.

Importing the package is cheap: modules that need torch import it themselves. A subpackage's
`__init__.py` holds only its docstring (a rule's code inputs list modules, not packages).
"""
