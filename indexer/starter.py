"""A first configuration for one source: what ``policybot init`` writes.

A newcomer has a folder, a repository or a website, and wants a cited answer from it. This
module works out which of the three the target is, the ``[[sources]]`` entry that indexes
it (with a citation ``url`` template derived from the repository's forge, so every quote
links to its file), and lists what that entry would index, by reading the source exactly
as the sync will. Nothing here writes outside the cache or fetches more than the listing.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from indexer.config import DirectorySourceConfig, GitSourceConfig, WebSourceConfig
from indexer.errors import ConfigError, SourceError
from indexer.parsing.formats import media_type_for
from indexer.sources.git import FORGE_PATHS, forge_template

DIRECTORY, GIT, WEB = "directory", "git", "web"
_GIT_URL = re.compile(r"^(?:[\w.-]+@[\w.-]+:|(?:ssh|git|git\+ssh)://|file://)|\.git/?$")
SHOWN = 15  # documents listed by name; the rest are counted


@dataclass
class Starter:
    """One source's entry for a new configuration, and what it would index."""

    kind: str
    entry: dict[str, Any]  # the [[sources]] table, keys in the order written
    documents: list[tuple[str, str]] = field(default_factory=list)  # (path, format)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, why)
    notes: list[str] = field(default_factory=list)  # comments written above the entry

    def formats(self) -> Counter[str]:
        return Counter(fmt for _, fmt in self.documents)


def kind_of(target: str) -> str:
    """``directory`` for an existing folder, ``git`` for a repository URL, ``web`` for
    any other http(s) address; anything else is a ConfigError saying what is accepted."""
    if Path(target).expanduser().is_dir():
        return DIRECTORY
    if _GIT_URL.search(target):
        return GIT
    parts = urlsplit(target)
    if parts.scheme in ("http", "https") and parts.hostname:
        host = parts.hostname.lower()
        segments = [s for s in parts.path.split("/") if s]
        if any(marker in host for marker in FORGE_PATHS) and len(segments) == 2:
            return GIT  # https://github.com/org/repo names the repository
        return WEB
    raise ConfigError(f"{target!r} is neither an existing folder nor a git or web URL; "
                      "give a folder (policybot init ./handbook), a repository "
                      "(https://github.com/org/handbook.git) or a site "
                      "(https://handbook.example.com)")


def _git(*args: str, cwd: Path | None = None) -> str | None:
    """A git command's output, or None when git is missing or the command fails."""
    try:
        out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                             timeout=60, check=True,
                             env={**os.environ, "GIT_TERMINAL_PROMPT": "0"})
    except (FileNotFoundError, subprocess.CalledProcessError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip()


def source_name(target: str, kind: str) -> str:
    """A valid source name: the folder's, the repository's or the site's host name."""
    if kind == DIRECTORY:
        raw = Path(target).expanduser().resolve().name
    elif kind == GIT:
        raw = re.sub(r"\.git/?$", "", target.rstrip("/")).rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    else:
        raw = urlsplit(target).hostname or "site"
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", raw).strip("-._")
    return name or "handbook"


def for_directory(path: Path, name: str) -> Starter:
    """A directory source; inside a git checkout with a remote, citations link to the
    forge's view of each file on the current branch."""
    folder = path.expanduser().resolve()
    entry: dict[str, Any] = {"name": name, "type": DIRECTORY, "path": str(folder)}
    starter = Starter(DIRECTORY, entry)
    top = _git("rev-parse", "--show-toplevel", cwd=folder)
    remote = _git("remote", "get-url", "origin", cwd=folder) if top else None
    if top and remote:
        branch = _git("symbolic-ref", "--short", "HEAD", cwd=folder) or "main"
        prefix = folder.relative_to(Path(top).resolve()).as_posix()
        template, note = forge_template(remote, branch, "" if prefix == "." else prefix)
        if template:
            entry["url"] = template
        starter.notes += [n for n in (note,) if n]
    else:
        starter.notes.append("not a git checkout with a remote: citations name the file "
                             "path; set `url` (with {path}) to link them to a web view")
    config = DirectorySourceConfig(**entry)
    from indexer.sources.directory import DirectorySource

    _listed(starter, DirectorySource(config))
    return starter


def for_git(repo: str, name: str, cache_dir: Path) -> Starter:
    """A git source on the repository's default branch (read with ``git ls-remote``)."""
    head = _git("ls-remote", "--symref", repo, "HEAD")
    if head is None:
        raise SourceError(f"cannot read {repo}: git ls-remote failed (check the URL, "
                          "your network and your git credentials)")
    m = re.search(r"^ref: refs/heads/(\S+)\tHEAD", head, re.M)
    branch = m.group(1) if m else "main"
    entry: dict[str, Any] = {"name": name, "type": GIT, "repo": repo, "branch": branch}
    starter = Starter(GIT, entry)
    template, note = forge_template(repo, branch)
    if template:
        entry["url"] = template
    starter.notes += [n for n in (note,) if n]
    from indexer.sources.git import GitSource

    _listed(starter, GitSource(GitSourceConfig(**entry), cache_dir))
    return starter


def for_web(site: str, name: str, allow_private_network: bool = False) -> Starter:
    """A web source from the site's sitemap (robots.txt ``Sitemap:`` or /sitemap.xml);
    without one, the page itself: the web source reads the pages it is given, it does
    not crawl links."""
    base: dict[str, Any] = {"name": name, "type": WEB}
    if allow_private_network:
        base["allow_private_network"] = True
    root = f"{urlsplit(site).scheme}://{urlsplit(site).netloc}"
    from indexer.sources.web import WebSource

    probe = WebSource(WebSourceConfig(**base, urls=[site]))
    try:
        _reachable(probe, site, allow_private_network)
        candidates = _sitemaps(probe, root)
        for sitemap in candidates:
            entry = {**base, "sitemap": sitemap}
            starter = Starter(WEB, entry)
            try:
                _listed(starter, WebSource(WebSourceConfig(**entry)))
            except SourceError:
                continue
            if starter.documents:
                return starter
    finally:
        probe.close()
    starter = Starter(WEB, {**base, "urls": [site]},
                      notes=["no sitemap found: only this page is indexed; add more "
                             "`urls`, or a `sitemap`, to index the rest of the site"])
    _listed(starter, WebSource(WebSourceConfig(**starter.entry)))
    return starter


def _reachable(probe: Any, site: str, allow_private_network: bool) -> None:
    """Reads the page itself, so an unreachable or refused site is an error now, with
    its reason, rather than a configuration that indexes nothing."""
    refs = probe.list()
    try:
        if not refs:
            raise SourceError(f"{site}: disallowed by the site's robots.txt")
        probe.read(refs[0])
    except SourceError as exc:
        hint = ("" if allow_private_network else
                "; for a site on your own network, run init with --allow-private-network")
        raise SourceError(f"{exc}{hint}") from exc


def _sitemaps(probe: Any, root: str) -> list[str]:
    """Sitemaps robots.txt names, then the conventional /sitemap.xml."""
    found = [m.strip() for m in probe.robots_sitemaps(root) if m.strip()]
    conventional = f"{root}/sitemap.xml"
    return [*dict.fromkeys([*found, conventional])]


def _listed(starter: Starter, source: Any) -> None:
    """Fill in what the source lists now, as the sync would list it."""
    try:
        refs = list(source.list())
    finally:
        source.close()
    starter.documents = [(r.path, media_type_for(r.path) or "html") for r in refs]
    starter.skipped = list(source.skipped)


def starter_for(target: str, cache_dir: Path, name: str | None = None,
                allow_private_network: bool = False) -> Starter:
    """The source entry for ``target`` (folder, git URL or site URL) and its listing."""
    kind = kind_of(target)
    name = name or source_name(target, kind)
    if kind == DIRECTORY:
        return for_directory(Path(target), name)
    if kind == GIT:
        return for_git(target, name, cache_dir)
    return for_web(target, name, allow_private_network)


def _toml_value(value: Any) -> str:
    """A TOML value: JSON's string escapes are valid TOML basic-string escapes."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)


_ENTRY_COMMENTS = {
    "path": "the folder indexed, with its subfolders",
    "repo": "cloned privately under the PolicyBot home; the repository is never changed",
    "branch": "the branch indexed, at its latest commit",
    "url": "citation link of each document: {path} is the document's path",
    "sitemap": "every page it lists is indexed",
    "urls": "pages indexed (the web source does not follow links)",
    "allow_private_network": "the site resolves to a private or loopback address",
}


def render_toml(starter: Starter) -> str:
    """A commented ``policybot.toml`` holding the one source; the rest stays default."""
    lines = ["# PolicyBot configuration, written by `policybot init`.",
             "# Every setting left out has its default: `policybot config show` lists them,",
             "# and the README's Configuration section explains each.", "",
             "# Where the index and the state database live (relative to where you run it).",
             'home = ".policybot"', ""]
    lines += [f"# {note}" for note in starter.notes]
    lines.append("[[sources]]")
    for key, value in starter.entry.items():
        comment = _ENTRY_COMMENTS.get(key)
        lines.append(f"{key} = {_toml_value(value)}" + (f"  # {comment}" if comment else ""))
    lines += ["# audience = [\"hr\"]        # only these audiences may see its documents",
              "# schedule = \"30m\"         # keep it in step: `policybot scheduler`",
              "# exclude = [\"drafts/**\"]   # globs of paths to leave out", "",
              "# Answers are extractive (quoted from the documents) until a model is set:",
              "# [generator]", "# backend = \"openai\"", "# base_url = \"http://vllm:8000/v1\"",
              "# model = \"policy-voice\"", ""]
    return "\n".join(lines)


__all__ = ["DIRECTORY", "GIT", "WEB", "Starter", "forge_template", "kind_of",
           "render_toml", "source_name", "starter_for"]
