"""The same extract given twice (by two paths, a link or a copy): found before it is counted twice."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

from eqia.errors import UsageError


def same_files(paths: Iterable[str | Path]) -> list[Path | None]:
    """For each of ``paths``, the earlier one it repeats, or None.

    The same file (given twice, by another path to it, or a link), or another file with
    the same bytes (a copy). Sizes are compared first, so only files of equal size are
    read. Paths that are not regular files are left for the reader to report.
    """
    seen: dict[tuple[int, int], Path] = {}
    by_size: dict[int, list[Path]] = {}
    digests: dict[Path, str] = {}

    def digest(path: Path) -> str:
        if path not in digests:
            h = hashlib.blake2b()
            with open(path, "rb") as f:
                while block := f.read(1 << 22):
                    h.update(block)
            digests[path] = h.hexdigest()
        return digests[path]

    out: list[Path | None] = []
    for given in paths:
        p = Path(given)
        out.append(None)
        try:
            st = p.stat()
        except OSError:
            continue
        if not p.is_file():
            continue
        key = (st.st_dev, st.st_ino)
        if key in seen:
            out[-1] = seen[key]
            continue
        seen[key] = p
        for other in by_size.get(st.st_size, []):
            if digest(other) == digest(p):
                out[-1] = other
                break
        else:
            by_size.setdefault(st.st_size, []).append(p)
    return out


def same_extract_error(path: Path, first: Path) -> UsageError:
    """``path`` repeats ``first`` (``same_files``): its records would be counted twice."""
    same = path.resolve() == first.resolve() or path.samefile(first)
    return UsageError(
        "The same extract is given twice" + ("" if same else " (a copy with the same contents)")
        + f", so its records would be counted twice: {first} and {path}",
        code="duplicate-extract", file=str(path),
        hint="Give each extract once (a folder includes every extract in it). If both files "
        "should be there, check that the right file was exported for each.",
    )
