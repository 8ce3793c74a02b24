"""One private temporary folder per browser session, and nothing left behind.

Extracts hold personal data, so every upload goes into its session's own folder under one
root made for this server (mode 0700), found only through a random token kept in the
session's signed cookie: no page takes a folder or a file name from the browser. A folder
is deleted when its officer finishes, when it has been idle too long, and (the whole root)
when the server stops.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from eqia.errors import ErrorCode, UsageError

#: Extract files a journey accepts (the library says what it makes of each).
EXTRACT_SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".xls", ".parquet")
#: At most this many files, and this many bytes unpacked, from one zip: a zip bomb stops.
ZIP_MAX_FILES = 200


def safe_name(name: str | None, fallback: str = "file") -> str:
    """A file name with no folder part and no character a file system could trip on."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = re.sub(r"[^A-Za-z0-9 ._'()&,+-]", "_", base).strip(" .")
    return base[:120] or fallback


@dataclass
class Workspace:
    token: str
    path: Path
    last_seen: float = field(default_factory=time.monotonic)

    def folder(self, name: str) -> Path:
        """A fixed sub-folder (``extract``, ``audit/current``, ...), made on first use."""
        p = self.path / name
        p.mkdir(parents=True, exist_ok=True)
        return p

    def clear(self, name: str) -> Path:
        """An empty sub-folder: what was in it is replaced."""
        p = self.path / name
        if p.exists():
            shutil.rmtree(p)
        return self.folder(name)

    def state(self) -> dict:
        p = self.path / "state.json"
        return json.loads(p.read_text(encoding="utf-8")) if p.exists() else {}

    def save_state(self, state: dict) -> None:
        p = self.path / "state.json"
        tmp = p.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, default=str), encoding="utf-8")
        tmp.replace(p)

    def hide(self, text: str) -> str:
        """A message with this folder's path taken out: people see their own file names."""
        return text.replace(str(self.path) + "/", "").replace(str(self.path), "")


class Workspaces:
    """Every session's folder, under one root that is removed whole at shutdown."""

    def __init__(self, idle_seconds: float, root: Path | None = None) -> None:
        self.idle_seconds = idle_seconds
        self.root = Path(tempfile.mkdtemp(prefix="eqia-web-", dir=root))
        self._spaces: dict[str, Workspace] = {}
        self._lock = threading.Lock()

    def create(self) -> Workspace:
        token = secrets.token_urlsafe(32)
        path = Path(tempfile.mkdtemp(prefix="ws-", dir=self.root))
        ws = Workspace(token, path)
        with self._lock:
            self._spaces[token] = ws
        return ws

    def get(self, token: str | None) -> Workspace | None:
        """The session's folder, if it still exists; seen now."""
        if not token:
            return None
        with self._lock:
            ws = self._spaces.get(token)
        if ws is not None:
            ws.last_seen = time.monotonic()
        return ws

    def delete(self, token: str | None) -> None:
        with self._lock:
            ws = self._spaces.pop(token or "", None)
        if ws is not None:
            shutil.rmtree(ws.path, ignore_errors=True)

    def reap(self, now: float | None = None) -> int:
        """Delete the folders idle longer than the timeout; how many went."""
        now = time.monotonic() if now is None else now
        with self._lock:
            old = [t for t, ws in self._spaces.items() if now - ws.last_seen > self.idle_seconds]
        for token in old:
            self.delete(token)
        return len(old)

    def close(self) -> None:
        """Delete every folder and the root (the server is stopping)."""
        with self._lock:
            self._spaces.clear()
        shutil.rmtree(self.root, ignore_errors=True)

    def __len__(self) -> int:
        return len(self._spaces)


def unpack_zip(archive: Path, folder: Path, max_bytes: int) -> list[Path]:
    """The extract files in a zip, written flat into ``folder`` under safe names.

    Folders inside the zip are not recreated (no path from the zip is trusted), other
    files are left out, and a zip that unpacks to more than ``max_bytes`` or
    ``ZIP_MAX_FILES`` files is refused."""
    try:
        zf = zipfile.ZipFile(archive)
    except zipfile.BadZipFile:
        raise UsageError("The zip file could not be opened", code=ErrorCode.UNREADABLE_FILE,
                         file=archive.name, hint="Check that it is a .zip file, or upload "
                         "the extracts themselves.") from None
    written: list[Path] = []
    total = 0
    with zf:
        members = [m for m in zf.infolist() if not m.is_dir()
                   and m.filename.lower().endswith(EXTRACT_SUFFIXES)
                   and not Path(m.filename).name.startswith(("._", "~$"))]
        if len(members) > ZIP_MAX_FILES:
            raise UsageError(f"The zip file holds more than {ZIP_MAX_FILES} extracts",
                             code=ErrorCode.FILE_TOO_LARGE, file=archive.name,
                             hint="Upload the extracts in smaller batches.")
        for m in members:
            total += m.file_size
            if total > max_bytes:
                raise UsageError("The zip file unpacks to more than the upload limit",
                                 code=ErrorCode.FILE_TOO_LARGE, file=archive.name,
                                 hint="Upload fewer or smaller extracts.")
            target = folder / safe_name(Path(m.filename).name)
            if target.exists():
                raise UsageError("The zip file holds two extracts with the same name",
                                 code="duplicate-extract", file=archive.name,
                                 value=target.name, hint="Give each service's file its "
                                 "own name.")
            with zf.open(m) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst)
            written.append(target)
    return written
