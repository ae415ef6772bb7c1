"""The report written: the templates of templates/ rendered to Markdown and to one
self-contained HTML file (figures inlined), from the context the sections build."""

from __future__ import annotations

import base64
import os
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from fashion_mnist_study.core.atomic import write_text
from fashion_mnist_study.outputs.report.numbers import ReportInputs, RunNumbers
from fashion_mnist_study.outputs.report.sections import report_context

TEMPLATES = Path(__file__).parent / "templates"


def data_uri(path: str) -> str:
    """A PNG file as a data: URI, so the HTML report is one self-contained file."""
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode()


def render(template: str, context: dict[str, object], relative_to: Path) -> str:
    """Render templates/<template>; HTML is autoescaped, Markdown is not."""
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=template.endswith(".html.j2"),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["data_uri"] = data_uri
    environment.filters["relative"] = lambda path: os.path.relpath(path, relative_to)
    return environment.get_template(template).render(context)


def write_report(inputs: ReportInputs, html_path: str, markdown_path: str) -> None:
    context = report_context(RunNumbers(inputs))
    write_text(markdown_path, render("report.md.j2", context, Path(markdown_path).parent))
    write_text(html_path, render("report.html.j2", context, Path(html_path).parent))
