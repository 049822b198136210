"""GitSource against real repositories made with the git CLI: versions are the last commit
touching each file, globs and subdir filter, syncs are incremental, failures keep rows."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from indexer.config import GitSourceConfig
from indexer.sources.git import GitSource, web_view
from tests.conftest import write

URL = "https://github.com/org/hb/blob/{version}/{path}"


@pytest.fixture(autouse=True)
def _git_identity(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Commits need an author; no developer or system git config leaks into the tests."""
    for var in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{var}_NAME", "Policy Tester")
        monkeypatch.setenv(f"GIT_{var}_EMAIL", "tester@example.com")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True,
                          text=True).stdout.strip()


def commit(repo: Path, message: str, files: dict[str, str | bytes | None]) -> str:
    """Write (or delete, for None) ``files`` and commit them; returns the commit id."""
    for rel, content in files.items():
        path = repo / rel
        if content is None:
            git(repo, "rm", "-q", rel)
        elif isinstance(content, bytes):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        else:
            write(repo, rel, content)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def last_commit(repo: Path, rel: str) -> str:
    return git(repo, "log", "-1", "--format=%H", "--", rel)


def new_repo(root: Path) -> Path:
    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    return root


@pytest.fixture
def mixed_repo(tmp_path: Path) -> Path:
    """Every indexable kind plus files that are not, over three commits."""
    repo = new_repo(tmp_path / "mixed")
    commit(repo, "first", {
        "policies/leave.md": "# Leave\n\nTwenty-five days.\n",
        "policies/travel.txt": "Travel\n\nBook economy.\n",
        "assets/logo.png": b"\x89PNG\r\n\x1a\nnot really",
        ".github/ci.yml": "on: push\n",
        "README.md": "# Handbook\n",
    })
    commit(repo, "second", {
        "policies/conduct.html": "<h1>Conduct</h1><p>Be kind.</p>",
        "policies/handbook.pdf": b"%PDF-1.4 stub",
        "forms/expense.docx": b"PK\x03\x04 stub",
        "policies/congés.md": "# Congés\n\nVingt-cinq jours.\n",
        "policies/drafts/new-rule.md": "# Draft\n",
    })
    commit(repo, "third", {"policies/travel.txt": "Travel\n\nBook economy; trains first.\n"})
    return repo


def source(repo: Path | str, cache: Path, **kw: Any) -> GitSource:
    config = GitSourceConfig(name="hb", type="git", repo=str(repo), **kw)
    return GitSource(config, cache)


def versions(src: GitSource) -> dict[str, str]:
    refs = list(src.list())
    assert len({r.path for r in refs}) == len(refs)
    return {r.path: r.version for r in refs}


# -- listing ------------------------------------------------------------------------------

def test_list_has_every_indexable_file_at_its_last_commit(mixed_repo: Path, tmp_path: Path):
    found = versions(source(mixed_repo, tmp_path / "cache"))
    expected = ["README.md", "forms/expense.docx", "policies/conduct.html",
                "policies/congés.md", "policies/drafts/new-rule.md", "policies/handbook.pdf",
                "policies/leave.md", "policies/travel.txt"]
    assert sorted(found) == expected  # no .png, no .yml
    for rel in expected:
        assert found[rel] == last_commit(mixed_repo, rel), rel
    # three different commits really are in play
    assert len(set(found.values())) == 3


def test_source_repository_is_never_touched(mixed_repo: Path, tmp_path: Path):
    before = git(mixed_repo, "status", "--porcelain"), git(mixed_repo, "rev-parse", "HEAD")
    src = source(mixed_repo, tmp_path / "cache")
    list(src.list())
    assert (src.checkout / "HEAD").exists()
    assert src.checkout.is_relative_to(tmp_path / "cache")
    assert (git(mixed_repo, "status", "--porcelain"), git(mixed_repo, "rev-parse", "HEAD")) \
        == before


def test_include_exclude_and_subdir(mixed_repo: Path, tmp_path: Path):
    cache = tmp_path / "cache"
    only_md = versions(source(mixed_repo, cache, include=["**/*.md"], exclude=["**/drafts/*"]))
    assert sorted(only_md) == ["README.md", "policies/congés.md", "policies/leave.md"]

    sub = source(mixed_repo, cache, subdir="/policies/", exclude=["drafts/*"])
    found = versions(sub)
    assert sorted(found) == ["conduct.html", "congés.md", "handbook.pdf", "leave.md",
                             "travel.txt"]
    assert found["travel.txt"] == last_commit(mixed_repo, "policies/travel.txt")
    raw = sub.read(next(r for r in sub.list() if r.path == "travel.txt"))
    assert raw.content == b"Travel\n\nBook economy; trains first.\n"
    assert raw.media_type == "text"
    # globs see subdir-relative paths
    drafts = versions(source(mixed_repo, cache, subdir="policies", include=["drafts/*"]))
    assert drafts == {"drafts/new-rule.md": last_commit(mixed_repo,
                                                        "policies/drafts/new-rule.md")}
    # a local repository without a url template links to the file, subdir included
    assert sub.link("leave.md", "v", "leave") == \
        f"{mixed_repo.resolve().as_uri()}/policies/leave.md#leave"


def test_new_commit_moves_only_the_changed_files_version(mixed_repo: Path, tmp_path: Path):
    src = source(mixed_repo, tmp_path / "cache")
    before = versions(src)
    head = commit(mixed_repo, "edit leave", {"policies/leave.md": "# Leave\n\nThirty days.\n"})
    after = versions(src)  # the private clone fetches the new commit
    assert after["policies/leave.md"] == head != before["policies/leave.md"]
    assert {k: v for k, v in after.items() if k != "policies/leave.md"} == \
        {k: v for k, v in before.items() if k != "policies/leave.md"}
    assert src.read(next(r for r in src.list() if r.path == "policies/leave.md")).content \
        == b"# Leave\n\nThirty days.\n"


def test_only_the_configured_branch_is_read(mixed_repo: Path, tmp_path: Path):
    git(mixed_repo, "checkout", "-q", "-b", "drafts")
    commit(mixed_repo, "draft", {"policies/remote.md": "# Remote work\n"})
    git(mixed_repo, "checkout", "-q", "main")
    assert "policies/remote.md" not in versions(source(mixed_repo, tmp_path / "c1"))
    on_drafts = versions(source(mixed_repo, tmp_path / "c2", branch="drafts"))
    assert on_drafts["policies/remote.md"] == git(mixed_repo, "rev-parse", "drafts")


# -- links ------------------------------------------------------------------------------

@pytest.mark.parametrize(("repo", "view"), [
    ("https://user:token@github.com/org/repo.git", "https://github.com/org/repo"),
    ("https://github.com/org/repo", "https://github.com/org/repo"),
    ("https://gitlab.example.com/group/sub/repo.git/", "https://gitlab.example.com/group/sub/repo"),
    ("git@github.com:org/repo.git", "https://github.com/org/repo"),
    ("ssh://git@github.com:22/org/repo.git", "https://github.com/org/repo"),
    ("/srv/git/handbook", None),
    ("../handbook", None),
])
def test_web_view(repo: str, view: str | None):
    assert web_view(repo) == view


def test_default_link_for_a_remote_uses_the_branch_without_network(tmp_path: Path):
    src = source("https://user:token@github.com/org/hb.git", tmp_path / "cache")
    assert src.url_template == "https://github.com/org/hb/blob/main/{path}"
    assert src.link("people/annual leave.md", "abc123", "carry-over") == \
        "https://github.com/org/hb/blob/main/people/annual%20leave.md#carry-over"
    assert "token" not in src.link("x.md", "v")
    sub = source("git@github.com:org/hb.git", tmp_path / "cache", branch="prod",
                 subdir="policies")
    assert sub.url_template == "https://github.com/org/hb/blob/prod/policies/{path}"
    assert not (tmp_path / "cache").exists()  # nothing was cloned
    custom = source("git@github.com:org/hb.git", tmp_path / "cache", url=URL)
    assert custom.link("a.md", "c0ffee") == "https://github.com/org/hb/blob/c0ffee/a.md"


# -- syncing ----------------------------------------------------------------------------

@pytest.fixture
def handbook(tmp_path: Path) -> Path:
    repo = new_repo(tmp_path / "hb")
    commit(repo, "leave", {"policies/leave.md": "# Annual leave\n\nYou get 25 days a year.\n"})
    commit(repo, "more", {
        "policies/travel.md": "# Travel\n\nBook economy class for flights.\n",
        "policies/conduct.md": "# Code of conduct\n\nTreat colleagues with respect.\n",
        "assets/logo.png": b"\x89PNG",
    })
    return repo


def hb_config(repo: Path | str, **kw: Any) -> list[dict[str, Any]]:
    return [{"name": "hb", "type": "git", "repo": str(repo), "branch": "main", "url": URL, **kw}]


def rows(index: Any) -> list[dict[str, Any]]:
    return index.store.table.to_arrow().select(["path", "url", "doc_version", "text"]).to_pylist()


def test_sync_indexes_docs_with_commit_links_then_is_incremental(
        handbook: Path, make_index: Callable[..., Any]):
    index = make_index(hb_config(handbook))
    first = index.sync()
    assert first.ok
    assert first.summary()["added"] == 3
    indexed = rows(index)
    assert {r["path"] for r in indexed} == {"policies/leave.md", "policies/travel.md",
                                            "policies/conduct.md"}
    for r in indexed:
        sha = last_commit(handbook, r["path"])
        assert r["doc_version"] == sha
        base = f"https://github.com/org/hb/blob/{sha}/{r['path']}#"
        assert r["url"].startswith(base) and len(r["url"]) > len(base), r["url"]
    leave = next(r for r in indexed if r["path"] == "policies/leave.md")
    assert leave["url"] == (f"https://github.com/org/hb/blob/"
                            f"{last_commit(handbook, 'policies/leave.md')}/policies/leave.md"
                            "#annual-leave")

    nothing = index.sync().summary()
    assert (nothing["unchanged"], nothing["added"], nothing["updated"]) == (3, 0, 0)
    assert nothing["chunks_embedded"] == 0

    head = commit(handbook, "edit travel",
                  {"policies/travel.md": "# Travel\n\nBook trains for trips under 500 km.\n"})
    second = index.sync().summary()
    assert (second["updated"], second["unchanged"], second["added"], second["deleted"]) == \
        (1, 2, 0, 0)
    travel = [r for r in rows(index) if r["path"] == "policies/travel.md"]
    assert travel and all(r["doc_version"] == head for r in travel)
    assert all(f"/blob/{head}/policies/travel.md#" in r["url"] for r in travel)
    assert any("trains" in r["text"] for r in travel)

    commit(handbook, "drop conduct", {"policies/conduct.md": None})
    third = index.sync().summary()
    assert (third["deleted"], third["unchanged"], third["updated"]) == (1, 2, 0)
    assert {r["path"] for r in rows(index)} == {"policies/leave.md", "policies/travel.md"}
    assert [r.status for r in index.state.runs("hb")] == ["ok"] * 4


@pytest.mark.parametrize(("change", "expected"), [
    ({"branch": "no-such-branch"}, "no-such-branch"),
    ({"repo": "MISSING"}, "does not exist"),
])
def test_unreachable_branch_or_repo_fails_the_source_and_keeps_its_rows(
        handbook: Path, tmp_path: Path, make_index: Callable[..., Any],
        change: dict[str, str], expected: str):
    index = make_index(hb_config(handbook))
    assert index.sync().ok
    before = index.store.table.count_rows()
    assert before > 0

    if change.get("repo") == "MISSING":
        change = {"repo": str(tmp_path / "missing-repo")}
    config = hb_config(handbook)
    config[0].update(change)
    broken = make_index(config)  # same home, same table
    result = broken.sync()
    assert not result.ok
    (report,) = result.reports
    assert report.status == "failed"
    assert report.error and "hb" in report.error and expected in report.error
    assert result.summary()["failed"] == 1 and result.summary()["deleted"] == 0
    assert broken.store.table.count_rows() == before
    assert {r["path"] for r in rows(broken)} == {"policies/leave.md", "policies/travel.md",
                                                 "policies/conduct.md"}
    last = broken.state.runs("hb")[-1]
    assert (last.status, last.error) == ("failed", report.error)
