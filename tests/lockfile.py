"""The versions `requirements-test.lock` pins, and whether this interpreter runs them."""

from __future__ import annotations

import re
from functools import cache
from importlib import metadata
from pathlib import Path

from packaging.markers import Marker
from packaging.utils import canonicalize_name

LOCK_FILE = Path(__file__).resolve().parents[1] / "requirements-test.lock"
_PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s;\\]+)\s*(?:;\s*([^\\]+?))?\s*\\?$")


@cache
def locked_versions() -> dict[str, str]:
    """Package name -> pinned version, for the pins whose marker applies here."""
    pins: dict[str, str] = {}
    for line in LOCK_FILE.read_text().splitlines():
        match = _PIN.match(line)
        if match is None:
            continue
        name, version, marker = match.groups()
        if marker is None or Marker(marker).evaluate():
            pins[canonicalize_name(name)] = version
    return pins


def version_mismatches() -> dict[str, tuple[str, str | None]]:
    """Locked packages whose installed version differs: name -> (locked, installed)."""
    mismatches: dict[str, tuple[str, str | None]] = {}
    for name, version in locked_versions().items():
        try:
            installed: str | None = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = None
        if installed != version:
            mismatches[name] = (version, installed)
    return mismatches


def runs_locked_versions(*names: str) -> bool:
    """True when these packages are installed at exactly their locked versions."""
    wanted = {canonicalize_name(name) for name in names}
    return not wanted & set(version_mismatches())
