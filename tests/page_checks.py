"""What the tests look for in a report's page: its words (beside the Markdown's), and in a page
open in headless Chromium (Playwright), console errors, images that do not decode, elements
that stick out of the viewport."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Error, Frame, Page

# Debian's Chromium (`apt-get install chromium`); Playwright drives it instead of a browser of
# its own, which it cannot download on a closed network.
CHROMIUM = Path("/usr/bin/chromium")
# As root Chromium needs --no-sandbox; without the background-networking flags it keeps trying
# to reach Google's hosts, and a closed network refuses it.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 900}

# Elements whose right edge passes `limit` (px) and that no scrolling box within the limit
# holds; of nested ones only the outermost, as `tag#id.class (width px wide, right edge at
# px)`.
STICKING_OUT = """(limit) => {
  const beyond = (el) => el.getBoundingClientRect().right > limit + 0.5;
  const held = (el) => {
    for (let box = el.parentElement; box && box !== document.body; box = box.parentElement) {
      if (getComputedStyle(box).overflowX !== "visible" && !beyond(box)) return true;
    }
    return false;
  };
  const out = [...document.body.querySelectorAll("*")].filter((el) => beyond(el) && !held(el));
  const name = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
    + [...el.classList].map((c) => "." + c).join("");
  return out.filter((el) => !out.includes(el.parentElement)).map((el) => {
    const { width, right } = el.getBoundingClientRect();
    return `${name(el)} (${Math.round(width)} px wide, right edge at ${Math.round(right)} px)`;
  });
}"""

# The images that do not decode, by their alt text (or the start of their source).
UNDECODED_IMAGES = """async () => {
  const failed = await Promise.all([...document.images].map(async (img) => {
    try { await img.decode(); } catch (error) { return img.alt || img.src.slice(0, 80); }
    return img.naturalWidth > 0 ? null : img.alt || img.src.slice(0, 80);
  }));
  return failed.filter((name) => name !== null);
}"""


def launch(playwright) -> Browser:
    """Debian's Chromium, headless, through Playwright."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


def chromium_missing() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if not CHROMIUM.exists():
        return f"needs Debian's Chromium at {CHROMIUM} (apt-get install chromium)"
    if not _playwright_installed():
        return "needs Playwright for Python (pip install -e '.[dev]')"
    return None


def _playwright_installed() -> bool:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass
class OpenPage:
    """A page open in the browser, and the console errors it logged (uncaught exceptions
    among them) since it started loading."""

    page: Page
    errors: list[str] = field(default_factory=list)

    def log(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(f"console error: {message.text} ({message.location['url'][:80]})")

    def uncaught(self, error: Error) -> None:
        self.errors.append(f"uncaught exception: {error}")


def open_page(browser: Browser, path: Path) -> OpenPage:
    """`path` open in a new 1280 px wide page, once loaded and idle."""
    page = browser.new_page(viewport=VIEWPORT)
    opened = OpenPage(page)
    page.on("console", opened.log)
    page.on("pageerror", opened.uncaught)
    page.goto(path.resolve().as_uri())
    page.wait_for_load_state("networkidle")
    return opened


def sticking_out(frame: Page | Frame, limit: int = VIEWPORT["width"]) -> list[str]:
    """The elements of `frame` that reach past `limit` px (outside any scrolling box)."""
    return frame.evaluate(STICKING_OUT, limit)


def undecoded_images(frame: Page | Frame) -> list[str]:
    """The images of `frame` that do not decode."""
    return frame.evaluate(UNDECODED_IMAGES)


def words_of_markdown(markdown: str) -> list[str]:
    """The words a reader sees of Markdown: a figure's alt text, no table rules or markup."""
    text = re.sub(r"!\[([^\]]*)\]\([^)]*\)", r"\1", markdown)
    text = re.sub(r"\[([^\]]*)\]\(#[^)]*\)", r"\1", text)  # a link to a section: its words
    text = re.sub(r"<[^>]+>", " ", text)  # the HTML it holds (a figure's frame, a fold)
    text = re.sub(r"^- ", " ", text, flags=re.MULTILINE)  # a list's bullets
    text = html.unescape(re.sub(r"[|#`]", " ", text))
    return [word for word in text.split() if not re.fullmatch(r"-{3,}", word)]


def words_of_html(page: str) -> list[str]:
    """The words a reader sees of an HTML page's body: tags dropped, entities decoded."""
    body = page.split("<body>", 1)[1]
    return html.unescape(re.sub(r"<[^>]+>", " ", body)).split()
