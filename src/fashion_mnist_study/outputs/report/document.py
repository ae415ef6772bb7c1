"""The report written: its words rendered once, from templates/report.md.j2, to Markdown; the
HTML page is that Markdown rendered inside a frame of styling (templates/frame.html.j2), its
figures inlined, so that the two reports cannot say different things."""

from __future__ import annotations

import base64
import os
import re
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.renderer import RendererHTML
from markdown_it.rules_core import StateCore
from markupsafe import Markup

from fashion_mnist_study.core.atomic import write_text
from fashion_mnist_study.outputs.report.inputs import ReportInputs
from fashion_mnist_study.outputs.report.numbers import RunNumbers
from fashion_mnist_study.outputs.report.sections import report_context

TEMPLATES = Path(__file__).parent / "templates"


def data_uri(path: Path) -> str:
    """A PNG file as a data: URI, so the HTML report is one self-contained file."""
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode()


def as_markdown_text(value: object) -> Markup:
    """A value shown as text in Markdown, and so in the HTML rendered from it: what would
    start markup there (<, >, &) escaped, nothing else (an apostrophe stays one)."""
    if hasattr(value, "__html__"):  # the template's own macros: already Markdown
        return Markup(value)
    text = str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return Markup(text)


def templates(**options: object) -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        **options,
    )


def anchor(title: str) -> str:
    """A heading's anchor as GitHub makes it for a Markdown file, and so the HTML page too:
    lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")


def contents(markdown: str) -> str:
    """A link to each section (## heading) of `markdown`, named by the heading up to a colon."""
    titles = re.findall(r"^## (.+)$", markdown, re.MULTILINE)
    return " · ".join(f"[{title.split(':')[0]}](#{anchor(title)})" for title in titles)


def render_markdown(context: dict[str, object], folder: Path) -> str:
    """The report's words, tables and figures as Markdown, figures linked relative to
    `folder`, where the Markdown file goes; rendered twice, the second time with the links to
    the sections the first one holds."""
    environment = templates(finalize=as_markdown_text)
    environment.filters["relative"] = lambda path: Path(os.path.relpath(path, folder)).as_posix()
    template = environment.get_template("report.md.j2")
    return template.render({**context, "contents": contents(template.render(context, contents=""))})


def name_headings(state: StateCore) -> None:
    """Each heading gets its anchor as its id, for the links to the sections."""
    tokens = state.tokens
    for token, inline in zip(tokens, tokens[1:], strict=False):
        if token.type == "heading_open":
            token.attrSet("id", anchor(inline.content))


def unwrap_lone_images(state: StateCore) -> None:
    """A paragraph that holds only an image is shown as a figure, not wrapped in <p>."""
    tokens = state.tokens
    for index, token in enumerate(tokens[:-2]):
        children = tokens[index + 1].children or []
        if token.type == "paragraph_open" and [child.type for child in children] == ["image"]:
            token.hidden = tokens[index + 2].hidden = True


class ReportRenderer(RendererHTML):
    """markdown-it's HTML, with each image inlined from `folder` as a captioned figure."""

    def __init__(self, parser: MarkdownIt, folder: Path) -> None:
        super().__init__(parser)
        self.folder = folder

    def image(self, tokens, idx, options, env) -> str:  # noqa: ANN001 (markdown-it's signature)
        token = tokens[idx]
        alt = escapeHtml(self.renderInlineAsText(token.children or [], options, env))
        source = data_uri(self.folder / str(token.attrGet("src")))
        return f'<figure><img alt="{alt}" src="{source}"><figcaption>{alt}</figcaption></figure>'


def render_html(markdown: str, folder: Path) -> str:
    """The Markdown report as one self-contained HTML page: markdown-it (CommonMark and
    tables, the HTML the Markdown holds kept) inside templates/frame.html.j2; the figures'
    links are relative to `folder`."""
    parser = MarkdownIt("commonmark", {"html": True}).enable("table")
    parser.core.ruler.push("unwrap_lone_images", unwrap_lone_images)
    parser.core.ruler.push("name_headings", name_headings)
    parser.renderer = ReportRenderer(parser, folder)
    title = markdown.splitlines()[0].removeprefix("# ")
    body = parser.render(markdown)
    return templates().get_template("frame.html.j2").render(title=title, body=body)


def write_report(inputs: ReportInputs, html_path: str, markdown_path: str) -> None:
    context = report_context(RunNumbers(inputs))
    markdown = render_markdown(context, Path(markdown_path).parent)
    write_text(markdown_path, markdown)
    write_text(html_path, render_html(markdown, Path(markdown_path).parent))
