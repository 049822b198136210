"""Documents in a local folder (a mounted share, a checkout kept current by something else)."""

from __future__ import annotations

import hashlib
import os
import stat as stat_mod
from collections.abc import Iterator
from pathlib import Path

from indexer.config import DirectorySourceConfig
from indexer.documents import DocumentRef, RawDocument
from indexer.errors import SourceError
from indexer.sources.base import BaseSource, matches, media_type_for, too_large


class DirectorySource(BaseSource):
    """Recursive folder listing; a file's version is its size and modification time.

    mtime+size is what ``rsync`` trusts too: cheap to list, and an edit that keeps both
    is vanishingly rare. ``sync --full`` re-reads everything when in doubt.

    Only files whose real location is inside the folder are indexed: a symlink
    ``x.txt -> /var/run/secrets/token`` would otherwise publish whatever it points at.
    Such links, and files over ``max_file_bytes``, are left out of the listing (so rows
    indexed before are pruned) and named in :attr:`skipped` for the sync report.
    """

    def __init__(self, config: DirectorySourceConfig) -> None:
        self.name = config.name
        self.audience = config.audience
        self.url_template = config.url
        self.root = config.path.expanduser()
        self.include, self.exclude = config.include, config.exclude
        self.max_bytes = config.max_file_bytes
        self.skipped: list[tuple[str, str]] = []

    def _inside(self, real: Path, real_root: Path) -> bool:
        return real == real_root or real.is_relative_to(real_root)

    def list(self) -> Iterator[DocumentRef]:
        if not self.root.is_dir():
            raise SourceError(f"source {self.name!r}: folder {self.root} does not exist")
        self.skipped = []
        real_root = self.root.resolve()
        for file in sorted(self.root.rglob("*")):
            rel = file.relative_to(self.root).as_posix()
            if any(part.startswith(".") for part in Path(rel).parts):
                continue  # .git, .DS_Store and editor droppings
            if file.is_symlink():
                real = file.resolve()
                if not self._inside(real, real_root):
                    if file.is_dir() or media_type_for(rel) is not None:
                        self.skipped.append((rel, "symbolic link to a location outside "
                                                  "the source folder; not followed"))
                    continue
            if not file.is_file() or media_type_for(rel) is None:
                continue
            if matches(rel, self.include, self.exclude):
                stat = file.stat()
                if stat.st_size > self.max_bytes:
                    self.skipped.append((rel, too_large(stat.st_size, self.max_bytes)))
                    continue
                yield DocumentRef(rel, f"{stat.st_mtime_ns}-{stat.st_size}")

    def read(self, ref: DocumentRef, previous_version: str | None = None) -> RawDocument:
        file = self.root / ref.path
        # Checked again at read time: the file may have become a link since it was listed.
        real = file.resolve()
        if not self._inside(real, self.root.resolve()):
            raise SourceError(f"{ref.path}: symbolic link to a location outside the "
                              "source folder; not followed")
        try:
            fd = os.open(real, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError as exc:
            raise SourceError(f"cannot read {file}: {exc.strerror}") from exc
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat_mod.S_ISREG(info.st_mode):
                raise SourceError(f"{ref.path}: not a regular file")
            content = handle.read(self.max_bytes + 1)
        if len(content) > self.max_bytes:
            raise SourceError(f"{ref.path}: {too_large(len(content), self.max_bytes)}")
        version = ref.version or hashlib.sha256(content).hexdigest()[:16]
        return RawDocument(ref.path, version, content, media_type_for(ref.path) or "text")

    def default_url(self, path: str, version: str) -> str:
        return (self.root.resolve() / path).as_uri()
