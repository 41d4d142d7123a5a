"""Where Registru keeps its files: the data directory and the source checkout."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent.parent


def _source_checkout() -> Path | None:
    root = PACKAGE_DIR.parent
    return root if (root / "pyproject.toml").exists() else None


def data_dir() -> Path:
    """The directory for the SQLite database, queue storage and key files.

    ``REGISTRU_DATA_DIR`` wins; otherwise ``var/`` next to the source checkout (so that the
    command behaves the same from any working directory), or ``var/`` under the working
    directory for an installed package.
    """
    configured = os.environ.get("REGISTRU_DATA_DIR")
    path = Path(configured).expanduser() if configured else (_source_checkout() or Path.cwd()) / "var"
    return path.resolve()
