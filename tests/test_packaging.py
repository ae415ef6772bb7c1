"""The project's pins are stated once and repeated identically where they must be repeated."""

from __future__ import annotations

import re
import tomllib

import yaml
from conftest import REPO


def test_the_gpu_checks_pins_are_the_projects() -> None:
    dependencies = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    pins = dict(dependency.split("==") for dependency in dependencies)
    makefile = (REPO / "Makefile").read_text()
    in_makefile = re.findall(r"([A-Za-z][\w.-]*)==([\w.]+)", makefile)
    assert {"snakemake", "jsonschema"} <= {name for name, _ in in_makefile}
    for name, version in in_makefile:
        if name in pins:
            assert pins[name] == version, f"Makefile pins {name}=={version}, pyproject {pins[name]}"


def test_the_conda_environment_pins_what_pyproject_pins() -> None:
    """Every package a job imports, at the same version (the conda env skips the workflow's
    own tools: snakemake and its SLURM plugin run the jobs, not inside them)."""
    dependencies = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    pins = dict(dependency.split("==") for dependency in dependencies)
    environment = yaml.safe_load((REPO / "workflow/envs/study.yaml").read_text())
    pip = next(item["pip"] for item in environment["dependencies"] if isinstance(item, dict))
    in_environment = dict(requirement.split("==") for requirement in pip)
    expected = {name: version for name, version in pins.items() if not name.startswith("snakemake")}
    assert in_environment == expected
