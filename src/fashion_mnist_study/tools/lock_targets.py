"""What pylock.toml installs on each supported CPython and platform, read from the lock alone
(nothing downloaded): each package's best-fitting wheel, or its source where no wheel fits, and
the download that makes. `python -m fashion_mnist_study.tools.lock_targets` prints the table.

The platforms are pyproject.toml's `[tool.uv] environments`, each with the oldest system its
wheels may ask for: glibc 2.28 on Linux, macOS 14 (PyTorch's macOS wheels need 14.0)."""

from __future__ import annotations

import argparse
import tomllib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from packaging.markers import Marker
from packaging.specifiers import SpecifierSet
from packaging.tags import Tag, compatible_tags, cpython_tags, mac_platforms
from packaging.utils import parse_wheel_filename

from fashion_mnist_study.core.checkout import REPO

Python = tuple[int, int]
Platform = tuple[str, str]  # (sys.platform, platform.machine())

# Each platform's wheel tags, most specific first (as pip prefers them).
PLATFORM_TAGS: dict[Platform, list[str]] = {
    ("linux", "x86_64"): [
        *(f"manylinux_2_{minor}_x86_64" for minor in range(28, 4, -1)),
        "manylinux2014_x86_64",
        "manylinux2010_x86_64",
        "manylinux1_x86_64",
        "linux_x86_64",
    ],
    ("linux", "aarch64"): [
        *(f"manylinux_2_{minor}_aarch64" for minor in range(28, 16, -1)),
        "manylinux2014_aarch64",
        "linux_aarch64",
    ],
    ("darwin", "arm64"): list(mac_platforms(version=(14, 0), arch="arm64")),
}
PLATFORM_NAMES = {
    ("linux", "x86_64"): "Linux x86-64",
    ("linux", "aarch64"): "Linux aarch64",
    ("darwin", "arm64"): "macOS arm64",
}


@dataclass(frozen=True)
class LockedFile:
    """The file pip takes for one package: a wheel's or the source's name, its bytes."""

    package: str
    name: str
    size: int

    @property
    def is_wheel(self) -> bool:
        return self.name.endswith(".whl")


def read_lock(path: Path = REPO / "pylock.toml") -> dict:
    return tomllib.loads(path.read_text())


def supported_pythons(pyproject: Path = REPO / "pyproject.toml") -> list[Python]:
    """Every CPython minor version pyproject.toml's requires-python admits."""
    specifier = SpecifierSet(tomllib.loads(pyproject.read_text())["project"]["requires-python"])
    return [(3, minor) for minor in range(0, 30) if f"3.{minor}.0" in specifier]


def marker_environment(python: Python, patch: int, platform: Platform) -> dict[str, str]:
    """PEP 508's marker variables on CPython `python`.`patch` on `platform`."""
    system, machine = platform
    version = f"{python[0]}.{python[1]}"
    return {
        "implementation_name": "cpython",
        "implementation_version": f"{version}.{patch}",
        "os_name": "posix",
        "platform_machine": machine,
        "platform_python_implementation": "CPython",
        "platform_release": "",
        "platform_system": {"linux": "Linux", "darwin": "Darwin"}[system],
        "platform_version": "",
        "python_full_version": f"{version}.{patch}",
        "python_version": version,
        "sys_platform": system,
        "extra": "",
    }


def fitting_tags(python: Python, platform: Platform) -> list[Tag]:
    """The wheel tags CPython `python` accepts on `platform`, most preferred first."""
    interpreter = f"cp{python[0]}{python[1]}"
    platforms = PLATFORM_TAGS[platform]
    return [
        *cpython_tags(python, platforms=platforms),
        *compatible_tags(python, interpreter, platforms),
    ]


def packages_for(lock: dict, python: Python, patch: int, platform: Platform) -> list[dict]:
    """The lock's packages whose marker holds on this interpreter and platform."""
    environment = marker_environment(python, patch, platform)
    return [
        package
        for package in lock["packages"]
        if "marker" not in package or Marker(package["marker"]).evaluate(environment)
    ]


def chosen_file(package: dict, tags: list[Tag]) -> LockedFile | None:
    """The wheel with the most preferred fitting tag, else the source, else None."""
    rank = {tag: index for index, tag in enumerate(tags)}
    best: tuple[int, dict] | None = None
    for wheel in package.get("wheels", []):
        name = urlsplit(wheel["url"]).path.rsplit("/", 1)[1]
        fits = [rank[tag] for tag in parse_wheel_filename(name)[3] if tag in rank]
        if fits and (best is None or min(fits) < best[0]):
            best = (min(fits), wheel)
    file = best[1] if best else package.get("sdist")
    if file is None:
        return None
    name = urlsplit(file["url"]).path.rsplit("/", 1)[1]
    return LockedFile(package["name"], name, int(file.get("size", 0)))


def files_for(lock: dict, python: Python, platform: Platform) -> list[LockedFile]:
    """The file pip takes for each package on CPython `python`.0 on `platform`."""
    tags = fitting_tags(python, platform)
    files = [chosen_file(package, tags) for package in packages_for(lock, python, 0, platform)]
    return [file for file in files if file is not None]


HEADER = f"{'platform':<14} {'CPython':<8} {'packages':>8} {'from source':>11} {'download MB':>11}"


def row(name: str, python: Python, files: list[LockedFile]) -> str:
    sources = sum(not file.is_wheel for file in files)
    megabytes = sum(file.size for file in files) / 1e6
    version = f"{python[0]}.{python[1]}"
    return f"{name:<14} {version:<8} {len(files):>8} {sources:>11} {megabytes:>11,.0f}"


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args(argv)
    lock = read_lock()
    print(HEADER)
    for platform, name in PLATFORM_NAMES.items():
        for python in supported_pythons():
            print(row(name, python, files_for(lock, python, platform)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
