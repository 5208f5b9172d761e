"""Where the harness finds its bundled files (configs/, suites/) and writes runs (reports/).

The project root is $HARNESS_HOME if set, else the current directory when it has a configs/ folder,
else the checkout this package was imported from.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def project_root() -> Path:
    env = os.environ.get("HARNESS_HOME")
    if env:
        return Path(env)
    cwd = Path.cwd()
    if (cwd / "configs").is_dir():
        return cwd
    return PACKAGE_DIR.parent


def configs_dir() -> Path:
    return project_root() / "configs"


def suites_dir() -> Path:
    return project_root() / "suites"


def reports_dir() -> Path:
    return project_root() / "reports"
