"""A real PostgreSQL server for the tests, started from the machine's own binaries.

``initdb`` + ``pg_ctl`` on a temporary directory and a free port on 127.0.0.1, once per
test session (session fixture ``postgres_url``: a SQLAlchemy URL to a fresh database), and
:func:`fresh_database` for another empty database on the same server. PostgreSQL refuses
to run as root, so as root the server runs as the ``postgres`` user (else ``nobody``).

Tests that need it skip, with the reason, only when PostgreSQL cannot be started here (no
binaries, no psycopg); with ``POLICYBOT_REQUIRE_POSTGRES=1`` (CI) they fail instead, so a
broken install never passes as a skip.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

_counter = itertools.count(1)
_counter_lock = threading.Lock()


class PostgresUnavailable(RuntimeError):
    """PostgreSQL cannot be started on this machine (the message says why)."""


def find_bindir() -> Path:
    """Where ``initdb`` and ``pg_ctl`` are: $POLICYBOT_PG_BIN, the PATH, or Debian's
    versioned directories (newest first)."""
    candidates = [os.environ.get("POLICYBOT_PG_BIN", "")]
    on_path = shutil.which("initdb")
    candidates.append(str(Path(on_path).parent) if on_path else "")
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                         key=lambda p: int(Path(p).parent.name)
                         if Path(p).parent.name.isdigit() else 0, reverse=True)
    for candidate in filter(None, candidates):
        if (Path(candidate) / "initdb").is_file() and (Path(candidate) / "pg_ctl").is_file():
            return Path(candidate)
    raise PostgresUnavailable("no PostgreSQL server binaries (initdb, pg_ctl) on this "
                              "machine: apt-get install postgresql")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    """One throwaway cluster; ``stop`` removes it."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="policybot-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.user = self._run_as()

    @staticmethod
    def _run_as() -> str | None:
        if os.geteuid() != 0:
            return None
        for name in ("postgres", "nobody"):
            try:
                pwd.getpwnam(name)
            except KeyError:
                continue
            return name
        raise PostgresUnavailable("running as root and no unprivileged user (postgres, "
                                  "nobody) to run PostgreSQL as")

    def _cmd(self, *args: str) -> list[str]:
        if self.user is None:
            return list(args)
        runuser = shutil.which("runuser")
        if runuser is None:
            raise PostgresUnavailable("running as root without runuser to drop privileges")
        return [runuser, "-u", self.user, "--", *args]

    def start(self) -> None:
        if self.user is not None:
            info = pwd.getpwnam(self.user)
            os.chown(self.root, info.pw_uid, info.pw_gid)
        subprocess.run(self._cmd(str(self.bindir / "initdb"), "-D", str(self.data),
                                 "-U", "postgres", "--auth=trust", "-E", "UTF8",
                                 "--no-sync", "--no-instructions"),
                       check=True, capture_output=True, timeout=120)
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                   "-c max_connections=200")
        proc = subprocess.run(self._cmd(str(self.bindir / "pg_ctl"), "-D", str(self.data),
                                        "-o", options, "-l", str(self.root / "server.log"),
                                        "-w", "-t", "60", "start"),
                              capture_output=True, text=True, timeout=90)
        if proc.returncode != 0:
            log = (self.root / "server.log")
            raise PostgresUnavailable(f"pg_ctl start failed: {proc.stderr.strip()} "
                                      f"{log.read_text() if log.exists() else ''}")

    def stop(self) -> None:
        subprocess.run(self._cmd(str(self.bindir / "pg_ctl"), "-D", str(self.data),
                                 "-m", "immediate", "-w", "stop"),
                       capture_output=True, timeout=60)
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"


def fresh_database(url: str) -> str:
    """Create an empty database on the server ``url`` points at; its SQLAlchemy URL."""
    import psycopg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    with _counter_lock:
        name = f"policybot_test_{os.getpid()}_{next(_counter)}"
    with psycopg.connect(host=parsed.host, port=parsed.port, user=parsed.username,
                         password=parsed.password, dbname="postgres",
                         autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return parsed.set(database=name).render_as_string(hide_password=False)


def start_server() -> PostgresServer:
    """A started server, or PostgresUnavailable saying why not."""
    try:
        import psycopg  # noqa: F401
    except ImportError as exc:
        raise PostgresUnavailable(f"psycopg is not installed ({exc}): "
                                  "pip install -e '.[postgres]'") from None
    server = PostgresServer(find_bindir())
    try:
        server.start()
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        if isinstance(detail, bytes):
            detail = detail.decode(errors="replace")
        server.stop()
        raise PostgresUnavailable(f"PostgreSQL did not start: {exc} {detail}") from exc
    except PostgresUnavailable:
        server.stop()
        raise
    return server


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A SQLAlchemy URL (``postgresql+psycopg://``) to a fresh database on a PostgreSQL
    server started for this session; skips, with the reason, where none can start."""
    try:
        server = start_server()
    except PostgresUnavailable as exc:
        if os.environ.get("POLICYBOT_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required here but: {exc}")
        print(f"\nskipping PostgreSQL tests: {exc}")
        pytest.skip(f"PostgreSQL unavailable: {exc}")
    try:
        yield fresh_database(server.url())
    finally:
        server.stop()
