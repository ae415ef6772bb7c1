"""Snakemake's between-workflow result cache, where finished trainings and the download are kept.

`store` finds the cache folder and makes its entries read-only (the Snakefile calls it);
`keys` asks Snakemake's own API which entries the current config uses; `entries` lists,
verifies, prunes and sizes them for the `fashion-mnist-study cache` command.

May use `core`; independent of the study's computations, which never know a cache exists.
"""
