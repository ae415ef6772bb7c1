"""The package's layout as the workflow relies on it: every rule declares the package modules
its script runs, and a subpackage's __init__.py holds nothing to run. (Which subpackage may
import which is import-linter's to check: `make lint`.)"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from conftest import REPO

PACKAGE = REPO / "src/fashion_mnist_study"
RULE = re.compile(r"^rule (\w+):\n(.*?)(?=^rule |\Z)", re.S | re.M)
# A job's log and its console lines change no output: no rule lists them as code.
NOT_CODE_INPUTS = {"core.joblog", "core.progress"}


def module_file(name: str) -> Path:
    return PACKAGE / f"{name.replace('.', '/')}.py"


def runtime_imports(source: str) -> set[str]:
    """The package modules `source` imports at run time (at any depth, not under `if
    TYPE_CHECKING:`), as dotted names within the package."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            return
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(PACKAGE.name):
            module = node.module.removeprefix(PACKAGE.name).lstrip(".")
            for alias in node.names:  # `from package.outputs.report import tables` names a module
                child = f"{module}.{alias.name}".lstrip(".")
                found.add(child if module_file(child).is_file() else module)
        elif isinstance(node, ast.Import):
            found.update(
                alias.name.removeprefix(f"{PACKAGE.name}.")
                for alias in node.names
                if alias.name.startswith(f"{PACKAGE.name}.")
            )
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(source))
    return {name for name in found if module_file(name).is_file()}


def imported_modules(source: str) -> set[str]:
    """The package modules `source` imports, and the ones they import, and so on."""
    found: set[str] = set()
    todo = runtime_imports(source)
    while todo:
        module = todo.pop()
        found.add(module)
        todo |= runtime_imports(module_file(module).read_text()) - found
    return found


def test_imports_are_followed_into_subpackages() -> None:
    source = (
        "from fashion_mnist_study.outputs.report import tables\n"
        "import fashion_mnist_study.analysis.evidence as evidence\n"
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from fashion_mnist_study.study.training.loop import train_model\n"
    )
    found = imported_modules(source)
    assert {"outputs.report.tables", "outputs.report.numbers", "analysis.evidence"} <= found
    assert "study.training.loop" not in found


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
        missing = needed - set(re.findall(r'"([\w.]+)"', declared)) - NOT_CODE_INPUTS
        problems[name] = sorted(missing)
    assert {name: missing for name, missing in problems.items() if missing} == {}


def test_subpackage_inits_hold_only_their_docstring() -> None:
    """Importing a module runs its package's __init__.py, which no rule lists as code: one that
    held code could change an output without rerunning the rule."""
    inits = sorted(PACKAGE.rglob("__init__.py"))
    assert len(inits) > 5
    for init in inits:
        body = ast.parse(init.read_text()).body
        assert ast.get_docstring(ast.Module(body=body, type_ignores=[])), f"{init}: no docstring"
        assert len(body) == 1, f"{init} holds more than its docstring"
