"""A throwaway PostgreSQL cluster for the admin app's tests: Debian's server
binaries, a temp data dir, a free loopback port, trust auth, no fsync.

PostgreSQL refuses to run as root, so when the tests run as root the cluster is run
as the ``postgres`` system user (``runuser``) in a directory chowned to it. When the
server cannot be started, :func:`start` raises :class:`PostgresUnavailable` with
the reason, and the PostgreSQL-parametrized tests fail with it (never skip).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tests.servers import free_port

INSTALL_HINT = (
    "PostgreSQL server binaries are missing: install Debian's server with "
    "`apt-get install -y --no-install-recommends postgresql` (make test does this)"
)


class PostgresUnavailable(RuntimeError):
    pass


@dataclass
class PostgresServer:
    bindir: Path
    datadir: Path
    port: int
    run_as: str | None
    proc: subprocess.Popen[bytes]
    log_path: Path

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def _postmaster_pid(self) -> int | None:
        try:
            return int((self.datadir / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def stop(self) -> None:
        """Fast shutdown. The signal goes to the postmaster itself: ``runuser`` in
        between does not pass every signal on."""
        if self.proc.poll() is None:
            pid = self._postmaster_pid()
            try:
                if pid:
                    os.kill(pid, signal.SIGINT)
                else:
                    self.proc.terminate()
                self.proc.wait(timeout=15)
            except (subprocess.TimeoutExpired, ProcessLookupError):
                if pid:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.datadir.parent, ignore_errors=True)


def find_bindir() -> Path:
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    if not candidates:
        raise PostgresUnavailable(INSTALL_HINT)
    return Path(candidates[-1]).parent


def _cmd(run_as: str | None, args: list[str]) -> list[str]:
    return ["runuser", "-u", run_as, "--", *args] if run_as else args


def start(timeout: float = 30.0) -> PostgresServer:
    bindir = find_bindir()
    run_as = None
    if os.geteuid() == 0:
        try:
            pw = pwd.getpwnam("postgres")
        except KeyError:
            raise PostgresUnavailable(
                "running as root and there is no 'postgres' system user to run the server as"
            ) from None
        if shutil.which("runuser") is None:
            raise PostgresUnavailable("running as root and `runuser` is missing")
        run_as = "postgres"
    root = Path(tempfile.mkdtemp(prefix="upwatch-pg-"))
    datadir = root / "data"
    if run_as:
        os.chmod(root, 0o700)
        os.chown(root, pw.pw_uid, pw.pw_gid)
    init = subprocess.run(
        _cmd(
            run_as,
            [
                str(bindir / "initdb"),
                "-D",
                str(datadir),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--no-sync",
                "--no-instructions",
            ],
        ),
        capture_output=True,
        text=True,
    )
    if init.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        raise PostgresUnavailable(f"initdb failed: {init.stderr.strip() or init.stdout.strip()}")
    port = free_port()
    log_path = root / "postgres.log"
    log = open(log_path, "wb")  # noqa: SIM115 - the server writes to it until stopped
    if run_as:
        os.chown(log_path, pw.pw_uid, pw.pw_gid)
    proc = subprocess.Popen(
        _cmd(
            run_as,
            [
                str(bindir / "postgres"),
                "-D",
                str(datadir),
                "-p",
                str(port),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                f"unix_socket_directories={root}",
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "max_connections=50",
            ],
        ),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()  # the server holds its own descriptor
    server = PostgresServer(bindir, datadir, port, run_as, proc, log_path)
    deadline = time.monotonic() + timeout
    while True:
        ready = subprocess.run(
            [str(bindir / "pg_isready"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres"],
            capture_output=True,
        )
        if ready.returncode == 0:
            return server
        if proc.poll() is not None or time.monotonic() > deadline:
            text = log_path.read_text(errors="replace")
            server.stop()
            raise PostgresUnavailable(f"postgres did not start:\n{text[-2000:]}")
        time.sleep(0.1)
