"""Document sources: where policy documents live and how to list and read them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from indexer.sources.base import Source


def build_source(config: Any, cache_dir: Path) -> Source:
    """The :class:`Source` for one ``[[sources]]`` entry of the configuration."""
    if config.type == "directory":
        from indexer.sources.directory import DirectorySource

        return DirectorySource(config)
    if config.type == "git":
        from indexer.sources.git import GitSource

        return GitSource(config, cache_dir / "git")
    from indexer.sources.web import WebSource

    return WebSource(config)


__all__ = ["Source", "build_source"]
