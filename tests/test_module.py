"""The workflow used as a Snakemake module from a folder of the user's own (docs/module.md):
results land in that folder, and the package's code is still tracked."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import SMOKE_CPUS, TINY, needs_debian_data, planned_jobs, snakemake
from helpers import FILTER_JOBS, MODELS, module_user

from fashion_mnist_study.core.checkout import copy_workflow

pytestmark = [needs_debian_data, pytest.mark.slow]

# The manual's Snakefile for a module user (docs/module.md), with the clone's path in it.
USER_SNAKEFILE = """\
configfile: "config/config.yaml"


module fashion_mnist_study:
    snakefile:
        "{clone}/Snakefile"
    config:
        config


use rule * from fashion_mnist_study


# A module's handlers run only when the user's Snakefile calls them.
onstart:
    fashion_mnist_study.onstart()


onsuccess:
    fashion_mnist_study.onsuccess()


onerror:
    fashion_mnist_study.onerror()
"""


@pytest.fixture(scope="module")
def finished_module_run(
    finished_smoke_run: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, str]:
    """The suite's settings run through the module in `<base>/user`, the clone in
    `<base>/clone`; with the session's result cache, which the finished run filled, so its
    trainings (and the download) are restored, not repeated."""
    base = tmp_path_factory.mktemp("module")
    clone = copy_workflow(base / "clone")
    user = module_user(base / "user", clone, USER_SNAKEFILE.format(clone="../clone"))
    profile = ("--workflow-profile", "../clone/profiles/default")  # the manual's command
    result = snakemake(user, "all", "--cores", "2", *TINY, *profile, cpus=SMOKE_CPUS)
    return base, result.output


def test_module_run_writes_the_results_in_the_users_folder(
    finished_module_run: tuple[Path, str],
) -> None:
    base, output = finished_module_run
    user = base / "user"
    assert (user / "results/report/report.html").is_file()
    assert (user / "results/tables/test_accuracy.csv").is_file()
    assert not (base / "clone/results").exists()
    # the same code, params and data as the smoke run: the cache key holds no paths, so every
    # training is restored (its log left empty), none trained and stored again
    assert "to cache." not in output
    for model in MODELS:
        assert f"Symlinking output file results/metrics/{model}/seed0.csv from cache." in output
        assert (user / f"logs/train/{model}/seed0.log").read_text() == ""
    # the module's onsuccess, called by the user's Snakefile, tells where the report is
    assert f"Study report: {(user / 'results/report/report.html').resolve()}" in output


def test_editing_a_package_module_in_the_clone_replans_the_rules_that_run_it(
    finished_module_run: tuple[Path, str], tmp_path: Path
) -> None:
    base = tmp_path / "module"
    shutil.copytree(finished_module_run[0], base, symlinks=True)
    user = base / "user"
    assert planned_jobs(user, "all", extra=TINY) == {}
    module = base / "clone/src/fashion_mnist_study/study/filters.py"
    module.write_text(module.read_text() + "\n# edited\n")
    assert planned_jobs(user, "all", extra=TINY) == FILTER_JOBS
