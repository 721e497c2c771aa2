"""The delivery files of a landing table: ``<landing root>/<source>/<table>/<YYYY-MM-DD>.csv``.

Each file is one delivery, named after its delivery date (LANDING.md). :func:`landing_files` lists
a table's deliveries oldest first and refuses anything else in the folder; :func:`delivery_date`
reads the date off a file's name. :class:`IngestError` is the one-line error of every ingest step
for a delivery that cannot be read at all.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

_FILE_NAME = re.compile(r"(\d{4}-\d{2}-\d{2})\.csv")


class IngestError(Exception):
    """A delivery that cannot be read at all: ``<file>: <what is wrong>; <what to do>``.

    ``path`` is the delivery file when one file is to blame, ``line`` the physical line (1-based)
    where the problem was found when it is known.
    """

    def __init__(self, message: str, *, path: Path | None = None, line: int | None = None):
        super().__init__(message)
        self.path, self.line = path, line

    @property
    def reason(self) -> str:
        """The message without the file it names: ``<what is wrong>; <what to do>``."""
        text = str(self)
        return text.removeprefix(f"{self.path}: ") if self.path is not None else text


def landing_files(landing_root: Path, source: str, table: str) -> list[Path]:
    """The delivery files of one landing table, oldest first; [] when the folder is missing.

    Anything else in the folder (except hidden files) fails closed: a file that is not named
    after its delivery date cannot be placed in time.
    """
    folder = Path(landing_root) / source / table
    if not folder.is_dir():
        return []
    files = []
    for path in folder.iterdir():
        if path.name.startswith("."):
            continue
        if delivery_date(path) is None or not path.is_file():
            raise IngestError(
                f"{path}: not a delivery file (expected <YYYY-MM-DD>.csv); "
                "rename it after its delivery date or move it out of the landing folder",
                path=path if path.is_file() else None,
            )
        files.append(path)
    return sorted(files, key=lambda p: p.name)


def delivery_date(path: Path) -> dt.date | None:
    """The date a delivery file is named after (``2024-03-01.csv``); None for any other name."""
    m = _FILE_NAME.fullmatch(path.name)
    if m is None:
        return None
    try:
        return dt.date.fromisoformat(m.group(1))
    except ValueError:
        return None
