"""Fetch Fashion-MNIST from a list of mirrors, verifying each file's decompressed content."""

from __future__ import annotations

import gzip
import hashlib
import http.client
import logging
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path

from fashion_mnist_study.core.atomic import write_bytes
from fashion_mnist_study.core.paths import IDX_NAMES

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IdxFile:
    name: str
    sha256: str  # of the decompressed bytes: mirrors may recompress the .gz (Debian does)
    size: int


IDX_FILES: tuple[IdxFile, ...] = (
    IdxFile(
        IDX_NAMES["train_images"],
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        47_040_016,
    ),
    IdxFile(
        IDX_NAMES["train_labels"],
        "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        60_008,
    ),
    IdxFile(
        IDX_NAMES["test_images"],
        "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        7_840_016,
    ),
    IdxFile(
        IDX_NAMES["test_labels"],
        "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        10_008,
    ),
)
DOWNLOAD_TIMEOUT_S = 60


class DownloadError(RuntimeError):
    """No mirror delivered a file whose content matches its checksum."""


class VerificationError(ValueError):
    """A downloaded file is truncated, corrupted or not gzip."""


def mirror_url(mirror: str, filename: str) -> str:
    """Join a mirror (URL, file:// URL or plain folder path) and a file name."""
    if "://" not in mirror:
        mirror = Path(mirror).expanduser().resolve().as_uri()
    return mirror.rstrip("/") + "/" + filename


def verify_gz(payload: bytes, expected: IdxFile) -> None:
    """Raise VerificationError unless `payload` decompresses to exactly the expected bytes."""
    try:
        content = gzip.decompress(payload)
    except (OSError, EOFError, zlib.error) as error:
        raise VerificationError(f"not a complete gzip file ({error})") from error
    if len(content) != expected.size:
        raise VerificationError(
            f"decompressed size {len(content):,} bytes, expected {expected.size:,}"
        )
    digest = hashlib.sha256(content).hexdigest()
    if digest != expected.sha256:
        raise VerificationError(f"SHA-256 {digest} of the content, expected {expected.sha256}")


def fetch_verified(expected: IdxFile, mirrors: list[str], destination: Path) -> str:
    """Write `expected`'s .gz to `destination` from the first mirror that serves it intact.

    Returns the URL used. Raises DownloadError listing every mirror tried and why it failed.
    """
    failures: list[str] = []
    for mirror in mirrors:
        url = mirror_url(mirror, expected.name + ".gz")
        try:
            with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:
                payload = response.read()
            verify_gz(payload, expected)
        except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as error:
            reason = getattr(error, "reason", None) or error
            log.warning("mirror %s failed for %s: %s", url, expected.name, reason)
            failures.append(f"  {url}: {reason}")
            continue
        write_bytes(destination, payload)
        log.info("fetched %s from %s (content verified)", expected.name, url)
        return url
    raise DownloadError(
        f"could not fetch a verified copy of {expected.name}.gz; mirrors tried:\n"
        + "\n".join(failures)
        + "\nFix: on Debian/Ubuntu install the data with "
        "`apt-get install dataset-fashion-mnist`, or set `data.mirrors` in config/config.yaml "
        "to a folder or URL that holds the four Fashion-MNIST .gz files."
    )


def fetch_fashion_mnist(mirrors: list[str], destinations: dict[str, Path]) -> None:
    """Fetch every IDX file named in `destinations` (name -> path of the .gz to write)."""
    for expected in IDX_FILES:
        fetch_verified(expected, mirrors, Path(destinations[expected.name]))
