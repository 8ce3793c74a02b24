"""Writing output files so that no run leaves a half-written or corrupt one.

Every file eqia writes (documents, workbooks, CSVs, charts, ``eqia init``'s file,
imported baselines) goes through here. A file is written under a temporary name in the
same folder, unique to the run (``.NAME.RANDOM.part``: two runs into one folder never
share one), flushed to disk, and renamed over its final name with ``os.replace``, which
is atomic on one file system. So the final name always holds either the previous file
or the new one, complete: a run that fails, is interrupted (Ctrl-C) or runs out of disk
leaves the previous outputs as they were and no temporary file (only a kill that allows
no clean-up can leave a hidden ``.NAME...part`` or ``.eqia-...`` behind).

The files of one run (the EqIA's documents, the report's, the audit's) are ``Staged``:
all are written first, then all renamed, so an error in the last leaves every earlier
file as it was too.

A place that cannot be written (``--out`` naming a file, a folder without write
permission, a full disk, a read-only drive) is an ``OutputError``
(``output-not-writable``) naming the path and what to do, never a traceback.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from eqia.errors import OutputError

#: What to say for the usual reasons a place cannot be written.
_REASONS = {
    errno.EACCES: ("eqia may not write there (permission denied)",
                   "Close the file if another program (Word, Excel) has it open, or choose a "
                   "folder you can write to, or ask for write access to this one."),
    errno.EPERM: ("eqia may not write there (operation not permitted)",
                  "Choose a folder you can write to, or ask for write access to this one."),
    errno.EROFS: ("the drive is read-only",
                  "Choose a folder on a drive you can write to."),
    errno.ENOSPC: ("the disk is full",
                   "Free some space, or choose a folder on another drive. Files already "
                   "there are unchanged."),
    getattr(errno, "EDQUOT", -1): ("your disk quota is used up",
                                   "Free some space, or choose a folder on another drive. "
                                   "Files already there are unchanged."),
    errno.ENOTDIR: ("part of the path is a file, not a folder",
                    "Give the name of a folder (it is created if needed), not of a file."),
    errno.EEXIST: ("a file of that name is in the way of a folder",
                   "Give the name of a folder (it is created if needed), not of a file."),
    errno.EISDIR: ("a folder of that name is in the way of the file",
                   "Move or rename that folder, or choose another place to write to."),
    errno.ENAMETOOLONG: ("the name is too long",
                         "Choose a shorter folder or file name."),
}


def _error(exc: OSError, path: Path) -> OutputError:
    reason, hint = _REASONS.get(exc.errno, (
        f"the system said: {exc.strerror or type(exc).__name__}",
        "Check the path, or choose another place to write to."))
    return OutputError(f"Cannot write the output: {reason}", code="output-not-writable",
                       file=str(path), hint=hint)


@contextmanager
def _writing(path: Path, within: Path | None = None) -> Iterator[None]:
    """Turn a failure to write ``path`` (a file, or anything in the folder ``within``,
    by default ``path`` itself) into an ``OutputError`` naming ``path``. An OSError about
    another file (a template being read, say) is not about the output: it passes."""
    try:
        yield
    except OutputError:
        raise
    except OSError as exc:
        about = exc.filename
        if about is not None and not _under(Path(os.fsdecode(about)), within or path):
            raise
        raise _error(exc, path) from exc


def _under(p: Path, folder: Path) -> bool:
    p, folder = Path(os.path.abspath(p)), Path(os.path.abspath(folder))
    return p == folder or folder in p.parents


def _not_a_folder(folder: Path) -> OutputError:
    return OutputError("Cannot write the outputs into a file: a folder is needed",
                       code="output-not-writable", file=str(folder),
                       hint="Give the name of a folder for the outputs (it is created if "
                            "needed), not of a file.")


def check_folder(folder: str | Path) -> Path:
    """Fail early, before any work, if ``folder`` could not hold outputs: it is a file,
    lies under a file, or exists and may not be written. Creates nothing."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise _not_a_folder(folder)
    existing = next((p for p in [folder, *folder.parents] if p.exists()), None)
    if existing is not None and not existing.is_dir():
        raise _error(OSError(errno.ENOTDIR, "Not a directory", str(existing)), folder)
    if existing is not None and not os.access(existing, os.W_OK | os.X_OK):
        raise _error(OSError(errno.EACCES, "Permission denied", str(existing)), folder)
    return folder


def output_folder(folder: str | Path) -> Path:
    """``folder``, created (with its parents) if need be; an ``OutputError`` if it is a
    file or cannot be created."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise _not_a_folder(folder)
    with _writing(folder):
        folder.mkdir(parents=True, exist_ok=True)
    return folder


def _sync(path: Path) -> None:
    """Flush a finished file to the disk before it takes the place of the old one."""
    fd = os.open(path, os.O_RDWR | getattr(os, "O_BINARY", 0))  # Windows syncs writers only
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _temporary(final: Path) -> Path:
    """A name no other run will pick (the writer creates the file, with the usual
    permissions: a file ``tempfile.mkstemp`` made would be readable by its owner only)."""
    import secrets  # OpenSSL's start-up, for the commands that write a file only

    return final.with_name(f".{final.name}.{secrets.token_hex(8)}.part{final.suffix}")


def atomic_write(path: str | Path, write: Callable[[Path], Any]) -> Path:
    """Call ``write(temporary_path)`` and move the result to ``path`` in one step.

    ``write`` writes the whole file to the path it is given (``wb.save``,
    ``frame.to_parquet``...); if it raises, ``path`` is left as it was.
    """
    path = Path(path)
    if path.is_dir():
        raise _error(OSError(errno.EISDIR, "Is a directory", str(path)), path)
    output_folder(path.parent)
    with _writing(path, within=path.parent):
        tmp = _temporary(path)
        try:
            write(tmp)
            _sync(tmp)
            if path.is_file():  # the new file is shared as the old one was
                shutil.copymode(path, tmp)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    return path


def write_bytes(path: str | Path, data: bytes) -> Path:
    return atomic_write(path, lambda p: p.write_bytes(data))


def write_text(path: str | Path, text: str) -> Path:
    """UTF-8, with the newlines as given (``\\n``), on every system."""
    return atomic_write(path, lambda p: p.write_text(text, encoding="utf-8", newline=""))


class Staged:
    """Several files of one run, written under temporary names and then all moved into
    place (see the module docstring)::

        with Staged(out_dir) as stage:
            doc.save(stage.path("report.docx"))
            stage.write_text("internal/log.csv", text)
        # both in place now; after an error, neither changed

    ``path(name)`` gives where to write ``out_dir/name`` for now (``name`` is relative
    and may name a subfolder, or a whole folder that is written into).
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self._work: Path | None = None
        self._names: list[str] = []
        self.written: list[Path] = []

    def __enter__(self) -> Staged:
        output_folder(self.folder)
        with _writing(self.folder):
            self._work = Path(tempfile.mkdtemp(prefix=".eqia-", dir=self.folder))
        return self

    def path(self, name: str) -> Path:
        assert self._work is not None, "use Staged in a with statement"
        tmp = self._work / name
        tmp.parent.mkdir(parents=True, exist_ok=True)
        if name not in self._names:
            self._names.append(name)
        return tmp

    def scratch(self, name: str) -> Path:
        """A folder for working files of the run, removed at the end (never moved)."""
        assert self._work is not None, "use Staged in a with statement"
        path = self._work / ".scratch" / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def write_text(self, name: str, text: str) -> Path:
        path = self.path(name)
        with _writing(self.folder):
            path.write_text(text, encoding="utf-8", newline="")
        return path

    def __exit__(self, kind, exc, tb) -> None:
        assert self._work is not None
        try:
            if kind is None:
                with _writing(self.folder):
                    self._commit()
            elif isinstance(exc, OSError) and not isinstance(exc, OutputError):
                with _writing(self.folder):  # a file of the run could not be written
                    raise exc
        finally:
            shutil.rmtree(self._work, ignore_errors=True)

    def _commit(self) -> None:
        assert self._work is not None
        for name in self._names:
            tmp = self._work / name
            if tmp.is_file():
                _sync(tmp)
        for name in self._names:
            tmp, final = self._work / name, self.folder / name
            if not tmp.exists():  # asked for but not written: nothing to replace
                continue
            final.parent.mkdir(parents=True, exist_ok=True)
            if tmp.is_dir() and final.is_dir():  # a folder cannot replace a folder in one step
                old = final.with_name(f".{final.name}.{self._work.name}.old")
                os.replace(final, old)
                os.replace(tmp, final)
                shutil.rmtree(old, ignore_errors=True)
            else:
                if final.is_dir():
                    raise _error(OSError(errno.EISDIR, "Is a directory", str(final)), final)
                os.replace(tmp, final)
            self.written.append(final)
