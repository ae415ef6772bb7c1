"""Where finished jobs are kept for reuse: Snakemake's between-workflow output cache."""

from __future__ import annotations

import contextlib
import os
import re
import stat
from collections.abc import MutableMapping
from pathlib import Path

CACHE_VARIABLE = "SNAKEMAKE_OUTPUT_CACHE"
CACHE_FOLDER_NAME = "fashion-mnist-study"


def output_cache(environ: MutableMapping[str, str] = os.environ) -> Path:
    """The cache folder, set in `environ` for Snakemake: $SNAKEMAKE_OUTPUT_CACHE where the user
    set it (a team's shared cache is this explicit choice), else the user's own cache folder
    ($XDG_CACHE_HOME or ~/.cache)/fashion-mnist-study. A folder that does not exist yet is
    created readable and writable by its owner alone: Snakemake stores cached files writable
    by everyone (mode 666), so the folder is what keeps other users out. An existing folder
    keeps its permissions."""
    if environ.get(CACHE_VARIABLE):
        folder = Path(environ[CACHE_VARIABLE])
    else:
        base = Path(environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        folder = base / CACHE_FOLDER_NAME
    if not folder.is_dir():
        folder.mkdir(parents=True)
        folder.chmod(0o700)
    environ[CACHE_VARIABLE] = str(folder)
    return folder


# A cache entry's files are named by Snakemake: the job's provenance hash (64 hex digits), then
# `_<output name><extension>` for a rule with several named outputs.
ENTRY_FILE = re.compile(r"(?P<key>[0-9a-f]{64})(?P<suffix>.*)")
NOT_WRITABLE = ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)


def protect_entries(folder: Path) -> list[Path]:
    """Make the cache's entries read-only for everyone; the files changed.

    Why: Snakemake stores them writable by everyone (mode 666), and the outputs in results/
    are links to them, so saving a result in an editor would change the entry for every later
    run and every clone sharing the cache. Read-only, the write fails instead (root can still
    write). Removing an entry needs only the folder's write permission. Files of other users in
    a shared cache stay as they are (only their owner may change their mode)."""
    changed = []
    for path in folder.iterdir():
        if not ENTRY_FILE.fullmatch(path.name) or path.is_symlink() or not path.is_file():
            continue
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & ~NOT_WRITABLE:
            with contextlib.suppress(PermissionError):
                path.chmod(mode & NOT_WRITABLE)
                changed.append(path)
    return changed
