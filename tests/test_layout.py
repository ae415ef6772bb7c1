"""The package's layout as the workflow relies on it: each rule's code inputs are the package
modules its script reaches through its imports (core/code_inputs.py), a subpackage's
__init__.py holds nothing to run, and a training's outputs are found from one another by their
declared paths (core/paths.py). (Which subpackage may import which is import-linter's to check:
`make lint`.)"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import NamedTuple

import pytest
from conftest import REPO, SMOKE, copy_workflow

from fashion_mnist_study.cache.keys import planned_workflow
from fashion_mnist_study.core.code_inputs import code_inputs
from fashion_mnist_study.core.paths import training_output

PACKAGE = REPO / "src/fashion_mnist_study"


def write_modules(root: Path, modules: dict[str, str]) -> None:
    """Files under `root` (paths relative to it, such as fashion_mnist_study/core/a.py), each
    package folder with its __init__.py."""
    for name, source in modules.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
        for folder in path.relative_to(root).parents[:-1]:
            (root / folder / "__init__.py").touch()


def test_imports_are_followed_through_modules_and_subpackages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_modules(
        tmp_path,
        {
            "script.py": "from fashion_mnist_study.outputs.report import tables\n",
            "fashion_mnist_study/outputs/report/tables.py": (
                "import fashion_mnist_study.analysis.evidence as evidence\n"
                "from fashion_mnist_study.outputs.report.numbers import Measure\n"
            ),
            "fashion_mnist_study/outputs/report/numbers.py": "Measure = float\n",
            "fashion_mnist_study/analysis/evidence.py": (
                "def later():\n    from fashion_mnist_study.core import atomic\n"
            ),
            "fashion_mnist_study/core/atomic.py": "import os\n",
            "fashion_mnist_study/core/unused.py": "",
        },
    )
    monkeypatch.chdir(tmp_path)
    assert code_inputs(tmp_path / "script.py", tmp_path / "fashion_mnist_study") == [
        "fashion_mnist_study/analysis/evidence.py",
        "fashion_mnist_study/core/atomic.py",
        "fashion_mnist_study/outputs/report/numbers.py",
        "fashion_mnist_study/outputs/report/tables.py",
    ]


def test_imports_for_type_hints_alone_are_not_code_inputs(tmp_path: Path) -> None:
    write_modules(
        tmp_path,
        {
            "script.py": (
                "import typing\n"
                "from typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n"
                "    from fashion_mnist_study.study.training.loop import train_model\n"
                "else:\n"
                "    from fashion_mnist_study.core import settings\n"
                "if typing.TYPE_CHECKING:\n"
                "    import fashion_mnist_study.study.models\n"
            ),
            "fashion_mnist_study/study/training/loop.py": "",
            "fashion_mnist_study/study/models.py": "",
            "fashion_mnist_study/core/settings.py": "",
        },
    )
    found = code_inputs(tmp_path / "script.py", tmp_path / "fashion_mnist_study")
    assert [Path(path).name for path in found] == ["settings.py"]


def test_job_logs_and_console_lines_are_never_code_inputs(tmp_path: Path) -> None:
    """They change no output: editing them must rerun nothing, nor what they import."""
    write_modules(
        tmp_path,
        {
            "script.py": (
                "from fashion_mnist_study.core.joblog import log_to\n"
                "from fashion_mnist_study.study import filters\n"
            ),
            "fashion_mnist_study/study/filters.py": (
                "from fashion_mnist_study.core import progress\n"
            ),
            "fashion_mnist_study/core/joblog.py": "import fashion_mnist_study.core.hardware\n",
            "fashion_mnist_study/core/progress.py": "import fashion_mnist_study.core.hardware\n",
            "fashion_mnist_study/core/hardware.py": "",
        },
    )
    found = code_inputs(tmp_path / "script.py", tmp_path / "fashion_mnist_study")
    assert [Path(path).name for path in found] == ["filters.py"]


class Declared(NamedTuple):
    script: str  # the file name of the rule's script
    code: set[str]  # the rule's code inputs


def declared_by_rules(workdir: Path) -> dict[str, Declared]:
    """Rule -> its script and code inputs, as the workflow in `workdir` declares them."""
    with planned_workflow(workdir, [workdir / SMOKE[1]]) as workflow:
        return {
            rule.name: Declared(Path(rule.script).name, set(rule.input.code))
            for rule in workflow.rules
            if rule.script
        }


@pytest.fixture(scope="module")
def declared(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Declared]:
    return declared_by_rules(copy_workflow(tmp_path_factory.mktemp("layout") / "workflow"))


def test_every_rule_with_a_script_has_the_modules_it_reaches_as_code_inputs(
    declared: dict[str, Declared], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Snakemake tracks a script, not what it imports: a module left out of a rule's inputs
    would not rerun the rule when edited."""
    assert len(declared) > 15
    monkeypatch.chdir(REPO)
    for name, (script, code) in declared.items():
        assert code == set(code_inputs(REPO / "workflow/scripts" / script, PACKAGE)), name
    assert "src/fashion_mnist_study/study/training/step.py" in declared["train"].code
    assert not any("core/joblog.py" in path for rule in declared.values() for path in rule.code)


def test_an_import_added_to_a_module_is_a_code_input_of_exactly_the_rules_that_run_it(
    declared: dict[str, Declared], tmp_path: Path
) -> None:
    workdir = copy_workflow(tmp_path / "workflow")
    module = workdir / "src/fashion_mnist_study/study/filters.py"
    module.write_text(module.read_text() + "\nimport fashion_mnist_study.core.hardware\n")
    added = {
        name: rule.code - declared[name].code
        for name, rule in declared_by_rules(workdir).items()
        if rule.code != declared[name].code
    }
    new_input = {"src/fashion_mnist_study/core/hardware.py"}
    assert added == {"apply_filters": new_input, "filter_errors": new_input}


def test_subpackage_inits_hold_only_their_docstring() -> None:
    """Importing a module runs its package's __init__.py, which is no rule's code input: one
    that held code could change an output without rerunning the rule."""
    inits = sorted(PACKAGE.rglob("__init__.py"))
    assert len(inits) > 5
    for init in inits:
        body = ast.parse(init.read_text()).body
        assert ast.get_docstring(ast.Module(body=body, type_ignores=[])), f"{init}: no docstring"
        assert len(body) == 1, f"{init} holds more than its docstring"


def test_a_trainings_outputs_are_found_from_one_another_wherever_they_lie() -> None:
    found = training_output("/runs/a/results/models/cnn/seed2.pt", "result", given="weights")
    assert found == Path("/runs/a/results/metrics/cnn/seed2.json")
    found = training_output("results/predictions/mlp-x/seed0.npz", "result", given="predictions")
    assert found == Path("results/metrics/mlp-x/seed0.json")
    # The metrics and the result share a folder in the declared paths: in any folder, then.
    assert training_output("cnn/seed1.csv", "result", given="metrics") == Path("cnn/seed1.json")
    with pytest.raises(ValueError, match="is not a training's weights"):
        training_output("results/predictions/cnn/seed0.npz", "result", given="weights")
