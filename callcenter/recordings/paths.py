"""Safe paths under the recordings root: nothing outside it is ever read or served.

A path reaches here already URL-decoded once (by the web layer). Anything still looking
encoded (``%2e%2e``, a doubled ``%252e``) is refused rather than decoded again, as are
absolute paths, ``..`` and ``.`` components, backslashes, NUL, and look-alike characters
that normalise to dots or slashes. The survivor is resolved with every symlink followed
and must still lie inside the (resolved) root.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path, PurePosixPath


class UnsafePath(ValueError):
    """A requested path could lead outside the recordings root; the message says how."""


def check_relative(relpath: str) -> str:
    """The path, normalised to ``a/b/c.wav``, or UnsafePath naming the problem."""
    if not relpath:
        raise UnsafePath("empty path")
    if "\x00" in relpath:
        raise UnsafePath("path contains a NUL byte")
    if "%" in relpath:
        raise UnsafePath("path is still percent-encoded (encoded twice?)")
    if "\\" in relpath:
        raise UnsafePath("path contains a backslash")
    if any(
        ord(ch) > 127 and set(unicodedata.normalize("NFKC", ch)) & set("./\\%:") for ch in relpath
    ):
        raise UnsafePath("path contains characters that read as dots or slashes")
    if relpath.startswith(("/", "~")) or (len(relpath) > 1 and relpath[1] == ":"):
        raise UnsafePath("absolute paths are not allowed")
    parts = relpath.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise UnsafePath("path has an empty, '.' or '..' component")
    return str(PurePosixPath(*parts))


def resolve_under(root: Path, relpath: str) -> Path:
    """The real file for ``relpath`` inside ``root``.

    Raises UnsafePath when the path (or a symlink on the way) leads outside the root,
    FileNotFoundError when there is no such regular file.
    """
    rel = check_relative(relpath)
    real_root = root.resolve(strict=True)
    candidate = (real_root / rel).resolve(strict=False)
    if not candidate.is_relative_to(real_root):
        raise UnsafePath("path leads outside the recordings root")
    if not candidate.is_file():
        raise FileNotFoundError(rel)
    return candidate


def inside(root: Path, path: Path) -> bool:
    """Whether ``path`` (symlinks followed) lies inside ``root``."""
    try:
        return path.resolve(strict=True).is_relative_to(root.resolve(strict=True))
    except (OSError, RuntimeError):
        return False
