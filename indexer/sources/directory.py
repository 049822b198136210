"""Documents in a local folder (a mounted share, a checkout kept current by something else)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

from indexer.config import DirectorySourceConfig
from indexer.documents import DocumentRef, RawDocument
from indexer.errors import SourceError
from indexer.sources.base import Source, matches, media_type_for


class DirectorySource(Source):
    """Recursive folder listing; a file's version is its size and modification time.

    mtime+size is what ``rsync`` trusts too: cheap to list, and an edit that keeps both
    is vanishingly rare. ``sync --full`` re-reads everything when in doubt.
    """

    def __init__(self, config: DirectorySourceConfig) -> None:
        self.name = config.name
        self.audience = config.audience
        self.url_template = config.url
        self.root = config.path.expanduser()
        self.include, self.exclude = config.include, config.exclude

    def list(self) -> Iterator[DocumentRef]:
        if not self.root.is_dir():
            raise SourceError(f"source {self.name!r}: folder {self.root} does not exist")
        for file in sorted(self.root.rglob("*")):
            rel = file.relative_to(self.root).as_posix()
            if any(part.startswith(".") for part in Path(rel).parts):
                continue  # .git, .DS_Store and editor droppings
            if not file.is_file() or media_type_for(rel) is None:
                continue
            if matches(rel, self.include, self.exclude):
                stat = file.stat()
                yield DocumentRef(rel, f"{stat.st_mtime_ns}-{stat.st_size}")

    def read(self, ref: DocumentRef, previous_version: str | None = None) -> RawDocument:
        file = self.root / ref.path
        try:
            content = file.read_bytes()
        except OSError as exc:
            raise SourceError(f"cannot read {file}: {exc.strerror}") from exc
        version = ref.version or hashlib.sha256(content).hexdigest()[:16]
        return RawDocument(ref.path, version, content, media_type_for(ref.path) or "text")

    def default_url(self, path: str, version: str) -> str:
        return (self.root.resolve() / path).as_uri()
