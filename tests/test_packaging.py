"""The project's versions: ranges in pyproject.toml, exact versions in pylock.toml, repeated
identically where they must be repeated; installing beside an existing PyTorch keeps it."""

from __future__ import annotations

import importlib.metadata
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from conftest import REPO
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
DEPENDENCIES = [Requirement(text) for text in PYPROJECT["dependencies"]]
DEV = [Requirement(text) for text in PYPROJECT["optional-dependencies"]["dev"]]


def locked_versions() -> dict[str, str]:
    """Package name (canonical) -> version, from pylock.toml."""
    packages = tomllib.loads((REPO / "pylock.toml").read_text())["packages"]
    return {canonicalize_name(package["name"]): package["version"] for package in packages}


def test_pyproject_gives_lower_bounds_the_lock_meets_and_no_caps() -> None:
    """A range from the version tested up, no upper bound (none is known to break): an
    environment that already has a newer release keeps it."""
    locked = locked_versions()
    for requirement in DEPENDENCIES + DEV:
        (bound,) = requirement.specifier
        assert bound.operator == ">=", f"{requirement}: a lower bound only"
        version = locked[canonicalize_name(requirement.name)]
        assert Version(bound.version) <= Version(version), f"{requirement}, locked {version}"


def test_the_lock_holds_every_dependency_as_one_pypi_file_with_its_hash() -> None:
    """`make setup` installs pylock.toml as it is, then this checkout editable on its own (pip
    installs a lock only with hashes, which a folder has not). Every file comes from PyPI, not
    a machine's mirror: a wheel for the platform pip locked for, or the source (connection_pool
    has no wheel)."""
    packages = tomllib.loads((REPO / "pylock.toml").read_text())["packages"]
    locked = {canonicalize_name(package["name"]) for package in packages}
    needed = {canonicalize_name(requirement.name) for requirement in DEPENDENCIES + DEV}
    assert needed <= locked and canonicalize_name(PYPROJECT["name"]) not in locked
    for package in packages:
        (file,) = package["wheels"] if "wheels" in package else [package["sdist"]]
        assert file["url"].startswith("https://files.pythonhosted.org/"), package["name"]
        assert file["hashes"]["sha256"], package["name"]


def test_the_gpu_checks_pins_are_the_locks() -> None:
    locked = locked_versions()
    makefile = (REPO / "Makefile").read_text()
    in_makefile = re.findall(r"([A-Za-z][\w.-]*)==([\w.]+)", makefile)
    assert {"snakemake", "jsonschema"} <= {name for name, _ in in_makefile}
    for name, version in in_makefile:
        assert locked[canonicalize_name(name)] == version, f"Makefile pins {name}=={version}"


def test_the_conda_environment_pins_the_locked_versions() -> None:
    """Every package a job imports, at the locked version (the conda env skips the workflow's
    own tools: snakemake and its SLURM plugin run the jobs, not inside them)."""
    locked = locked_versions()
    environment = yaml.safe_load((REPO / "workflow/envs/study.yaml").read_text())
    pip = next(item["pip"] for item in environment["dependencies"] if isinstance(item, dict))
    in_environment = dict(requirement.split("==") for requirement in pip)
    expected = {
        requirement.name: locked[canonicalize_name(requirement.name)]
        for requirement in DEPENDENCIES
        if not requirement.name.startswith("snakemake")
    }
    assert in_environment == expected


def torch_and_what_it_needs() -> list[importlib.metadata.Distribution]:
    """This environment's torch and torchvision, and what they require on this machine."""
    found: dict[str, importlib.metadata.Distribution] = {}
    todo = ["torch", "torchvision"]
    while todo:
        name = canonicalize_name(todo.pop())
        if name in found:
            continue
        found[name] = importlib.metadata.distribution(name)
        for text in found[name].requires or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return list(found.values())


def environment_with_pytorch(folder: Path) -> tuple[Path, set[str]]:
    """A venv (its Python) that sees this environment's PyTorch, with what it needs, and
    nothing else of it, as a machine with its own PyTorch would; and those packages' names."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    exposed = folder / "exposed"
    exposed.mkdir()
    names = set()
    for distribution in torch_and_what_it_needs():
        names.add(canonicalize_name(distribution.metadata["Name"]))
        # its top-level files and folders in site-packages, .dist-info included (pip reads it)
        tops = {file.parts[0] for file in distribution.files or [] if file.parts[0] != ".."}
        for top in tops:
            if not (exposed / top).exists():
                (exposed / top).symlink_to(Path(str(distribution.locate_file(top))))
    python = folder / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(purelib, "exposed.pth").write_text(f"{exposed}\n")
    return python, names


def test_installing_beside_an_existing_pytorch_keeps_it(tmp_path: Path) -> None:
    """`pip install -e .` where PyTorch is installed plans the workflow's other dependencies
    but nothing of PyTorch's (no download of several GB): the ranges admit what is there."""
    python, pytorch = environment_with_pytorch(tmp_path / "venv")
    assert {"torch", "torchvision"} <= pytorch
    planned = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--dry-run"]
        + ["--quiet", "--report", "-", "-e", str(REPO)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if planned.returncode != 0:
        pytest.skip(f"pip could not plan the install (no package index?):\n{planned.stderr}")
    report = json.loads(planned.stdout)
    installs = {canonicalize_name(item["metadata"]["name"]) for item in report["install"]}
    assert {"fashion-mnist-study", "pandas", "snakemake"} <= installs
    assert installs & pytorch == set()
