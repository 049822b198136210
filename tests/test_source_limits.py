"""What a directory or git source refuses to index: anything whose real location is
outside the source (a symlink to /var/run/secrets/...) and files over ``max_file_bytes``.
Each refusal is named in the sync report, and a document skipped this way loses the rows
an earlier sync gave it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from indexer.config import DirectorySourceConfig, GitSourceConfig
from indexer.documents import DocumentRef
from indexer.errors import SourceError
from indexer.sources.directory import DirectorySource
from indexer.sources.git import GitSource
from tests.conftest import write
from tests.test_source_git import _git_identity, commit, git, new_repo  # noqa: F401

SECRET = "db-password: hunter2-very-secret"


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A 'secrets' folder next to the source, as /var/run/secrets is next to a share."""
    secrets = tmp_path / "secrets"
    write(secrets, "token.txt", SECRET + "\n")
    write(secrets, "nested/more.md", "# More\n\n" + SECRET + "\n")
    return secrets


def _dir_source(root: Path, **kw: Any) -> DirectorySource:
    return DirectorySource(DirectorySourceConfig(name="hb", type="directory", path=root, **kw))


def test_directory_source_never_follows_symlinks_out_of_its_folder(tmp_path, outside):
    root = tmp_path / "hb"
    write(root, "policy.md", "# Policy\n\nBe kind.\n")
    write(root, "real/inner.md", "# Inner\n\nInside.\n")
    (root / "x.txt").symlink_to(outside / "token.txt")
    (root / "linked").symlink_to(outside / "nested", target_is_directory=True)
    (root / "alias.md").symlink_to(root / "real" / "inner.md")  # stays inside: fine
    src = _dir_source(root)
    paths = [r.path for r in src.list()]
    assert sorted(paths) == ["alias.md", "policy.md", "real/inner.md"]
    skipped = dict(src.skipped)
    assert set(skipped) == {"x.txt", "linked"}
    assert all("outside the source folder" in reason for reason in skipped.values())
    # a file swapped for a link after listing is refused when read, too
    os.remove(root / "policy.md")
    (root / "policy.md").symlink_to(outside / "token.txt")
    with pytest.raises(SourceError, match="outside the source folder"):
        src.read(DocumentRef("policy.md", "v"))


def test_directory_source_skips_files_over_max_file_bytes(tmp_path):
    root = tmp_path / "hb"
    write(root, "small.md", "# Small\n\nok\n")
    write(root, "big.txt", "x" * 5000)
    src = _dir_source(root, max_file_bytes=1000)
    assert [r.path for r in src.list()] == ["small.md"]
    (path, reason), = src.skipped
    assert path == "big.txt" and "5,000 bytes" in reason and "max_file_bytes of 1,000" in reason
    with pytest.raises(SourceError, match="max_file_bytes"):
        src.read(DocumentRef("big.txt", "v"))
    assert DirectorySourceConfig(name="d", type="directory", path=root).max_file_bytes \
        == 25_000_000


def test_sync_reports_a_symlink_out_of_the_source_and_prunes_its_old_rows(
        tmp_path: Path, outside: Path, make_index: Any) -> None:
    root = tmp_path / "hb"
    write(root, "policy.md", "# Policy\n\nBe kind to each other.\n")
    write(root, "x.txt", "harmless at first\n")
    index = make_index([{"name": "hb", "type": "directory", "path": str(root)}])
    assert index.sync().summary()["added"] == 2
    os.remove(root / "x.txt")
    (root / "x.txt").symlink_to(outside / "token.txt")
    result = index.sync()
    report, = result.reports
    assert report.deleted == 1 and report.failed == 1
    (path, reason), = report.failures
    assert path == "x.txt" and "outside the source folder" in reason
    texts = [r["text"] for r in index.store.table.search().limit(None).to_list()]
    assert texts and not any("hunter2" in t for t in texts)
    assert index.state.failures("hb") == [("x.txt", reason)]


def test_git_source_never_follows_committed_symlinks_out_of_the_source(tmp_path, outside):
    repo = new_repo(tmp_path / "repo")
    commit(repo, "docs", {"docs/policy.md": "# Policy\n\nBe kind.\n",
                          "docs/real.md": "# Real\n\nInside.\n",
                          "top.md": "# Top\n\nOutside the subdir.\n"})
    (repo / "docs" / "abs.txt").symlink_to(outside / "token.txt")
    (repo / "docs" / "up.md").symlink_to("../top.md")  # leaves the subdir
    (repo / "docs" / "alias.md").symlink_to("real.md")  # stays inside: followed
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "links")
    src = GitSource(GitSourceConfig(name="g", type="git", repo=str(repo), subdir="docs"),
                    tmp_path / "cache")
    refs = {r.path: r for r in src.list()}
    assert sorted(refs) == ["alias.md", "policy.md", "real.md"]
    assert dict(src.skipped).keys() == {"abs.txt", "up.md"}
    assert all("outside the source" in r for _, r in src.skipped)
    assert src.read(refs["alias.md"]).content == b"# Real\n\nInside.\n"


def test_git_source_skips_files_over_max_file_bytes(tmp_path):
    repo = new_repo(tmp_path / "repo")
    commit(repo, "docs", {"small.md": "# Small\n", "big.txt": "y" * 4000})
    src = GitSource(GitSourceConfig(name="g", type="git", repo=str(repo),
                                    max_file_bytes=1000), tmp_path / "cache")
    assert [r.path for r in src.list()] == ["small.md"]
    (path, reason), = src.skipped
    assert path == "big.txt" and "4,000 bytes" in reason
