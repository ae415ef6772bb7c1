"""The package modules a workflow script runs, found by following its imports: the code inputs of
its rule. Snakemake tracks a `script:` file but not the modules it imports; as inputs, an edited
module reruns exactly the rules whose scripts reach it. Standard library only: the Snakefile
derives every rule's code inputs at parse time."""

from __future__ import annotations

import ast
import os
from collections.abc import Iterator
from functools import cache
from pathlib import Path

PACKAGE = "fashion_mnist_study"
# A job's log and its console lines change no output, so editing them must rerun nothing: they
# are never code inputs, and what they import serves them alone.
NOT_CODE_INPUTS = ("core/joblog.py", "core/progress.py")


def code_inputs(script: Path, package: Path) -> list[str]:
    """The module files of `package` (the package's folder) that `script` imports, directly or
    through other modules, sorted; as paths relative to the working directory, so that a moved
    or copied workflow keeps its recorded inputs. A package's __init__.py is never one (each
    holds only its docstring, which a test checks)."""
    return sorted(os.path.relpath(path) for path in reached_modules(script, package))


@cache
def reached_modules(script: Path, package: Path) -> frozenset[Path]:
    """The module files that `script` reaches through its imports (cached for the process)."""
    found: set[Path] = set()
    todo = set(imported_modules(script, package))
    while todo:
        module = todo.pop()
        found.add(module)
        todo |= imported_modules(module, package) - found
    return frozenset(found)


@cache
def imported_modules(path: Path, package: Path) -> frozenset[Path]:
    """The module files of `package` that the Python file `path` imports itself when it runs."""
    skipped = {package / name for name in NOT_CODE_INPUTS}
    tree = ast.parse(path.read_text(), filename=str(path))
    files = (
        package.parent / f"{location}.py"
        for node in runtime_imports(tree.body)
        for location in imported_locations(node, path, package)
    )
    return frozenset(file for file in files if file.is_file() and file not in skipped)


# The fields of a node that hold statements (an except clause's and a match case's included):
# imports are statements, so expressions need no visit.
BLOCKS = ("body", "orelse", "finalbody", "handlers", "cases")


def runtime_imports(statements: list[ast.AST]) -> Iterator[ast.Import | ast.ImportFrom]:
    """The import statements among `statements`, at any depth (in functions too: they run when
    called), except those under `if TYPE_CHECKING:`, which never run."""
    for node in statements:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif is_type_checking(node):
            yield from runtime_imports(node.orelse)
        else:
            for block in BLOCKS:
                yield from runtime_imports(getattr(node, block, []))


def is_type_checking(node: ast.AST) -> bool:
    """Whether `node` is `if TYPE_CHECKING:` (or `if typing.TYPE_CHECKING:`)."""
    if not isinstance(node, ast.If):
        return False
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imported_locations(
    node: ast.Import | ast.ImportFrom, path: Path, package: Path
) -> Iterator[str]:
    """Where the modules of `package` that `node` (in file `path`) may name would be, as paths
    relative to the package's parent without `.py`: `from package.sub import name` names
    package/sub, and package/sub/name if `name` is a module rather than a function or class."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.name.split(".")[0] == PACKAGE:
                yield alias.name.replace(".", "/")
        return
    if node.level:  # relative: from the folder of `path`, one level up per dot after the first
        folder = path.parent.parents[node.level - 2] if node.level > 1 else path.parent
        base = folder.relative_to(package.parent).as_posix()
        if node.module:
            base = f"{base}/{node.module.replace('.', '/')}"
    elif (node.module or "").split(".")[0] == PACKAGE:
        base = node.module.replace(".", "/")
    else:
        return
    yield base
    for alias in node.names:
        yield f"{base}/{alias.name}"
