"""Files only the server's user may read: the SQLite database (every tenant's devices, the
applications' secret hashes, idempotency records) and the signing keys.

What ztd creates is private whatever the umask: directories 0700, files 0600. What already
exists is handled by kind:

- a database file (or its ``-wal``/``-shm``) that others may read is tightened to 0600,
  with a warning: nobody but the server has any business reading it;
- a directory others may enter is left alone, with a warning: it may be shared on purpose
  (a mount point, a home directory), and changing it could break someone else.

Only POSIX modes are looked at; on Windows these are no-ops.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger("ztd.storage")

PRIVATE_DIRECTORY = 0o700
PRIVATE_FILE = 0o600
_OTHERS = stat.S_IRWXG | stat.S_IRWXO


def private_directory(path: Path) -> None:
    """Create ``path`` and any missing parents 0700; warn when an existing one is open to
    others."""
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=PRIVATE_DIRECTORY)
        except FileExistsError:  # another process made it meanwhile: judged below
            continue
        _chmod(directory, PRIVATE_DIRECTORY)  # mkdir's mode is cut by the umask
    if os.name == "posix" and path.stat().st_mode & _OTHERS and path not in missing:
        log.warning(
            "%s is open to other users (mode %s); ztd keeps its database and keys there. "
            "Run `chmod 700 %s` unless it is shared on purpose.",
            path,
            _mode(path),
            path,
        )


def private_file(path: Path) -> None:
    """Create ``path`` empty and 0600 if missing; tighten it to 0600 if others may read it."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except FileExistsError:
        tighten(path)
        return
    os.close(fd)
    _chmod(path, PRIVATE_FILE)  # the umask may have cut it further; never wider


def tighten(path: Path) -> None:
    """Make an existing file 0600 if others may read it; warn, since someone made it so."""
    if os.name != "posix" or not path.exists() or not path.stat().st_mode & _OTHERS:
        return
    was = _mode(path)
    try:
        _chmod(path, PRIVATE_FILE)
    except PermissionError:
        log.warning(
            "%s is readable by other users (mode %s) and ztd may not change that: "
            "run `chmod 600 %s` as its owner.",
            path,
            was,
            path,
        )
        return
    log.warning("%s was readable by other users (mode %s); it is now 0600.", path, was)


def _chmod(path: Path, mode: int) -> None:
    if os.name == "posix":
        path.chmod(mode)


def _mode(path: Path) -> str:
    return oct(stat.S_IMODE(path.stat().st_mode))
