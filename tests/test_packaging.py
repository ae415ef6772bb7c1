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


RULE = re.compile(r"^rule (\w+):\n(.*?)(?=^rule |\Z)", re.S | re.M)
PACKAGE_IMPORT = re.compile(r"^(?:from|import) fashion_mnist_study\.(\w+)", re.M)


def imported_modules(source: str) -> set[str]:
    """The package modules `source` imports, and the ones they import, and so on."""
    found: set[str] = set()
    todo = set(PACKAGE_IMPORT.findall(source))
    while todo:
        module = todo.pop()
        found.add(module)
        text = (REPO / "src/fashion_mnist_study" / f"{module}.py").read_text()
        todo |= set(PACKAGE_IMPORT.findall(text)) - found
    return found


def test_every_rule_declares_the_package_modules_its_script_runs() -> None:
    """Snakemake tracks a script, not what it imports: a module left out of a rule's inputs
    would not rerun the rule when edited."""
    rules = {}
    for path in sorted((REPO / "workflow/rules").glob("*.smk")):
        for name, body in RULE.findall(path.read_text()):
            script = re.search(r'script:\s*"\.\./scripts/(\w+\.py)"', body)
            declared = re.search(r"package_modules\(([^)]*)\)", body)
            if script:
                rules[name] = (script.group(1), declared.group(1) if declared else "")
    assert len(rules) > 15
    problems = {}
    for name, (script, declared) in rules.items():
        needed = imported_modules((REPO / "workflow/scripts" / script).read_text())
        # joblog, progress: a job's log and its console lines, which change no output
        missing = needed - set(re.findall(r'"(\w+)"', declared)) - {"joblog", "progress"}
        problems[name] = sorted(missing)
    assert {name: missing for name, missing in problems.items() if missing} == {}
