"""Errors the indexer raises on purpose. The CLI turns them into messages; nothing else does."""


class PolicyBotError(Exception):
    """Base class: an error whose message is meant for the person running PolicyBot."""


class ConfigError(PolicyBotError):
    """The configuration file or environment holds a value PolicyBot cannot use."""


class SourceError(PolicyBotError):
    """A source could not list or read its documents (network, auth, missing path)."""


class ParseError(PolicyBotError):
    """One document could not be parsed; the sync reports it and goes on."""


class SyncBusyError(PolicyBotError):
    """Another sync holds the index lock for longer than we were willing to wait."""


class IndexMissingError(PolicyBotError):
    """A search ran before any sync created the index."""
