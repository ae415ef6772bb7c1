"""The project's versions: ranges in pyproject.toml, exact versions in pylock.toml, repeated
identically where they must be repeated; installing beside an existing PyTorch keeps it."""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from conftest import REPO, copy_workflow
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from fashion_mnist_study.tools.lock_targets import (
    PLATFORM_TAGS,
    LockedFile,
    chosen_file,
    fitting_tags,
    marker_environment,
    packages_for,
    supported_pythons,
)
from fashion_mnist_study.tools.lock_targets import main as lock_targets_main

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
DEPENDENCIES = [Requirement(text) for text in PYPROJECT["dependencies"]]
DEV = [Requirement(text) for text in PYPROJECT["optional-dependencies"]["dev"]]
LOCK = tomllib.loads((REPO / "pylock.toml").read_text())


def locked_versions() -> dict[str, str]:
    """Package name (canonical) -> version, from pylock.toml."""
    return {canonicalize_name(package["name"]): package["version"] for package in LOCK["packages"]}


def test_pyproject_gives_lower_bounds_the_lock_meets_and_no_caps() -> None:
    """A range from the version tested up, no upper bound (none is known to break): an
    environment that already has a newer release keeps it."""
    locked = locked_versions()
    for requirement in DEPENDENCIES + DEV:
        (bound,) = requirement.specifier
        assert bound.operator == ">=", f"{requirement}: a lower bound only"
        version = locked[canonicalize_name(requirement.name)]
        assert Version(bound.version) <= Version(version), f"{requirement}, locked {version}"


def test_every_locked_file_comes_from_pypi_with_its_hash() -> None:
    """`make setup` installs pylock.toml as it is, then this checkout editable on its own (pip
    installs a lock only with hashes, which a folder has not). Every file comes from PyPI, not
    a machine's mirror, which another machine could not reach."""
    packages = LOCK["packages"]
    locked = {canonicalize_name(package["name"]) for package in packages}
    needed = {canonicalize_name(requirement.name) for requirement in DEPENDENCIES + DEV}
    assert needed <= locked and canonicalize_name(PYPROJECT["name"]) not in locked
    for package in packages:
        files = [*package.get("wheels", []), *([package["sdist"]] if "sdist" in package else [])]
        assert files, package["name"]
        for file in files:
            assert file["url"].startswith("https://files.pythonhosted.org/"), package["name"]
            assert len(file["hashes"]["sha256"]) == 64, package["name"]


def test_the_lock_serves_every_supported_python_on_every_platform() -> None:
    """From pylock.toml alone, nothing downloaded: on each of the 3 platforms with each
    supported CPython (at its first and a late patch release, as markers may split there),
    every package pyproject.toml asks for is locked once, and every locked package that applies
    has a wheel that fits or its source."""
    assert supported_pythons() == [(3, 11), (3, 12), (3, 13), (3, 14)]
    for platform in PLATFORM_TAGS:  # each is one of the lock's environments
        environment = marker_environment((3, 13), 0, platform)
        matching = [text for text in LOCK["environments"] if Marker(text).evaluate(environment)]
        assert len(matching) == 1, f"{platform}: the lock's environments are {matching}"
    assert len(LOCK["environments"]) == len(PLATFORM_TAGS)
    needed = {canonicalize_name(requirement.name) for requirement in DEPENDENCIES + DEV}
    for python in supported_pythons():
        for platform in PLATFORM_TAGS:
            tags = fitting_tags(python, platform)
            for patch in (0, 99):
                target = f"CPython {python[0]}.{python[1]}.{patch} on {' '.join(platform)}"
                chosen = packages_for(LOCK, python, patch, platform)
                names = [canonicalize_name(package["name"]) for package in chosen]
                assert len(names) == len(set(names)), f"{target}: a package locked twice"
                assert needed <= set(names), f"{target}: {sorted(needed - set(names))} not locked"
                for package in chosen:
                    assert chosen_file(package, tags), f"{target}: no file of {package['name']}"


def test_the_file_chosen_is_the_best_fitting_wheel_else_the_source() -> None:
    def wheel(name: str) -> dict:
        return {"url": f"https://files.pythonhosted.org/x/{name}", "size": len(name)}

    package = {
        "name": "example",
        "wheels": [
            wheel("example-1.0-cp313-cp313-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"),
            wheel("example-1.0-cp313-cp313-manylinux_2_28_x86_64.whl"),
            wheel("example-1.0-cp313-cp313-manylinux_2_34_x86_64.whl"),
            wheel("example-1.0-cp313-cp313-macosx_14_0_arm64.whl"),
        ],
        "sdist": {"url": "https://files.pythonhosted.org/x/example-1.0.tar.gz", "size": 7},
    }
    linux = chosen_file(package, fitting_tags((3, 13), ("linux", "x86_64")))
    assert linux and linux.name.endswith("manylinux_2_28_x86_64.whl"), linux  # 2_34 needs newer
    mac = chosen_file(package, fitting_tags((3, 13), ("darwin", "arm64")))
    assert mac and mac.name.endswith("macosx_14_0_arm64.whl") and mac.is_wheel
    source = chosen_file(package, fitting_tags((3, 14), ("linux", "aarch64")))
    assert source == LockedFile("example", "example-1.0.tar.gz", 7) and not source.is_wheel
    del package["sdist"]
    assert chosen_file(package, fitting_tags((3, 14), ("linux", "aarch64"))) is None


def uv() -> str:
    found = shutil.which("uv", path=Path(sys.executable).parent)
    if found is None:
        pytest.skip("uv is not installed beside this Python (`make setup` installs it)")
    return found


def test_pylock_is_uv_locks_export_and_uv_lock_is_pyprojects() -> None:
    """The two lock files are one resolution: uv.lock meets pyproject.toml's ranges, and
    pylock.toml is exactly its export by the command its header names (`make lock`'s)."""
    checked = subprocess.run(
        [uv(), "lock", "--check", "--offline", "--quiet"], cwd=REPO, capture_output=True, text=True
    )
    assert checked.returncode == 0, f"uv.lock is behind pyproject.toml:\n{checked.stderr}"
    text = (REPO / "pylock.toml").read_text()
    command = re.search(r"^#\s+(uv export .*)$", text, re.MULTILINE).group(1).split()
    output = command.index("--output-file") if "--output-file" in command else command.index("-o")
    del command[output : output + 2]
    exported = subprocess.run(
        [uv(), *command[1:], "--offline"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    body = [line for line in text.splitlines() if not line.startswith("#")]
    assert [line for line in exported.splitlines() if not line.startswith("#")] == body


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


def fake_python(folder: Path, name: str, identity: str | None) -> Path:
    """An executable `name` in `folder` that acts as the Python `identity` ("cpython-3.13.0")
    does for `make setup`: it answers the Makefile's questions, makes a "venv" holding a copy of
    itself, and logs every call; with no identity it fails, as a pyenv shim of a version not
    selected does."""
    path = folder / name
    if identity is None:
        path.write_text("#!/bin/sh\nexit 127\n")
    else:
        path.write_text(
            "#!/bin/sh\n"
            f'echo "$*" >> "{folder}/calls.log"\n'
            'case "$1" in\n'
            f'  -c) echo "{identity}" ;;\n'
            '  -m) if [ "$2" = venv ]; then mkdir -p "$3/bin" && cp "$0" "$3/bin/python"; fi ;;\n'
            "esac\n"
        )
    path.chmod(0o755)
    return path


def run_make(
    *arguments: str, folder: Path = REPO, path: str | None = None
) -> subprocess.CompletedProcess:
    """`make ARGUMENTS` in `folder` (this checkout), with PATH `path`."""
    # Not the PYTHON of the make that may run this test, nor its command line (MAKEFLAGS).
    inherited = {"PYTHON", "VENV", "MAKEFLAGS", "MFLAGS", "MAKELEVEL"}
    environment = {key: value for key, value in os.environ.items() if key not in inherited}
    if path is not None:
        environment["PATH"] = path
    return subprocess.run(
        ["make", "--no-print-directory", "-C", str(folder), *arguments],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
    )


def make_setup(venv: Path, *arguments: str, path: str | None = None) -> subprocess.CompletedProcess:
    """`make setup` in this checkout with the venv at `venv` (and PATH `path`)."""
    return run_make("setup", f"VENV={venv}", *arguments, path=path)


def test_setup_takes_the_newest_supported_python_on_path(tmp_path: Path) -> None:
    """python3.15 is not supported and python3.14's shim fails: python3.13 is taken."""
    fake_python(tmp_path, "python3.15", "cpython-3.15.0")
    fake_python(tmp_path, "python3.14", None)
    fake_python(tmp_path, "python3.13", "cpython-3.13.0")
    fake_python(tmp_path, "python3.12", "cpython-3.12.1")
    result = make_setup(tmp_path / "venv", "--dry-run", path=f"{tmp_path}:/usr/bin:/bin")
    assert result.returncode == 0, result.stderr
    assert "python3.13 -m venv" in result.stdout
    assert f"touch {tmp_path}/venv/.installed-cpython-3.13.0" in result.stdout


@pytest.mark.parametrize("identity", ["cpython-3.10.13", "cpython-3.15.0", "pypy-3.11.13", None])
def test_an_unsupported_python_stops_setup_before_anything_is_made(
    tmp_path: Path, identity: str | None
) -> None:
    python = fake_python(tmp_path, "python", identity)
    result = make_setup(tmp_path / "venv", f"PYTHON={python}")
    assert result.returncode != 0
    assert "this project runs on CPython 3.14, 3.13, 3.12, 3.11" in result.stderr
    assert "make setup PYTHON=python3.11" in result.stderr
    assert identity is None or f"is {identity}" in result.stderr
    assert not (tmp_path / "venv").exists()
    calls = (tmp_path / "calls.log").read_text().splitlines() if identity else []
    assert all(call.startswith("-c ") for call in calls), calls


def test_a_venv_made_by_another_python_is_made_anew(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    python312 = fake_python(tmp_path, "python3.12", "cpython-3.12.1")
    assert make_setup(venv, f"PYTHON={python312}").returncode == 0
    (venv / "mine").touch()
    assert "Nothing to be done" in make_setup(venv, f"PYTHON={python312}").stdout
    python313 = fake_python(tmp_path, "python3.13", "cpython-3.13.0")
    result = make_setup(venv, f"PYTHON={python313}")
    assert result.returncode == 0, result.stderr
    assert "making it anew with cpython-3.13.0" in result.stdout
    assert sorted(path.name for path in venv.iterdir()) == [".installed-cpython-3.13.0", "bin"]


def test_clean_removes_the_runs_files_and_leaves_the_cache_it_links_to_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checkout = copy_workflow(tmp_path / "checkout")
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy2(REPO / name, checkout / name)
    cache = tmp_path / "cache"
    cache.mkdir()
    entry = cache / f"{'0' * 64}_weights.pt"
    entry.write_bytes(b"weights")
    written = {
        "results/weights/cnn/seed0.pt": entry,
        "resources/fashion_mnist/splits.npz": None,
        "logs/train/cnn/seed0.log": None,
        "benchmarks/train/cnn/seed0.tsv": None,
        ".snakemake/log/run.log": None,
    }
    for name, target in written.items():
        path = checkout / name
        path.parent.mkdir(parents=True)
        path.symlink_to(target) if target else path.write_text("")
    monkeypatch.setenv("SNAKEMAKE_OUTPUT_CACHE", str(cache))
    venv = Path(sys.executable).parent.parent

    result = run_make("clean", f"VENV={venv}", folder=checkout)

    assert result.returncode == 0, result.stdout + result.stderr
    assert not any((checkout / name.split("/")[0]).exists() for name in written)
    assert entry.read_bytes() == b"weights"
    assert {"Snakefile", "config", "workflow", "Makefile"} <= {p.name for p in checkout.iterdir()}
    assert "Removed results/ resources/ logs/ benchmarks/ .snakemake/." in result.stdout
    assert f"Left: {venv}/, the installed packages" in result.stdout
    assert re.search(r"^not in use +0\.0 MB  1 entries$", result.stdout, re.M), result.stdout
    assert f"({cache})" in result.stdout
    assert "fashion-mnist-study cache prune lists the trainings" in result.stdout


def test_the_targets_table_has_a_row_per_python_and_platform(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert lock_targets_main([]) == 0
    header, *rows = capsys.readouterr().out.splitlines()
    assert header.split() == ["platform", "CPython", "packages", "from", "source", "download", "MB"]
    found = {tuple(line.split()[:3]) for line in rows}
    assert found == {
        (*name.split(), f"{python[0]}.{python[1]}")
        for name in ("Linux x86-64", "Linux aarch64", "macOS arm64")
        for python in supported_pythons()
    }
    for line in rows:
        packages, sources, megabytes = line.split()[3:]
        assert 0 <= int(sources) < int(packages) and float(megabytes.replace(",", "")) > 0
