"""``policybot init``: from a folder, a repository or a site to a configuration that
syncs, with citations that link to each file on its forge, run as a newcomer runs it."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from indexer.config import load_settings
from indexer.starter import forge_template, kind_of, source_name
from tests.conftest import write
from tests.test_cli import POLICYBOT, run

LEAVE = "# Leave\n\n## Annual leave\n\nEveryone gets 25 days of annual leave a year.\n"


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.email=hr@example.com", "-c", "user.name=HR", *args],
                   cwd=cwd, check=True, capture_output=True)


def _repo(root: Path, branch: str = "main") -> Path:
    """A checkout on ``branch`` whose handbook lives in a folder with a space."""
    repo = root / "handbook-repo"
    write(repo / "people ops", "leave.md", LEAVE)
    write(repo / "people ops", "expenses.txt", "Expenses are paid within 30 days.\n")
    write(repo, "README.md", "# About\n\nThis repository holds the handbook.\n")
    _git(root, "init", "-q", "-b", branch, str(repo))
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "handbook")
    return repo


def test_a_checkout_gets_a_config_that_syncs_and_links_each_file_on_its_forge(
        tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    _git(repo, "remote", "add", "origin", "git@github.com:acme/handbook.git")
    work = tmp_path / "work"
    work.mkdir()
    home = work / ".policybot"
    home.mkdir()

    env = {**{k: v for k, v in os.environ.items() if k != "POLICYBOT_HOME"},
           "POLICYBOT_HOME": str(home)}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        """Run in the work folder, as a newcomer runs what init told them."""
        return subprocess.run([POLICYBOT, *args], cwd=work, capture_output=True, text=True,
                              timeout=300, env=env)

    made = cli("init", str(repo / "people ops"))
    assert made.returncode == 0, made.stderr
    assert "2 document(s) to index (1 markdown, 1 text)" in made.stdout
    assert "leave.md  (markdown)" in made.stdout
    assert "policybot --config policybot.toml sync" in made.stdout
    config = work / "policybot.toml"
    source = load_settings(config).sources[0]
    assert source.type == "directory" and source.name == "people-ops"
    assert source.url == "https://github.com/acme/handbook/blob/main/people%20ops/{path}"

    synced = cli("--config", "policybot.toml", "sync")
    assert synced.returncode == 0, synced.stderr
    asked = cli("--config", "policybot.toml", "ask", "how many days of annual leave do i get?")
    assert asked.returncode == 0, asked.stderr
    assert "25 days" in asked.stdout
    assert ("https://github.com/acme/handbook/blob/main/people%20ops/leave.md"
            in asked.stdout)


def test_a_repository_url_becomes_a_git_source_on_its_default_branch(tmp_path: Path) -> None:
    repo = _repo(tmp_path, branch="trunk")
    bare = tmp_path / "handbook.git"
    _git(tmp_path, "clone", "-q", "--bare", str(repo), str(bare))
    out = tmp_path / "p.toml"
    made = run("init", bare.as_uri(), "--output", str(out),
               env={"POLICYBOT_HOME": str(tmp_path / "home")})
    assert made.returncode == 0, made.stderr
    source = load_settings(out).sources[0]
    assert (source.type, source.repo, source.branch, source.name) == (
        "git", bare.as_uri(), "trunk", "handbook")
    assert "people ops/leave.md  (markdown)" in made.stdout
    assert "3 document(s)" in made.stdout


def test_an_unreachable_repository_is_a_clear_error_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "p.toml"
    made = run("init", (tmp_path / "nowhere.git").as_uri(), "--output", str(out))
    assert made.returncode == 1
    assert "git ls-remote failed" in made.stderr
    assert not out.exists()


class _Site(BaseHTTPRequestHandler):
    pages: dict[str, tuple[str, bytes]] = {}

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        ctype, body = self.pages.get(self.path, ("text/plain", b"not found"))
        self.send_response(200 if self.path in self.pages else 404)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def site() -> Iterator[tuple[str, dict[str, tuple[str, bytes]]]]:
    pages: dict[str, tuple[str, bytes]] = {}
    handler = type("Handler", (_Site,), {"pages": pages})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", pages
    finally:
        server.shutdown()
        server.server_close()


def test_a_site_is_indexed_from_the_sitemap_its_robots_txt_names(
        tmp_path: Path, site: tuple[str, dict[str, tuple[str, bytes]]]) -> None:
    base, pages = site
    pages["/"] = ("text/html", b"<h1>Acme handbook</h1>")
    pages["/robots.txt"] = ("text/plain", f"User-agent: *\nSitemap: {base}/map.xml\n".encode())
    locs = "".join(f"<url><loc>{base}/policies/{p}.html</loc></url>"
                   for p in ("leave", "travel"))
    pages["/map.xml"] = ("application/xml", (
        '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"{locs}</urlset>").encode())
    out = tmp_path / "p.toml"
    made = run("init", f"{base}/", "--output", str(out), "--allow-private-network")
    assert made.returncode == 0, made.stderr
    source = load_settings(out).sources[0]
    assert source.type == "web" and source.sitemap == f"{base}/map.xml"
    assert source.allow_private_network is True
    assert "2 document(s) to index" in made.stdout and "policies/travel.html" in made.stdout


def test_a_site_without_a_sitemap_indexes_the_page_and_says_so(
        tmp_path: Path, site: tuple[str, dict[str, tuple[str, bytes]]]) -> None:
    base, pages = site
    pages["/handbook"] = ("text/html", b"<h1>Handbook</h1><p>Leave is 25 days.</p>")
    out = tmp_path / "p.toml"
    made = run("init", f"{base}/handbook", "--output", str(out), "--allow-private-network")
    assert made.returncode == 0, made.stderr
    assert load_settings(out).sources[0].urls == [f"{base}/handbook"]
    assert "no sitemap found" in made.stdout
    assert "# no sitemap found" in out.read_text()


def test_a_site_on_a_private_address_is_refused_unless_allowed(
        tmp_path: Path, site: tuple[str, dict[str, tuple[str, bytes]]]) -> None:
    base, pages = site
    pages["/handbook"] = ("text/html", b"<h1>Handbook</h1>")
    made = run("init", f"{base}/handbook", "--output", str(tmp_path / "p.toml"))
    assert made.returncode == 1
    assert "private" in made.stderr.lower() or "loopback" in made.stderr.lower()


def test_init_never_overwrites_a_configuration_unless_forced(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    write(docs, "leave.md", LEAVE)
    out = tmp_path / "policybot.toml"
    out.write_text("# mine\n")
    refused = run("init", str(docs), "--output", str(out))
    assert refused.returncode == 2 and "already exists" in refused.stderr
    assert out.read_text() == "# mine\n"
    forced = run("init", str(docs), "--output", str(out), "--force")
    assert forced.returncode == 0, forced.stderr
    assert load_settings(out).sources[0].path == docs.resolve()
    assert "citations name the file path" in forced.stdout  # no git remote to link to


def test_a_target_that_is_nothing_known_says_what_is_accepted(tmp_path: Path) -> None:
    made = run("init", str(tmp_path / "no-such-folder"), "--output", str(tmp_path / "p.toml"))
    assert made.returncode == 2
    assert "neither an existing folder nor a git or web URL" in made.stderr


def test_sync_without_sources_tells_how_to_make_a_configuration(tmp_path: Path) -> None:
    result = run("sync", env={"POLICYBOT_HOME": str(tmp_path / "home")})
    assert result.returncode == 2
    assert "policybot init" in result.stderr


@pytest.mark.parametrize(("remote", "expected"), [
    ("git@github.com:acme/handbook.git", "https://github.com/acme/handbook/blob/main/{path}"),
    ("https://gitlab.com/acme/handbook.git",
     "https://gitlab.com/acme/handbook/-/blob/main/{path}"),
    ("ssh://git@gitea.acme.io:2222/hr/handbook.git",
     "https://gitea.acme.io/hr/handbook/src/branch/main/{path}"),
    ("https://codeberg.org/acme/handbook", "https://codeberg.org/acme/handbook/src/branch/main/{path}"),
    ("https://bitbucket.org/acme/handbook.git",
     "https://bitbucket.org/acme/handbook/src/main/{path}"),
])
def test_citation_links_follow_each_forges_file_view(remote: str, expected: str) -> None:
    template, note = forge_template(remote, "main")
    assert (template, note) == (expected, "")


def test_an_unknown_forge_gets_a_link_and_a_note_to_check_it() -> None:
    template, note = forge_template("https://git.acme.io/hr/handbook.git", "main", "policies")
    assert template == "https://git.acme.io/hr/handbook/blob/main/policies/{path}"
    assert "check that `url` opens a file" in note


def test_a_source_is_named_after_what_it_is(tmp_path: Path) -> None:
    assert source_name(str(tmp_path / "people ops"), "directory") == "people-ops"
    assert source_name("git@gitlab.com:acme/handbook.git", "git") == "handbook"
    # a site's page two folders deep is still named after the site, as its kind says
    url = "https://handbook.acme.com/policies/leave"
    assert source_name(url, kind_of(url)) == "handbook.acme.com"


def test_targets_are_told_apart(tmp_path: Path) -> None:
    assert kind_of(str(tmp_path)) == "directory"
    assert kind_of("https://github.com/acme/handbook") == "git"
    assert kind_of("git@gitlab.com:acme/handbook.git") == "git"
    assert kind_of("https://handbook.acme.com/") == "web"
    assert kind_of("https://github.com/acme/handbook/blob/main/README.md") == "web"


HEAVY = ("numpy", "lancedb", "torch", "onnxruntime", "sqlalchemy", "transformers")


def test_help_and_init_load_no_model_index_or_database_library(tmp_path: Path) -> None:
    """A newcomer's first commands start fast: the model, index and database libraries
    (seconds to import on a small machine) load only for the commands that use them."""
    docs = tmp_path / "docs"
    write(docs, "leave.md", LEAVE)
    out = str(tmp_path / "p.toml")
    code = ("import sys\nfrom bot.cli import main\n"
            f"for args in (['--help'], ['init', {str(docs)!r}, '-o', {out!r}]):\n"
            "    try:\n        main(args)\n    except SystemExit as e:\n"
            "        assert not e.code, e.code\n"
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
