"""Downloads: every file is verified by its content, and a bad mirror falls back to the next."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from conftest import DEBIAN_DATA, needs_debian_data

from fashion_mnist_study.study import download
from fashion_mnist_study.study.data import load_idx
from fashion_mnist_study.study.download import (
    IDX_FILES,
    DownloadError,
    IdxFile,
    VerificationError,
    fetch_fashion_mnist,
    fetch_verified,
    mirror_url,
    verify_gz,
)

CONTENT = bytes(range(256)) * 40 + b"fake idx content"
EXPECTED = IdxFile("fake-images-idx3-ubyte", hashlib.sha256(CONTENT).hexdigest(), len(CONTENT))
GOOD = gzip.compress(CONTENT)
TRUNCATED = GOOD[: len(GOOD) // 2]
# Valid gzip, but of other bytes of the same size: only the SHA-256 can tell.
CORRUPTED = gzip.compress(CONTENT[:-1] + b"X")
FILENAME = EXPECTED.name + ".gz"


def files_in(folder: Path) -> list[str]:
    """Every entry of `folder`, hidden ones (such as *.part temp files) included."""
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


# --- verify_gz -----------------------------------------------------------------------------


def test_verify_gz_accepts_the_intact_content() -> None:
    verify_gz(GOOD, EXPECTED)


def test_verify_gz_accepts_the_same_content_compressed_differently() -> None:
    verify_gz(gzip.compress(CONTENT, compresslevel=1, mtime=0), EXPECTED)


def test_verify_gz_rejects_a_truncated_payload() -> None:
    with pytest.raises(VerificationError, match="not a complete gzip file"):
        verify_gz(TRUNCATED, EXPECTED)


def test_verify_gz_rejects_a_payload_with_a_flipped_byte() -> None:
    damaged = bytearray(GOOD)
    damaged[len(damaged) // 2] ^= 0xFF
    with pytest.raises(VerificationError):
        verify_gz(bytes(damaged), EXPECTED)


def test_verify_gz_rejects_content_with_the_wrong_checksum() -> None:
    with pytest.raises(VerificationError, match=f"expected {EXPECTED.sha256}"):
        verify_gz(CORRUPTED, EXPECTED)


def test_verify_gz_rejects_content_of_the_wrong_size() -> None:
    with pytest.raises(VerificationError, match="decompressed size"):
        verify_gz(gzip.compress(CONTENT + b"more"), EXPECTED)


def test_verify_gz_rejects_bytes_that_are_not_gzip() -> None:
    with pytest.raises(VerificationError, match="not a complete gzip file"):
        verify_gz(CONTENT, EXPECTED)


@needs_debian_data
def test_verify_gz_accepts_the_real_labels_and_rejects_them_truncated() -> None:
    labels = next(f for f in IDX_FILES if f.name == "t10k-labels-idx1-ubyte")
    payload = (DEBIAN_DATA / f"{labels.name}.gz").read_bytes()
    verify_gz(payload, labels)
    with pytest.raises(VerificationError):
        verify_gz(payload[:-100], labels)
    other = next(f for f in IDX_FILES if f.name == "train-labels-idx1-ubyte")
    with pytest.raises(VerificationError):
        verify_gz(payload, other)


# --- mirror_url ------------------------------------------------------------------------------


def test_mirror_url_joins_urls_with_or_without_a_trailing_slash() -> None:
    assert mirror_url("http://example.org/data/", "a.gz") == "http://example.org/data/a.gz"
    assert mirror_url("http://example.org/data", "a.gz") == "http://example.org/data/a.gz"
    assert mirror_url("file:///srv/mnist/", "a.gz") == "file:///srv/mnist/a.gz"


def test_mirror_url_turns_a_folder_path_into_a_file_url(tmp_path: Path) -> None:
    assert mirror_url(str(tmp_path), "a.gz") == tmp_path.resolve().as_uri() + "/a.gz"
    assert mirror_url(str(tmp_path) + "/", "a.gz") == tmp_path.resolve().as_uri() + "/a.gz"


def test_mirror_url_resolves_a_relative_folder(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert mirror_url("mirror", "a.gz") == (tmp_path / "mirror").resolve().as_uri() + "/a.gz"


# --- fetch_verified from a local HTTP server -----------------------------------------------


class MirrorHandler(http.server.BaseHTTPRequestHandler):
    """Serves `server.files` (path -> bytes); anything else is a 404."""

    def do_GET(self) -> None:
        payload = self.server.files.get(self.path)
        if payload is None:
            self.send_error(404, "Not Found")
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/gzip")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format, *args) -> None:
        pass


class DroppingHandler(MirrorHandler):
    """Promises the whole file, sends half of it, then closes the connection."""

    def do_GET(self) -> None:
        payload = self.server.files.get(self.path)
        if payload is None:
            self.send_error(404, "Not Found")
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload[: len(payload) // 2])
        self.wfile.flush()
        self.close_connection = True


def serve(handler: type, files: dict[str, bytes]) -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    server.files = files
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def no_proxy(monkeypatch) -> None:
    """Requests to 127.0.0.1 must not go through a proxy set in the environment."""
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(download, "DOWNLOAD_TIMEOUT_S", 10)  # a hung test fails fast


@pytest.fixture
def mirrors(no_proxy) -> Iterator[str]:
    """A server with one folder per kind of mirror: missing/, truncated/, corrupted/, good/."""
    files = {
        f"/truncated/{FILENAME}": TRUNCATED,
        f"/corrupted/{FILENAME}": CORRUPTED,
        f"/good/{FILENAME}": GOOD,
    }
    yield from serve(MirrorHandler, files)


@pytest.fixture
def dropping_mirror(no_proxy) -> Iterator[str]:
    yield from serve(DroppingHandler, {f"/dropped/{FILENAME}": GOOD})


def test_missing_file_falls_back_to_next_mirror(mirrors: str, tmp_path: Path) -> None:
    destination = tmp_path / "raw" / FILENAME
    used = fetch_verified(EXPECTED, [f"{mirrors}/missing/", f"{mirrors}/good/"], destination)
    assert used == f"{mirrors}/good/{FILENAME}"
    assert destination.read_bytes() == GOOD


def test_truncated_download_falls_back_to_next_mirror(mirrors: str, tmp_path: Path) -> None:
    destination = tmp_path / "raw" / FILENAME
    used = fetch_verified(EXPECTED, [f"{mirrors}/truncated", f"{mirrors}/good"], destination)
    assert used == f"{mirrors}/good/{FILENAME}"
    assert destination.read_bytes() == GOOD


def test_corrupted_download_falls_back_to_next_mirror(mirrors: str, tmp_path: Path) -> None:
    destination = tmp_path / "raw" / FILENAME
    used = fetch_verified(EXPECTED, [f"{mirrors}/corrupted/", f"{mirrors}/good/"], destination)
    assert used == f"{mirrors}/good/{FILENAME}"
    assert destination.read_bytes() == GOOD


def test_every_bad_mirror_is_skipped_until_the_good_one(mirrors: str, tmp_path: Path) -> None:
    destination = tmp_path / "raw" / FILENAME
    bad = [f"{mirrors}/{kind}/" for kind in ("missing", "truncated", "corrupted")]
    used = fetch_verified(EXPECTED, [*bad, f"{mirrors}/good/"], destination)
    assert used == f"{mirrors}/good/{FILENAME}"
    assert destination.read_bytes() == GOOD
    assert files_in(destination.parent) == [FILENAME]


def test_connection_dropped_mid_download_falls_back_to_next_mirror(
    dropping_mirror: str, mirrors: str, tmp_path: Path
) -> None:
    destination = tmp_path / "raw" / FILENAME
    used = fetch_verified(
        EXPECTED, [f"{dropping_mirror}/dropped/", f"{mirrors}/good/"], destination
    )
    assert used == f"{mirrors}/good/{FILENAME}"
    assert destination.read_bytes() == GOOD


def test_no_working_mirror_lists_every_mirror_and_how_to_fix_it(
    mirrors: str, tmp_path: Path
) -> None:
    destination = tmp_path / "raw" / FILENAME
    tried = [f"{mirrors}/{kind}/" for kind in ("missing", "truncated", "corrupted")]
    with pytest.raises(DownloadError) as raised:
        fetch_verified(EXPECTED, tried, destination)
    message = str(raised.value)
    lines = message.splitlines()
    for mirror, reason in zip(
        tried, ("Not Found", "not a complete gzip file", "SHA-256"), strict=True
    ):
        line = next((line for line in lines if f"{mirror}{FILENAME}" in line), None)
        assert line is not None, f"{mirror} missing from:\n{message}"
        assert reason in line
    assert "apt-get install dataset-fashion-mnist" in message
    assert "data.mirrors" in message


def test_failed_fetch_leaves_no_file_behind(mirrors: str, tmp_path: Path) -> None:
    folder = tmp_path / "raw"
    folder.mkdir()
    tried = [f"{mirrors}/{kind}/" for kind in ("missing", "truncated", "corrupted")]
    with pytest.raises(DownloadError):
        fetch_verified(EXPECTED, tried, folder / FILENAME)
    assert files_in(folder) == []


def test_failed_fetch_keeps_no_partial_file_over_an_old_one(mirrors: str, tmp_path: Path) -> None:
    folder = tmp_path / "raw"
    folder.mkdir()
    (folder / FILENAME).write_bytes(b"old")
    with pytest.raises(DownloadError):
        fetch_verified(EXPECTED, [f"{mirrors}/truncated/"], folder / FILENAME)
    assert files_in(folder) == [FILENAME]
    assert (folder / FILENAME).read_bytes() == b"old"


def test_unreachable_server_is_reported_and_skipped(no_proxy, tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:  # a port that nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    good = tmp_path / "good"
    good.mkdir()
    (good / FILENAME).write_bytes(GOOD)
    destination = tmp_path / "raw" / FILENAME
    used = fetch_verified(EXPECTED, [f"http://127.0.0.1:{port}/", str(good)], destination)
    assert used == good.resolve().as_uri() + "/" + FILENAME
    assert destination.read_bytes() == GOOD


# --- folders and file:// URLs as mirrors -----------------------------------------------------


def make_folder(folder: Path, payload: bytes | None) -> Path:
    folder.mkdir(parents=True)
    if payload is not None:
        (folder / FILENAME).write_bytes(payload)
    return folder


def test_a_folder_path_works_as_a_mirror(tmp_path: Path) -> None:
    good = make_folder(tmp_path / "good", GOOD)
    destination = tmp_path / "raw" / FILENAME
    assert fetch_verified(EXPECTED, [str(good)], destination).startswith("file://")
    assert destination.read_bytes() == GOOD


def test_a_file_url_works_as_a_mirror(tmp_path: Path) -> None:
    good = make_folder(tmp_path / "good", GOOD)
    destination = tmp_path / "raw" / FILENAME
    fetch_verified(EXPECTED, [good.as_uri() + "/"], destination)
    assert destination.read_bytes() == GOOD


def test_bad_folders_fall_back_to_the_next_one(tmp_path: Path) -> None:
    mirrors = [
        str(make_folder(tmp_path / "empty", None)),
        str(make_folder(tmp_path / "truncated", TRUNCATED)),
        make_folder(tmp_path / "corrupted", CORRUPTED).as_uri(),
        str(tmp_path / "does-not-exist"),
        str(make_folder(tmp_path / "good", GOOD)),
    ]
    destination = tmp_path / "raw" / FILENAME
    used = fetch_verified(EXPECTED, mirrors, destination)
    assert used == (tmp_path / "good").resolve().as_uri() + "/" + FILENAME
    assert destination.read_bytes() == GOOD


def test_no_working_folder_names_each_one(tmp_path: Path) -> None:
    mirrors = [
        str(make_folder(tmp_path / "empty", None)),
        str(make_folder(tmp_path / "truncated", TRUNCATED)),
    ]
    folder = tmp_path / "raw"
    with pytest.raises(DownloadError) as raised:
        fetch_verified(EXPECTED, mirrors, folder / FILENAME)
    for mirror in mirrors:
        assert mirror_url(mirror, FILENAME) in str(raised.value)
    assert files_in(folder) == []


# --- the real files ----------------------------------------------------------------------------


@needs_debian_data
def test_debian_folder_gives_all_four_verified_files(tmp_path: Path) -> None:
    destinations = {f.name: tmp_path / "raw" / f"{f.name}.gz" for f in IDX_FILES}
    fetch_fashion_mnist([str(DEBIAN_DATA)], destinations)
    assert files_in(tmp_path / "raw") == sorted(f"{f.name}.gz" for f in IDX_FILES)
    shapes = {name: load_idx(path).shape for name, path in destinations.items()}
    assert shapes == {
        "train-images-idx3-ubyte": (60000, 28, 28),
        "train-labels-idx1-ubyte": (60000,),
        "t10k-images-idx3-ubyte": (10000, 28, 28),
        "t10k-labels-idx1-ubyte": (10000,),
    }
    labels = load_idx(destinations["t10k-labels-idx1-ubyte"])
    assert labels.dtype == np.uint8
    assert set(np.unique(labels)) == set(range(10))
