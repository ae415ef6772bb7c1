"""Where finished jobs are kept for reuse: Snakemake's between-workflow output cache."""

from __future__ import annotations

import os
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
