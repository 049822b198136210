"""Documents in a git repository: the version of a file is the last commit that touched it.

Uses the ``git`` command line (present wherever git repositories are), in a private
clone under the PolicyBot home, so the source repository is never modified.
"""

from __future__ import annotations

import hashlib
import logging
import os
import posixpath
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from indexer.config import GitSourceConfig
from indexer.dating import COMMIT, iso_date, short_commit
from indexer.documents import DocumentRef, RawDocument
from indexer.errors import SourceError
from indexer.sources.base import BaseSource, matches, media_type_for, too_large

log = logging.getLogger(__name__)
_SCP_LIKE = re.compile(r"^[\w.-]+@([\w.-]+):(.+?)(?:\.git)?/?$")
LINK_HOPS = 8  # a chain of symlinks longer than this is treated as a loop
OUTSIDE = "symbolic link to a location outside the source; not followed"
_SSH_URL = re.compile(r"^(?:ssh|git|git\+ssh)://(?:[^/@]+@)?([\w.-]+)(?::\d+)?/(.+?)(?:\.git)?/?$")


def web_view(repo: str) -> str | None:
    """``https://host/org/repo`` for a remote URL (credentials dropped), None for a path."""
    m = _SCP_LIKE.match(repo) or _SSH_URL.match(repo)
    if m:
        return f"https://{m.group(1)}/{m.group(2)}"
    if repo.startswith(("https://", "http://")):
        return re.sub(r"(\.git)?/?$", "", re.sub(r"//[^/@]+@", "//", repo))
    return None


FORGE_PATHS = {  # host marker → how the forge shows one file of a branch
    "github": "{view}/blob/{branch}/",
    "gitlab": "{view}/-/blob/{branch}/",
    "gitea": "{view}/src/branch/{branch}/",
    "codeberg": "{view}/src/branch/{branch}/",
    "forgejo": "{view}/src/branch/{branch}/",
    "bitbucket": "{view}/src/{branch}/",
}


def forge_template(remote: str, branch: str, prefix: str = "") -> tuple[str | None, str]:
    """The citation ``url`` for files of ``branch`` under ``prefix`` on the forge that
    hosts ``remote`` (GitHub, GitLab, Gitea/Forgejo/Codeberg, Bitbucket), and a note
    when the forge is unknown or the remote is a local path."""
    view = web_view(remote)
    if view is None:
        return None, "the repository has no web address; citations name the file path"
    host = (urlsplit(view).hostname or "").lower()
    pattern = next((p for marker, p in FORGE_PATHS.items() if marker in host), None)
    note = ""
    if pattern is None:
        pattern = FORGE_PATHS["github"]
        note = (f"{host} is not a forge PolicyBot knows: check that `url` opens a file "
                "(GitLab: /-/blob/BRANCH/, Gitea: /src/branch/BRANCH/)")
    prefix = quote(prefix.strip("/"), safe="/")
    base = pattern.format(view=view, branch=quote(branch, safe="/"))
    template = base + (prefix + "/" if prefix else "") + "{path}"
    return template.replace("{", "{{").replace("}", "}}").replace("{{path}}", "{path}"), note


class GitSource(BaseSource):
    """A branch of a repository, fetched into ``cache_dir`` and read at its tip."""

    def __init__(self, config: GitSourceConfig, cache_dir: Path) -> None:
        self.name = config.name
        self.audience = config.audience
        self.repo, self.branch = config.repo, config.branch
        self.subdir = config.subdir.strip("/")
        self.include, self.exclude = config.include, config.exclude
        self.max_bytes = config.max_file_bytes
        self.skipped: list[tuple[str, str]] = []
        self._blob_of: dict[str, str] = {}  # rel path → tree path whose blob is read
        self._committed: dict[str, str] = {}  # commit → its commit date (ISO day)
        # Absolute: git runs with the checkout (or its parent) as its working directory.
        self.checkout = cache_dir.absolute() / hashlib.sha256(self.repo.encode()).hexdigest()[:12]
        self.url_template = config.url or forge_template(self.repo, self.branch,
                                                         self.subdir)[0]

    def _git(self, *args: str, cwd: Path | None = None) -> str:
        try:
            # quotePath off: log prints non-ASCII names as-is, as ls-tree -z does
            out = subprocess.run(["git", "-c", "core.quotePath=false", *args],
                                 cwd=cwd or self.checkout, check=True, capture_output=True,
                                 encoding="utf-8", errors="replace", timeout=600,
                                 env={**os.environ, "GIT_TERMINAL_PROMPT": "0"})
        except FileNotFoundError as exc:
            raise SourceError("git is not installed; install git to use git sources") from exc
        except subprocess.CalledProcessError as exc:
            reason = (exc.stderr or "").strip().splitlines()[-1:] or ["failed"]
            raise SourceError(f"source {self.name!r}: git {args[0]}: {reason[0]}") from exc
        except subprocess.TimeoutExpired as exc:
            raise SourceError(f"source {self.name!r}: git {args[0]} timed out") from exc
        return out.stdout

    def _update(self) -> None:
        """Fetch the branch into the private bare mirror (clone on first use)."""
        if not (self.checkout / "HEAD").exists():
            self.checkout.parent.mkdir(parents=True, exist_ok=True)
            self._git("clone", "--bare", "--quiet", "--filter=blob:none", self.repo,
                      str(self.checkout), cwd=self.checkout.parent)
        self._git("fetch", "--quiet", "--prune", "origin",
                  f"+refs/heads/{self.branch}:refs/heads/{self.branch}")

    def list(self) -> Iterator[DocumentRef]:
        self._update()
        ref = f"refs/heads/{self.branch}"
        spec = [self.subdir] if self.subdir else []
        tree = self._tree(ref, spec)
        wanted: dict[str, str] = {}  # rel → tree path of the blob it reads
        self.skipped = []
        for full, (mode, size) in tree.items():
            rel = full[len(self.subdir) + 1:] if self.subdir else full
            if not (media_type_for(rel) and matches(rel, self.include, self.exclude)):
                continue
            if mode == "160000":
                continue  # a submodule: its files are another repository's
            target = self._resolve(ref, full, tree) if mode == "120000" else full
            if target is None:
                self.skipped.append((rel, OUTSIDE))
                continue
            size = tree[target][1]
            if size > self.max_bytes:
                self.skipped.append((rel, too_large(size, self.max_bytes)))
                continue
            wanted[rel] = target
        self._blob_of = wanted
        commits = self._last_commits(ref, spec, set(wanted.values()))
        for rel, target in wanted.items():
            if target in commits:
                yield DocumentRef(rel, commits[target])

    def _tree(self, ref: str, spec: list[str]) -> dict[str, tuple[str, int]]:
        """Every entry under the subdir: tree path → (mode, size; -1 for a submodule)."""
        out = self._git("ls-tree", "-r", "-l", "-z", ref, "--", *spec)
        tree = {}
        for entry in filter(None, out.split("\0")):
            meta, _, full = entry.partition("\t")
            mode, _kind, _oid, size = meta.split(maxsplit=3)
            tree[full] = (mode, int(size) if size.strip().isdigit() else -1)
        return tree

    def _resolve(self, ref: str, full: str, tree: dict[str, tuple[str, int]]) -> str | None:
        """The regular file a committed symlink ends at, or None when it leaves the source.

        Same rule as the directory source: a link is followed only while it stays inside
        the configured subdir (the repository, without one) and ends at a file in it."""
        prefix = f"{self.subdir}/" if self.subdir else ""
        for _ in range(LINK_HOPS):
            target = self._git("cat-file", "blob", f"{ref}:{full}").rstrip("\n")
            if target.startswith("/"):
                return None
            full = posixpath.normpath(posixpath.join(posixpath.dirname(full), target))
            if full.startswith("../") or full == ".." or not full.startswith(prefix):
                return None
            mode = tree.get(full, ("", 0))[0]
            if mode != "120000":
                return full if mode.startswith("100") else None
        return None

    def _last_commits(self, ref: str, spec: list[str], wanted: set[str]) -> dict[str, str]:
        """Last commit touching each wanted file, in one walk of the history; each
        commit's committer date is kept for :meth:`read` (what a reader is shown)."""
        found: dict[str, str] = {}
        self._committed = {}
        log_out = self._git("log", "--format=%x00%H %cI", "--name-only", "--no-renames", ref,
                            "--", *spec)
        for entry in log_out.split("\0")[1:]:
            head, *names = entry.strip().splitlines()
            commit, _, when = head.partition(" ")
            self._committed[commit] = iso_date(when) or ""
            for name in names:
                if name in wanted and name not in found:
                    found[name] = commit
            if len(found) == len(wanted):
                break
        return found

    def read(self, ref: DocumentRef, previous_version: str | None = None) -> RawDocument:
        full = self._blob_of.get(ref.path) or (f"{self.subdir}/{ref.path}" if self.subdir
                                                 else ref.path)
        try:
            content = subprocess.run(["git", "show", f"refs/heads/{self.branch}:{full}"],
                                     cwd=self.checkout, check=True, capture_output=True,
                                     timeout=120).stdout
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            raise SourceError(f"cannot read {full} at {self.branch}") from exc
        if len(content) > self.max_bytes:
            raise SourceError(f"{ref.path}: {too_large(len(content), self.max_bytes)}")
        commit = ref.version or ""
        return RawDocument(ref.path, commit, content, media_type_for(ref.path) or "text",
                           dated=self._committed.get(commit) or None, dated_by=COMMIT,
                           version_label=short_commit(commit))

    def link(self, path: str, version: str, anchor: str | None = None) -> str:
        if self.url_template:
            return super().link(path, version, anchor)
        full = f"{self.subdir}/{path}" if self.subdir else path
        local = Path(unquote(urlsplit(self.repo).path)) if self.repo.startswith("file://") \
            else Path(self.repo)
        return (local.resolve() / full).as_uri() + (f"#{anchor}" if anchor else "")

