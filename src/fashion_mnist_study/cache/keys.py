"""Which entries of the result cache the current config uses, as Snakemake itself computes
them: the workflow's DAG built through Snakemake's API (as `snakemake -n` would build it), and
each cached job's entry files named by Snakemake's own cache (provenance hash and naming).
Nothing here re-implements the hash, so it cannot drift from what a run stores and fetches."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

LOCKS = Path(".snakemake/locks")


class CacheCommandError(RuntimeError):
    """Something the cache command cannot do, said in one line for the user."""


@contextlib.contextmanager
def process_state_kept() -> Iterator[None]:
    """Parsing the Snakefile in this process runs common.smk, which puts the workflow's src/
    on sys.path and PYTHONPATH for its jobs: undo that (and any change of the working
    directory) afterwards, so later imports and subprocesses of the caller are unchanged."""
    environ, path, cwd = dict(os.environ), list(sys.path), os.getcwd()
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(environ)
        sys.path[:] = path
        os.chdir(cwd)


@contextlib.contextmanager
def planned_workflow(workdir: Path, configfiles: list[Path]) -> Iterator[object]:
    """Snakemake's Workflow for `workdir` with `configfiles` (as `--configfile`), its DAG of
    the default target built; the working directory is `workdir` meanwhile."""
    from snakemake.api import SnakemakeApi
    from snakemake.exceptions import WorkflowError
    from snakemake.settings.types import (
        ConfigSettings,
        DAGSettings,
        OutputSettings,
        Quietness,
        ResourceSettings,
    )

    snakefile = workdir / "Snakefile"
    if not snakefile.is_file():
        raise CacheCommandError(
            f"{workdir} holds no Snakefile: run the command in the workflow's folder "
            "(or give it with --directory), where the config it checks against lives"
        )
    configs = [Path(path).absolute() for path in configfiles]
    for path in configs:
        if not path.is_file():
            raise CacheCommandError(f"--configfile {path}: no such file")
    with process_state_kept(), SnakemakeApi(OutputSettings(quiet={Quietness.ALL})) as api:
        workflow_api = api.workflow(
            resource_settings=ResourceSettings(cores=1),
            config_settings=ConfigSettings(configfiles=configs),
            snakefile=snakefile.absolute(),
            workdir=workdir.absolute(),
        )
        workflow_api.dag(DAGSettings())
        try:
            workflow = workflow_api._workflow  # noqa: SLF001 (the API keeps the DAG private)
            workflow._prepare_dag(forceall=False, ignore_incomplete=True, lock_warn_only=True)
            workflow._build_dag()
        except WorkflowError as error:
            raise CacheCommandError(f"the workflow cannot be planned: {error}") from None
        yield workflow


def used_cache_files(workflow: object) -> set[str]:
    """Names of the cache files (`<hash>_<output><ext>`) of every cached job in the planned
    DAG: Snakemake's LocalOutputFileCache names them, from its ProvenanceHashMap."""
    from snakemake.caching.local import OutputFileCache

    cache = OutputFileCache()  # at $SNAKEMAKE_OUTPUT_CACHE, which the Snakefile set
    names = set()
    for job in workflow.dag.jobs:
        if job.rule.cache is not None and job.rule.cache.output:
            pairs = workflow.async_run(cache.get_outputfiles_and_cachefiles(job))
            names.update(cachefile.name for _, cachefile in pairs)
    return names


def used_keys(workdir: Path, configfiles: list[Path]) -> set[str]:
    with planned_workflow(workdir, configfiles) as workflow:
        return {name[:64] for name in used_cache_files(workflow)}


def snakemake_locks(workdir: Path) -> list[Path]:
    """The lock files of Snakemake runs in `workdir` (there while a run is going on, or after
    one was killed)."""
    folder = workdir / LOCKS
    return sorted(folder.glob("*.lock")) if folder.is_dir() else []


def refuse_if_locked(workdir: Path) -> None:
    locks = snakemake_locks(workdir)
    if locks:
        raise CacheCommandError(
            f"a Snakemake run in {workdir} holds its lock ({', '.join(map(str, locks))}), so "
            "no entry is removed now: wait until it ends and try again (after a run that was "
            "killed, `snakemake --unlock` removes the lock)"
        )


@contextlib.contextmanager
def holding_the_lock(workflow: object) -> Iterator[None]:
    """Hold Snakemake's own lock of the working directory, as a run of this DAG would: no run
    that would write these outputs starts meanwhile, and none may be going on."""
    from snakemake.exceptions import LockException

    refuse_if_locked(Path(os.getcwd()))
    try:
        with workflow.persistence.lock():
            yield
    except LockException:
        refuse_if_locked(Path(os.getcwd()))
        raise
