"""Document sources: where policy documents live, and the registry of source types.

A source type is a name (the ``type`` of a ``[[sources]]`` entry), its settings class in
:data:`indexer.config.SOURCE_CONFIGS`, and a factory here that builds its
:class:`~indexer.sources.base.Source`. Implementations are imported when first built, so
importing the indexer does not import the HTTP stack for a folder of Markdown.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from indexer.errors import ConfigError
from indexer.sources.base import BaseSource, Source

# (the source's settings, the PolicyBot cache folder) → the Source
SourceFactory = Callable[[Any, Path], Source]

SOURCE_TYPES: dict[str, SourceFactory] = {}


def register_source_type(name: str, factory: SourceFactory) -> None:
    """Make ``type = "NAME"`` build sources with ``factory``. Its settings class must be
    in :data:`indexer.config.SOURCE_CONFIGS` under the same name, or no configuration
    could ever name it."""
    if name in SOURCE_TYPES:
        raise ValueError(f"source type {name!r} is already registered")
    SOURCE_TYPES[name] = factory


def build_source(config: Any, cache_dir: Path) -> Source:
    """The :class:`Source` for one ``[[sources]]`` entry of the configuration.

    An entry of an unregistered type is a ConfigError naming the registered ones."""
    factory = SOURCE_TYPES.get(config.type)
    if factory is None:
        raise ConfigError(f"source {config.name!r}: unknown source type {config.type!r}; "
                          f"allowed types: {', '.join(SOURCE_TYPES)}")
    return factory(config, cache_dir)


def _directory(config: Any, cache_dir: Path) -> Source:
    from indexer.sources.directory import DirectorySource

    return DirectorySource(config)


def _git(config: Any, cache_dir: Path) -> Source:
    from indexer.sources.git import GitSource

    return GitSource(config, cache_dir / "git")


def _web(config: Any, cache_dir: Path) -> Source:
    from indexer.sources.web import WebSource

    return WebSource(config)


register_source_type("directory", _directory)
register_source_type("git", _git)
register_source_type("web", _web)

__all__ = ["SOURCE_TYPES", "BaseSource", "Source", "build_source", "register_source_type"]
