"""Opening the files we read or append to: regular files only, never waiting on a FIFO."""

from __future__ import annotations

import os
import stat
import sys

if sys.platform != "win32":
    import fcntl


def open_regular(path: str | os.PathLike[str], flags: int, mode: int = 0o644) -> int:
    """``os.open`` that refuses anything but a regular file, without blocking.

    A FIFO opened for reading waits for a writer, and a device reads forever: the file is
    opened non-blocking (a FIFO open then returns at once), checked, and only then put back in
    blocking mode. Raises `OSError`, or `IsADirectoryError`/`ValueError` for what is not a file.
    """
    fd = os.open(path, flags | os.O_CLOEXEC | getattr(os, "O_NONBLOCK", 0), mode)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ValueError(f"is not a regular file ({_kind(st.st_mode)})")
        if sys.platform != "win32":
            fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a named pipe"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a file"
