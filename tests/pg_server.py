"""A real PostgreSQL server for the tests: ``initdb`` + ``pg_ctl`` on a temp dir, a free port.

The machine's own PostgreSQL binaries (Debian's ``postgresql`` package; ``.ci/run`` installs
it when ``initdb`` is missing) run one throwaway cluster per test session. PostgreSQL
refuses to run as root, so under root the server runs as the ``postgres`` system user.

``postgres_url`` (a session fixture, registered in ``tests/conftest.py``) is a SQLAlchemy
URL (``postgresql+psycopg://…``) to a fresh database; :func:`create_database` makes another
one on the same server. Tests that need PostgreSQL skip, with the reason, only when the
server truly cannot start here (no binaries, no psycopg, no unprivileged user); with
``POLICYBOT_REQUIRE_POSTGRES=1`` (CI) they fail instead, so a broken install never passes
as a skip.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

USER = "policybot"
START_TIMEOUT_S = 60


def _bin_dir() -> Path | None:
    """The directory of ``initdb``: on PATH, else the newest /usr/lib/postgresql/N/bin."""
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit()
                        else 0)
    return Path(candidates[-1]).parent if candidates else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    """One cluster: started by :meth:`start`, removed with its files by :meth:`stop`."""

    def __init__(self) -> None:
        self.bin: Path | None = None
        self.root: Path | None = None
        self.port = 0
        self.run_as: list[str] = []

    @property
    def data(self) -> Path:
        assert self.root is not None
        return self.root / "data"

    def _run(self, *args: str, timeout: float = START_TIMEOUT_S) -> None:
        done = subprocess.run([*self.run_as, *args], capture_output=True, text=True,
                              timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"{Path(args[0]).name} failed ({done.returncode}): "
                               f"{(done.stderr or done.stdout).strip()[-2000:]}")

    def start(self) -> str:
        """Start the server; returns the reason it cannot, or "" once it accepts queries."""
        self.bin = _bin_dir()
        if self.bin is None:
            return "PostgreSQL is not installed (no initdb on PATH or in /usr/lib/postgresql)"
        try:
            import psycopg  # noqa: F401
        except ImportError:
            return "psycopg is not installed (pip install 'policybot[postgres]')"
        self.root = Path(tempfile.mkdtemp(prefix="policybot-pg-"))
        if os.geteuid() == 0:  # postgres will not run as root: run it as an ordinary user
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                return "running as root and there is no 'postgres' user to run the server as"
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
            runuser = shutil.which("runuser")
            self.run_as = [runuser, "-u", "postgres", "--"] if runuser else \
                ["su", "postgres", "-s", "/bin/sh", "-c", "exec \"$0\" \"$@\""]
        self.port = _free_port()
        try:
            self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", USER,
                      "--auth=trust", "--encoding=UTF8", "--no-sync")
            options = (f"-c listen_addresses=127.0.0.1 -p {self.port} "
                       f"-c unix_socket_directories={self.root} -c fsync=off "
                       "-c synchronous_commit=off -c full_page_writes=off "
                       "-c max_connections=200")
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-w", "-t",
                      str(START_TIMEOUT_S), "-o", options, "-l", str(self.root / "server.log"),
                      "start")
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
            self.stop()
            return f"PostgreSQL did not start: {exc}"
        return ""

    def stop(self) -> None:
        if self.root is None:
            return
        if self.bin is not None and (self.data / "postmaster.pid").exists():
            with contextlib.suppress(RuntimeError, OSError, subprocess.TimeoutExpired):
                self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
                          "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)
        self.root = None

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{USER}@127.0.0.1:{self.port}/{database}"


def create_database(url: str) -> str:
    """A URL to a new, empty database on the server that ``url`` points at."""
    import psycopg
    from sqlalchemy.engine import make_url

    base = make_url(url)
    name = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(host=base.host, port=base.port, user=base.username,
                         dbname="postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return base.set(database=name).render_as_string(hide_password=False)


_skipped: list[str] = []  # why the server could not start, for the run's summary


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say why the PostgreSQL tests were skipped even under ``-q`` (skips are quiet)."""
    for reason in _skipped:
        terminalreporter.write_line(f"PostgreSQL tests skipped: {reason}", yellow=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    server = PostgresServer()
    reason = server.start()
    if reason:
        if os.environ.get("POLICYBOT_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"POLICYBOT_REQUIRE_POSTGRES=1 but {reason}")
        _skipped.append(reason)
        pytest.skip(reason)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_url(postgres_server: PostgresServer) -> str:
    """A SQLAlchemy URL to a fresh database on the session's PostgreSQL server."""
    return create_database(postgres_server.url("postgres"))
