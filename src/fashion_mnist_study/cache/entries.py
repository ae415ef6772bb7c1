"""The entries of the result cache, read as Snakemake names them: what each training holds,
whether it is intact, how much space it takes. No torch or Snakemake here (keys.py asks
Snakemake which entries the config uses); torch only to read the settings of an old entry."""

from __future__ import annotations

import json
import os
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path

import pandas as pd

from fashion_mnist_study.cache.store import ENTRY_FILE
from fashion_mnist_study.core.checksums import archive_problem, is_sealed, sha256_of
from fashion_mnist_study.core.paths import RAW_DATA, TRAINING_OUTPUTS
from fashion_mnist_study.core.settings import setting_cells, varying_settings

# The named outputs of the cached rules, name -> extension: Snakemake stores output NAME of a
# job as <key>_NAME<extension>.
RULE_OUTPUTS = {
    rule: {name: Path(path).suffix for name, path in outputs.items()}
    for rule, outputs in (("train", TRAINING_OUTPUTS), ("download_fashion_mnist", RAW_DATA))
}
# Settings that have a column of their own in the listing, or that name the entry.
LISTED_APART = ("name", "architecture", "epochs")


@dataclass(frozen=True)
class Entry:
    """One cached job: the files of the cache folder that share its key."""

    key: str
    files: tuple[Path, ...]

    @property
    def suffixes(self) -> set[str]:
        return {path.name[len(self.key) :] for path in self.files}

    @property
    def rule(self) -> str | None:
        """The cached rule whose outputs these files are (some may be missing), if any."""
        for rule, outputs in RULE_OUTPUTS.items():
            if self.suffixes & {f"_{name}{ext}" for name, ext in outputs.items()}:
                return rule
        return None

    def file(self, output: str) -> Path:
        folder = self.files[0].parent
        return folder / f"{self.key}_{output}{RULE_OUTPUTS[self.rule][output]}"

    @property
    def size(self) -> int:
        return sum(path.stat().st_size for path in self.files)

    @cached_property
    def result(self) -> dict | None:
        """A training's result JSON as stored (None if missing or unreadable; unchecked)."""
        try:
            result = json.loads(self.file("result").read_text())
        except (OSError, ValueError, KeyError):
            return None
        return result if isinstance(result, dict) else None

    @property
    def created(self) -> datetime:
        """When the job ran: the result's `trained_at`, else its files' last change (Snakemake
        keeps a file's modification time when it stores it)."""
        stamp = (self.result or {}).get("trained_at")
        if isinstance(stamp, str):
            return datetime.fromisoformat(stamp)
        newest = max(path.stat().st_mtime for path in self.files)
        return datetime.fromtimestamp(newest, UTC)


def find_entries(folder: Path) -> list[Entry]:
    """Every entry of the cache folder, newest first (other files and folders left out)."""
    grouped: dict[str, list[Path]] = defaultdict(list)
    for path in folder.iterdir():
        match = ENTRY_FILE.fullmatch(path.name)
        if match and path.is_file():
            grouped[match["key"]].append(path)
    entries = [Entry(key, tuple(sorted(files))) for key, files in grouped.items()]
    return sorted(entries, key=lambda entry: entry.created, reverse=True)


def problems(entry: Entry) -> list[str]:
    """Why the entry cannot be trusted (empty if intact): files missing, a result that does not
    match its seal, an output that does not match its checksum, an unreadable archive."""
    if entry.rule is None:
        return []
    expected = RULE_OUTPUTS[entry.rule]
    missing = [name for name in expected if not entry.file(name).exists()]
    if missing:
        return [f"missing {', '.join(entry.file(name).name for name in missing)}"]
    if entry.rule != "train":
        return []
    result = entry.result
    if result is None or not is_sealed(result):
        return [f"{entry.file('result').name} does not match its seal"]
    checksums = result.get("sha256", {})
    found = []
    for name in ("metrics", "predictions", "weights"):
        path = entry.file(name)
        if name in checksums and sha256_of(path) != checksums[name]:
            found.append(f"{path.name} differs from its checksum in {entry.file('result').name}")
        elif path.suffix in (".npz", ".pt"):  # an earlier version's entry: no checksum of it
            problem = archive_problem(path)
            if problem is not None:
                found.append(f"{path.name}: {problem}")
    return found


def settings_of(entry: Entry) -> dict:
    """The model's settings: from the result JSON, or for an entry whose result does not hold
    them, from its weights (loaded without running code); {} where neither tells."""
    settings = (entry.result or {}).get("settings")
    if isinstance(settings, dict):
        return settings
    try:
        import torch

        weights = torch.load(entry.file("weights"), map_location="cpu", weights_only=True)
        return dict(weights["settings"])
    except Exception:  # an old or damaged entry: listed without settings
        return {}


def listing(entries: list[Entry], used: set[str] | None) -> pd.DataFrame:
    """One row per training entry, in the given order: model, architecture, the settings that
    differ between the listed entries, seed, epochs, test accuracy, device, when, seconds, size
    (MB), whether the config uses it (empty if unknown) and the key."""
    trainings = [entry for entry in entries if entry.rule == "train"]
    settings = {entry.key: settings_of(entry) for entry in trainings}
    varying = varying_settings(
        {key: {k: v for k, v in s.items() if k not in LISTED_APART} for key, s in settings.items()}
    )
    rows = []
    for entry in trainings:
        result, chosen = entry.result or {}, settings[entry.key]
        rows.append(
            {
                "model": result.get("model", chosen.get("name", "")),
                "architecture": chosen.get("architecture", ""),
                **setting_cells(chosen, varying),
                "seed": result.get("seed", ""),
                "epochs": result.get("epochs", chosen.get("epochs", "")),
                "test_acc": result.get("test_acc"),
                "device": result.get("device", ""),
                "trained": entry.created.astimezone().strftime("%Y-%m-%d %H:%M"),
                "seconds": result.get("seconds"),
                "size_mb": round(entry.size / 1e6, 1),
                "used": "" if used is None else ("yes" if entry.key in used else "no"),
                "key": entry.key[:12],
            }
        )
    return pd.DataFrame(rows)


def older_than(entry: Entry, days: float, now: datetime | None = None) -> bool:
    now = now or datetime.now(UTC)
    return (now - entry.created).total_seconds() > days * 86400


def remove(entry: Entry) -> int:
    """Delete every file of the entry (read-only files too: that takes the folder's write
    permission only); the bytes freed."""
    size = entry.size
    for path in entry.files:
        os.unlink(path)
    return size


# Where a workflow's outputs are, relative to its folder (the rules write nowhere else).
OUTPUT_FOLDERS = ("results", "resources")


def unlink_outputs_of(entries: list[Entry], workdir: Path) -> list[Path]:
    """Remove the outputs in `workdir` that are links to the files of `entries` (as Snakemake
    restores outputs from the cache), before or after the entries are deleted; the links
    removed. Left dangling, they would stop the next run that needs them (Snakemake cannot
    tell their age); gone, it makes those outputs again."""
    files = {path.resolve() for entry in entries for path in entry.files}
    removed = []
    for folder in OUTPUT_FOLDERS:
        for path in sorted((workdir / folder).rglob("*")):
            if path.is_symlink() and path.resolve() in files:
                path.unlink()
                removed.append(path)
    return removed
