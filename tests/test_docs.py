"""Every `snakemake` command the README and the manual show still works as far as a dry run
can tell: each is run with `--dry-run` on the smoke settings in a fresh copy of the workflow, so
a renamed target, profile or flag fails here instead of for a user. And every result of the
latest full run that they show is rendered from its one source, `docs/latest-run/`.

The commands are read from the pages themselves (shell code blocks and inline code), so a new
one is checked without editing this file. The files they need (a config of one's own, a
profile, a module user's Snakefile) come from the pages too: from code blocks whose first line
is `# file: <path>`. What a dry run cannot check here is listed in NOT_FULLY_DRY_RUN, with why.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import shlex
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import pandas as pd
import pytest
import yaml
from conftest import REPO, SMOKE, snakemake

from fashion_mnist_study.analysis.comparisons import (
    COMPARISON_COLUMNS,
    TEST_ACCURACY_COLUMNS,
    compared_pairs,
)
from fashion_mnist_study.core.checkout import copy_workflow
from fashion_mnist_study.core.checksums import seal_of
from fashion_mnist_study.core.config import model_sections, sweep_bases
from fashion_mnist_study.outputs.experiments import SUMMARY_COLUMNS
from fashion_mnist_study.tools import docs_results

PAGES = [
    REPO / "README.md",
    REPO / "config/README.md",  # included in the manual's configuration page
    *sorted(path for path in (REPO / "docs").rglob("*.md") if "_build" not in path.parts),
]
SHELL_BLOCKS = {"bash", "sh", "shell", "console"}
FENCE = re.compile(r"^(`{3,}|~{3,})([^\n]*)\n(.*?)^\1[ \t]*$", re.M | re.S)
INLINE = re.compile(r"(?<!`)`((?:[A-Z_]+=\S* )*snakemake [^`]+)`(?!`)")
FILE_LINE = re.compile(r"\A# file: (\S+)\n")
ENV_ASSIGNMENT = re.compile(r"^[A-Z_][A-Z0-9_]*=")
SMOKE_CONFIG = SMOKE[1]

# The module form runs in a user's folder beside the clone, named as the manual names it.
CLONE = "fashion-mnist-study"
USER_FOLDER = "my-study"

# Commands a dry run here cannot take all the way, and how far each is taken instead.
NOT_FULLY_DRY_RUN = {
    "--report": (
        "Snakemake's report packs a finished run's results, and a dry run makes none: the "
        "command must get as far as building the report and stop only at the first missing "
        "result"
    ),
    "profiles/kubernetes": (
        "the Kubernetes executor and S3 storage plugins are not installed: the profile is "
        "dry-run without their own keys (executor, kubernetes-*, default-storage-*), which "
        "still checks its jobs, threads and resources"
    ),
}
REPORT_NEEDS_RESULTS = re.compile(r"File results/\S+ marked for report but does not exist")
PLUGIN_KEYS = re.compile(r"^(executor|kubernetes-.*|default-storage-.*)$")


@dataclass(frozen=True)
class Command:
    """A `snakemake` command as a page shows it: its words (from `snakemake` on), the
    variables set before it, and where it is shown."""

    words: tuple[str, ...]
    env: tuple[tuple[str, str], ...]
    where: str

    def __str__(self) -> str:
        return shlex.join([*(f"{k}={v}" for k, v in self.env), *self.words])

    @property
    def in_module_form(self) -> bool:
        return f"../{CLONE}/" in str(self)


def command_of(line: str, where: str) -> Command | None:
    """The `snakemake` command on a shell line (a comment after it left out), or None."""
    words = shlex.split(line, comments=True)
    if words[:1] == ["$"]:
        words = words[1:]
    env = []
    while words and ENV_ASSIGNMENT.match(words[0]):
        name, _, value = words.pop(0).partition("=")
        env.append((name, value))
    if words[:1] != ["snakemake"]:
        return None
    return Command(tuple(words), tuple(env), where)


def shown_commands(text: str, page: str) -> list[Command]:
    """The `snakemake` commands in `text`: each line of a shell code block (a trailing
    backslash joins lines), and each inline code span that starts with one."""
    commands = []
    for block in FENCE.finditer(text):
        info = block[2].strip().strip("{}").split()
        if not info or info[-1] not in SHELL_BLOCKS:
            continue
        first = text.count("\n", 0, block.start(3)) + 1
        pending, start = "", first
        for number, line in enumerate(block[3].splitlines(), first):
            start = start if pending else number
            if line.endswith("\\"):
                pending += line[:-1] + " "
                continue
            if (command := command_of(pending + line, f"{page}:{start}")) is not None:
                commands.append(command)
            pending = ""
    prose = FENCE.sub(lambda block: "\n" * block[0].count("\n"), text)
    for span in INLINE.finditer(prose):
        line = prose.count("\n", 0, span.start()) + 1
        if (command := command_of(span[1], f"{page}:{line}")) is not None:
            commands.append(command)
    return commands


def shown_files(text: str) -> dict[str, str]:
    """Path -> content of each code block in `text` whose first line is `# file: <path>`."""
    return {
        match[1]: block[3][match.end() :]
        for block in FENCE.finditer(text)
        if (match := FILE_LINE.match(block[3]))
    }


def page_name(page: Path) -> str:
    return str(page.relative_to(REPO))


def all_commands() -> list[Command]:
    """Every command the pages show, each once (the first place it is shown)."""
    unique: dict[str, Command] = {}
    for page in PAGES:
        for command in shown_commands(page.read_text(), page_name(page)):
            unique.setdefault(str(command), command)
    return list(unique.values())


def all_files() -> dict[str, str]:
    files: dict[str, str] = {}
    for page in PAGES:
        files.update(shown_files(page.read_text()))
    return files


COMMANDS = all_commands()


def without_plugin_keys(profile: str) -> str:
    """A profile without the keys that only the executor and storage plugins understand."""
    settings = yaml.safe_load(profile)
    return yaml.safe_dump({k: v for k, v in settings.items() if not PLUGIN_KEYS.match(k)})


def write_shown_files(folder: Path, names: Iterator[str]) -> None:
    files = all_files()
    for name in names:
        content = files[name]
        if name.startswith("profiles/kubernetes/"):  # NOT_FULLY_DRY_RUN says why
            content = without_plugin_keys(content)
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(content)


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh copy of the workflow with the files the pages show (a module user's Snakefile
    aside, which belongs in the user's folder)."""
    workdir = copy_workflow(tmp_path_factory.mktemp("docs") / CLONE)
    write_shown_files(workdir, (name for name in all_files() if name != "Snakefile"))
    return workdir


@pytest.fixture(scope="module")
def module_user(checkout: Path) -> Path:
    """A user's folder beside the clone, as the manual's module page sets it up: the clone's
    config/ copied, and the page's Snakefile."""
    user = checkout.parent / USER_FOLDER
    shutil.copytree(checkout / "config", user / "config")
    write_shown_files(user, iter(["Snakefile"]))
    return user


def with_smoke_settings(words: tuple[str, ...]) -> list[str]:
    """The command's arguments with config/smoke.yaml after its own config files (a second
    `--configfile` would replace the first), and `--dry-run`."""
    args = list(words[1:])
    if "--configfile" in args:
        end = args.index("--configfile") + 1
        while end < len(args) and not args[end].startswith("-"):
            end += 1
        args.insert(end, SMOKE_CONFIG)
    else:
        args += list(SMOKE)
    return [*args, "--dry-run"]


def dry_run(command: Command, workdir: Path) -> None:
    with mock.patch.dict(os.environ, dict(command.env)):
        result = snakemake(workdir, *with_smoke_settings(command.words), check=False)
    tail = result.output[-3000:]
    if "--report" in command.words:  # NOT_FULLY_DRY_RUN says why
        reached = result.returncode != 0 and bool(REPORT_NEEDS_RESULTS.search(result.output))
        assert reached, f"{command} ({command.where}) did not get as far as the report:\n{tail}"
        return
    planned = result.returncode == 0
    assert planned, f"{command} ({command.where}) fails as a dry run on the smoke settings:\n{tail}"


@pytest.mark.parametrize("command", [c for c in COMMANDS if not c.in_module_form], ids=str)
def test_command_plans_in_a_checkout(command: Command, checkout: Path) -> None:
    dry_run(command, checkout)


@pytest.mark.parametrize("command", [c for c in COMMANDS if c.in_module_form], ids=str)
def test_command_plans_in_a_module_users_folder(command: Command, module_user: Path) -> None:
    dry_run(command, module_user)


def test_the_pages_show_the_commands_a_user_runs() -> None:
    """The reading itself works: the README's and the manual's main commands are found, with
    the files they need, and what cannot be fully dry-run is still among them."""
    shown = {str(command) for command in COMMANDS}
    assert {
        "snakemake --cores 4 all",
        "snakemake all --configfile config/smoke.yaml",
        "snakemake --profile profiles/slurm all",
        "snakemake --profile profiles/kubernetes all",
        "snakemake --report results/report/snakemake_report.html",
    } <= shown
    assert any(command.in_module_form for command in COMMANDS)
    assert {"config/my-settings.yaml", "profiles/kubernetes/config.yaml", "Snakefile"} <= set(
        all_files()
    )
    for reason in NOT_FULLY_DRY_RUN:
        assert any(reason in str(command) for command in COMMANDS), reason


def test_commands_are_read_from_shell_blocks_and_inline_code() -> None:
    text = (
        "Run `snakemake -n all` first, or `FOO=1 snakemake all`; ``snakemake --x`` is not one.\n"
        "```bash\n"
        "source .venv/bin/activate\n"
        "snakemake --cores 4 all   # the study\n"
        "snakemake all \\\n"
        "    --configfile config/smoke.yaml\n"
        "```\n"
        "```text\n"
        "snakemake output, not a command\n"
        "```\n"
        "```yaml\n"
        "# file: config/mine.yaml\n"
        "data: {subset: null}\n"
        "```\n"
    )
    commands = shown_commands(text, "page.md")
    assert [(str(c), c.where) for c in commands] == [
        ("snakemake --cores 4 all", "page.md:4"),
        ("snakemake all --configfile config/smoke.yaml", "page.md:5"),
        ("snakemake -n all", "page.md:1"),
        ("FOO=1 snakemake all", "page.md:1"),
    ]
    assert shown_files(text) == {"config/mine.yaml": "data: {subset: null}\n"}


def test_smoke_settings_go_after_a_commands_own_config_files() -> None:
    assert with_smoke_settings(("snakemake", "all")) == [
        "all",
        "--configfile",
        "config/smoke.yaml",
        "--dry-run",
    ]
    assert with_smoke_settings(("snakemake", "all", "--configfile", "a.yaml", "-n")) == [
        "all",
        "--configfile",
        "a.yaml",
        "config/smoke.yaml",
        "-n",
        "--dry-run",
    ]


# The latest full run: docs/latest-run/ is its one source (tools/docs_results.py).
SNAPSHOT = REPO / docs_results.SNAPSHOT


def outside_blocks(text: str) -> str:
    """A page without its rendered block of the latest run."""
    return re.sub(r"^\[latest-run:begin\]:.*?^\[latest-run:end\]: #$", "", text, flags=re.M | re.S)


def test_the_pages_show_the_latest_run_as_its_files_say() -> None:
    """Each page's block of the latest full run is what docs/latest-run/ renders to: a table or
    figure changed by hand, or a snapshot changed without `make docs-results`, fails here."""
    stale = {
        page.relative_to(REPO): "".join(
            difflib.unified_diff(now.splitlines(True), new.splitlines(True), "page", "rendered")
        )
        for page, (now, new) in docs_results.rendered_pages(REPO).items()
        if now != new
    }
    assert not stale, f"run `make docs-results`:\n{stale}"


def test_the_latest_run_is_written_nowhere_else() -> None:
    """Outside the rendered blocks, no page of the README or the manual gives a model's test
    accuracy with its interval, in a table's form or a sentence's: a copy could disagree."""
    latest = docs_results.read_snapshot(SNAPSHOT)
    shown = []
    for _, row in latest.accuracy.iterrows():
        bounds = row["test_acc_mean"], *docs_results.interval_of(row, "test_acc")
        shown += [docs_results.accuracy_cell(*bounds), docs_results.accuracy_sentence(*bounds)]
    for page in PAGES:
        text = outside_blocks(page.read_text())
        assert not [figure for figure in shown if figure in text], page_name(page)


def test_the_latest_runs_tables_have_the_workflows_columns() -> None:
    """The snapshot's tables are the workflow's own files, so that a new run's replace them as
    they are (`--from`)."""
    latest = docs_results.read_snapshot(SNAPSHOT)
    assert list(latest.accuracy.columns) == TEST_ACCURACY_COLUMNS
    assert list(latest.comparisons.columns) == COMPARISON_COLUMNS
    assert list(latest.experiments.columns[:2]) == ["model", "architecture"]
    assert list(latest.experiments.columns[-len(SUMMARY_COLUMNS) :]) == SUMMARY_COLUMNS


def copy_of_the_pages(root: Path) -> None:
    for page in docs_results.PAGES:
        (root / page).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REPO / page, root / page)
    shutil.copytree(SNAPSHOT, root / docs_results.SNAPSHOT)


def test_a_new_finished_run_replaces_the_snapshot_and_every_page_shows_it(tmp_path: Path) -> None:
    copy_of_the_pages(root := tmp_path / "repo")
    run = tmp_path / "run"
    for name, path in docs_results.SNAPSHOT_FILES.items():
        (run / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(SNAPSHOT / name, run / path)
    accuracy = pd.read_csv(run / "results/tables/test_accuracy.csv")
    accuracy.loc[accuracy["model"] == "mlp", "test_acc_mean"] = 0.8765
    accuracy.to_csv(run / "results/tables/test_accuracy.csv", index=False)
    for model, peak in [("cnn", 1100.0), ("mlp", 900.0)]:
        result = {"trained_at": "2027-01-02T03:04:05+00:00", "peak_rss_mb": peak}
        (run / f"results/metrics/{model}").mkdir(parents=True)
        (run / f"results/metrics/{model}/seed0.json").write_text(
            json.dumps({**result, "seal": seal_of(result)})
        )

    args = ["--command", "snakemake --cores 2 all", "--machine", "4-core Arm", "--jobs", "27"]
    args += ["--wall-time", "20 min", "--load", "nothing else ran", "--idle"]
    assert docs_results.main(["--root", str(root), "--from", str(run), *args]) == 0

    description = yaml.safe_load((root / docs_results.SNAPSHOT / "run.yaml").read_text())
    assert description["date"] == "2027-01-02"
    assert description["peak_memory"] == "0.88 to 1.07 GB"
    assert description["notes"] == ""
    assert docs_results.stale_pages(root) == []
    readme = (root / "README.md").read_text()
    assert "2027-01-02" in readme and "87.65%" in readme and "4-core Arm" in readme
    assert "on an otherwise idle machine" in " ".join((root / "docs/study.md").read_text().split())


def test_a_page_edited_by_hand_is_stale(tmp_path: Path) -> None:
    copy_of_the_pages(tmp_path)
    readme = tmp_path / "README.md"
    readme.write_text(readme.read_text().replace("cnn ahead", "mlp ahead"))
    assert docs_results.stale_pages(tmp_path) == ["README.md"]
    assert docs_results.main(["--root", str(tmp_path), "--check"]) == 1
    assert docs_results.main(["--root", str(tmp_path)]) == 0
    assert docs_results.stale_pages(tmp_path) == []


def test_wrapped_lines_never_start_a_block_and_keep_numbers_with_their_units() -> None:
    text = "a " * 47 + "- b 12 min 05 s " + "c " * 44 + "1.11 GB"
    lines = docs_results.wrap(text).splitlines()
    assert all(len(line) <= 100 or " " not in line[100:] for line in lines)
    assert not any(docs_results.BLOCK_START.match(line) for line in lines[1:])
    assert any("12 min 05 s" in line for line in lines) and "1.11 GB" in lines[-1]


NUMBER_WORDS = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
]


def test_the_evidence_page_counts_a_sweeps_comparisons_as_the_code_does() -> None:
    """docs/evidence.md's smoke run: the sweep it shows makes as many comparisons as it says
    (the study's pairs, every model against the baseline, every swept model against its base)."""
    text = " ".join((REPO / "docs/evidence.md").read_text().split())
    sweep = yaml.safe_load(re.search(r"the sweep `(\{base: [^`]*\})`", text)[1])
    said = re.search(r"now makes (\w+) comparisons", text)[1]
    config = yaml.safe_load((REPO / "config/config.yaml").read_text())
    config["sweeps"] = [sweep]
    models = list(model_sections(config))
    pairs = compared_pairs(models, config["experiments"]["baseline"], sweep_bases(config))
    assert NUMBER_WORDS[len(pairs)] == said, pairs
