"""`fashion-mnist-study cache list|verify|prune|du` (or `python -m fashion_mnist_study ...`):
every training the result cache holds, and its upkeep."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from fashion_mnist_study.cache.entries import (
    Entry,
    find_entries,
    listing,
    older_than,
    problems,
    remove,
    unlink_outputs_of,
)
from fashion_mnist_study.cache.keys import (
    CacheCommandError,
    holding_the_lock,
    planned_workflow,
    refuse_if_locked,
    used_cache_files,
    used_keys,
)
from fashion_mnist_study.cache.store import output_cache


def megabytes(size: int) -> str:
    return f"{size / 1e6:,.1f} MB"


def describe(entry: Entry) -> str:
    result = entry.result or {}
    what = f"{result.get('model', '?')} seed {result.get('seed', '?')}"
    if entry.rule != "train":
        what = entry.rule or "unknown files"
    return f"{entry.key[:12]}  {what}  {entry.created:%Y-%m-%d %H:%M}  {megabytes(entry.size)}"


def command_list(args: argparse.Namespace, folder: Path) -> int:
    used = used_keys(args.directory, args.configfile) if args.used else None
    table = listing(find_entries(folder), used)
    if table.empty:
        print(f"no trainings in the result cache {folder}")
        return 0
    print(table.to_string(index=False))
    if args.csv:
        table.to_csv(args.csv, index=False)
    return 0


def command_verify(args: argparse.Namespace, folder: Path) -> int:
    entries = find_entries(folder)
    damaged = {entry: found for entry in entries if (found := problems(entry))}
    for entry, found in damaged.items():
        print(f"damaged: {describe(entry)}: {'; '.join(found)}")
    print(f"{len(entries)} entries checked in {folder}, {len(damaged)} damaged")
    if not damaged:
        return 0
    if not args.delete:
        print("`fashion-mnist-study cache verify --delete` removes them; the next run retrains")
        return 1
    refuse_if_locked(args.directory)
    links = unlink_outputs_of(list(damaged), args.directory)
    freed = sum(remove(entry) for entry in damaged)
    print(
        f"removed {len(damaged)} damaged entries ({megabytes(freed)}){links_text(links)}: "
        "the next run retrains"
    )
    return 0


def links_text(links: list[Path]) -> str:
    """' and N outputs in the workflow's folder that linked to them', or nothing."""
    if not links:
        return ""
    return f" and {len(links)} outputs in the workflow's folder that linked to them"


def command_prune(args: argparse.Namespace, folder: Path) -> int:
    with planned_workflow(args.directory, args.configfile) as workflow:
        used = {name[:64] for name in used_cache_files(workflow)}
        unused = [
            entry
            for entry in find_entries(folder)
            if entry.key not in used
            and (args.older_than is None or older_than(entry, args.older_than))
        ]
        size = sum(entry.size for entry in unused)
        if not args.yes:
            for entry in unused:
                print(f"would remove: {describe(entry)}")
            print(f"{len(unused)} entries unused, {megabytes(size)} to free (--yes removes them)")
            return 0
        with holding_the_lock(workflow):
            links = unlink_outputs_of(unused, args.directory)
            for entry in unused:
                print(f"removing: {describe(entry)}")
                remove(entry)
    print(f"removed {len(unused)} entries{links_text(links)}, freed {megabytes(size)}")
    return 0


def command_du(args: argparse.Namespace, folder: Path) -> int:
    entries = find_entries(folder)
    used = used_keys(args.directory, args.configfile)
    groups = {
        "cache": entries,
        "in use by the config": [entry for entry in entries if entry.key in used],
        "not in use": [entry for entry in entries if entry.key not in used],
    }
    for label, group in groups.items():
        size = megabytes(sum(entry.size for entry in group))
        print(f"{label:<21} {size:>12}  {len(group)} entries")
    print(f"({folder})")
    return 0


def days(text: str) -> float:
    """A number of days, 0 or more (argparse type)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of days") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"{text} days: give 0 or more")
    return value


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="fashion-mnist-study", description=__doc__)
    commands = main.add_subparsers(dest="command", required=True)
    cache = commands.add_parser("cache", help="the result cache: list, verify, prune, du")
    actions = cache.add_subparsers(dest="action", required=True)
    config = argparse.ArgumentParser(add_help=False)
    config.add_argument(
        "--configfile",
        nargs="+",
        type=Path,
        default=[],
        metavar="FILE",
        help="config files, as given to snakemake",
    )
    config.add_argument(
        "-d",
        "--directory",
        type=Path,
        default=Path.cwd(),
        help="the workflow's folder (default: this one)",
    )
    listed = actions.add_parser("list", parents=[config], help="every training, newest first")
    listed.add_argument("--csv", type=Path, help="also write the table to this CSV file")
    listed.add_argument(
        "--no-used",
        dest="used",
        action="store_false",
        help="leave out whether the config uses each entry",
    )
    verify = actions.add_parser("verify", parents=[config], help="check every entry")
    verify.add_argument("--delete", action="store_true", help="remove the damaged entries")
    prune = actions.add_parser("prune", parents=[config], help="remove the unused entries")
    prune.add_argument(
        "--older-than",
        type=days,
        metavar="DAYS",
        help="only entries trained more than DAYS days ago",
    )
    prune.add_argument("--yes", action="store_true", help="remove (else only show) them")
    actions.add_parser("du", parents=[config], help="space taken, in use and not")
    return main


COMMANDS = {
    "list": command_list,
    "verify": command_verify,
    "prune": command_prune,
    "du": command_du,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return COMMANDS[args.action](args, output_cache())
    except CacheCommandError as error:
        print(f"fashion-mnist-study cache {args.action}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
