"""Sphinx configuration of the manual: Markdown pages (MyST), the API from the package's
docstrings (sphinx-autodoc2), built by `make docs` strictly (a warning is an error), offline."""

from __future__ import annotations

import re
from pathlib import Path

from sphinx.util import logging

DOCS = Path(__file__).resolve().parent
SRC = DOCS.parent / "src"

project = "fashion-mnist-study"
author = "the fashion-mnist-study authors"
copyright = "the fashion-mnist-study authors"

extensions = ["myst_parser", "autodoc2"]
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build"]
root_doc = "index"

# Markdown: `[text](page.md#a-heading)` links to a heading as GitHub's anchors name it, so a
# link works on GitHub and in the site alike, and a wrong one fails the build.
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence", "deflist"]
# No raw HTML: `<base>-<setting>-<value>` in a docstring is text, not an unknown tag.
myst_disable_syntax = ["html_inline", "html_block"]

# The API from the package's docstrings, read from the source (nothing is imported) and parsed
# as Markdown, which is how they are written (`code` in single backquotes). docs/api/ says
# which module goes on which page; nothing is generated into the source folder.
autodoc2_packages = [
    {"path": "../src/fashion_mnist_study", "exclude_files": ["__main__.py"], "auto_mode": False}
]
autodoc2_render_plugin = "myst"
autodoc2_docstring_parser_regexes = [(r".*", "myst")]
autodoc2_hidden_objects = ["private", "dunder", "inherited"]
autodoc2_class_docstring = "both"
# Strict about this package's own names: a reference to one that does not exist fails the
# build. Names from elsewhere (numpy, torch, pandas, the standard library) are not looked up:
# the build is offline, with no other project's inventory.
nitpicky = True
nitpick_ignore_regex = [(r"py:.*", r"(?!fashion_mnist_study\.).*")]

html_theme = "furo"
html_title = "fashion-mnist-study"
html_static_path: list[str] = []
html_show_sourcelink = False

API_PAGES = DOCS / "api"
DOCUMENTED = re.compile(r"^```\{autodoc2-(?:object|docstring)\} (\S+)$", re.M)


def package_modules() -> set[str]:
    """Every module and subpackage of the package, dotted (`__main__`, which runs the command
    when imported, aside)."""
    names = set()
    for path in (SRC / "fashion_mnist_study").rglob("*.py"):
        parts = path.relative_to(SRC).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if parts[-1] != "__main__":
            names.add(".".join(parts))
    return names


def check_api_pages(app, config) -> None:  # noqa: ARG001 (Sphinx's signature)
    """Every module has its section in docs/api/: a new one without it fails the build."""
    documented = {
        name for page in API_PAGES.glob("*.md") for name in DOCUMENTED.findall(page.read_text())
    }
    log = logging.getLogger(__name__)
    for name in sorted(package_modules() - documented):
        log.warning("module %s has no section in docs/api/ (autodoc2-object)", name)
    for name in sorted(documented - package_modules()):
        log.warning("docs/api/ documents %s, which is not a module of the package", name)


def setup(app) -> None:
    app.connect("config-inited", check_api_pages)
