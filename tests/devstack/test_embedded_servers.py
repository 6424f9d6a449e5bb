"""Tests that start, stop, restart and kill real embedded PostgreSQL and Valkey."""

from __future__ import annotations

import asyncio
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import asyncpg
import psutil
import pytest
import redis

from mometrics_control.devstack.embedded import (
    EmbeddedPostgres,
    EmbeddedRedis,
    EmbeddedServerError,
    local_service_available,
    resolve_services,
)
from mometrics_control.devstack.postgres import postgres_os_user

pytestmark = [pytest.mark.embedded, pytest.mark.timeout(60)]

POSTGRES_URL_PATTERN = re.compile(r"postgresql://postgres@127\.0\.0\.1:(\d+)/mometrics")
REDIS_URL_PATTERN = re.compile(r"redis://127\.0\.0\.1:(\d+)/0")


def fetch_value(url: str, query: str, *args: object) -> object:
    async def run() -> object:
        connection = await asyncpg.connect(url)
        try:
            return await connection.fetchval(query, *args)
        finally:
            await connection.close()

    return asyncio.run(run())


def execute(url: str, statement: str, *args: object) -> None:
    async def run() -> None:
        connection = await asyncpg.connect(url)
        try:
            await connection.execute(statement, *args)
        finally:
            await connection.close()

    asyncio.run(run())


def redis_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=5)


def start_module(data_dir: Path) -> tuple[subprocess.Popen[str], str, str]:
    """Run the module's entry in a subprocess and return it with the URLs it prints."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mometrics_control.devstack.embedded",
            "--data-dir",
            str(data_dir),
            "--postgres-port",
            "0",
            "--redis-port",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    urls: dict[str, str] = {}
    for line in process.stdout:
        name, _, value = line.strip().partition("=")
        urls[name] = value
        if len(urls) == 2:
            break
    assert set(urls) == {"MOMETRICS_DATABASE_URL", "MOMETRICS_REDIS_URL"}
    return process, urls["MOMETRICS_DATABASE_URL"], urls["MOMETRICS_REDIS_URL"]


def read_pid(path: Path) -> int:
    return int(path.read_text().partition("\n")[0])


def test_postgres_start_query_stop(data_dir: Path) -> None:
    server = EmbeddedPostgres(port=0)

    url = server.start(data_dir)

    match = POSTGRES_URL_PATTERN.fullmatch(url)
    assert match is not None, url
    assert int(match.group(1)) == server.port
    assert fetch_value(url, "SELECT current_database()") == "mometrics"
    assert (data_dir / "postgres" / "PG_VERSION").exists()

    server.stop()

    assert not local_service_available("127.0.0.1", int(match.group(1)))
    assert not (data_dir / "postgres" / "postmaster.pid").exists()


def test_redis_set_get_stop(data_dir: Path) -> None:
    server = EmbeddedRedis(port=0)

    url = server.start(data_dir)

    match = REDIS_URL_PATTERN.fullmatch(url)
    assert match is not None, url
    client = redis_client(url)
    client.set("greeting", "hello")
    assert client.get("greeting") == b"hello"
    client.close()

    server.stop()

    assert not local_service_available("127.0.0.1", int(match.group(1)))


def test_restart_keeps_data(data_dir: Path) -> None:
    with EmbeddedPostgres(port=0) as postgres, EmbeddedRedis(port=0) as valkey:
        database_url = postgres.start(data_dir)
        redis_url = valkey.start(data_dir)
        execute(database_url, "CREATE TABLE notes (body text)")
        execute(database_url, "INSERT INTO notes VALUES ($1)", "first run")
        client = redis_client(redis_url)
        client.set("run", "first")
        client.close()
    assert not postgres.is_running
    assert not valkey.is_running

    with EmbeddedPostgres(port=0) as postgres, EmbeddedRedis(port=0) as valkey:
        database_url = postgres.start(data_dir)
        redis_url = valkey.start(data_dir)

        assert fetch_value(database_url, "SELECT body FROM notes") == "first run"
        client = redis_client(redis_url)
        assert client.get("run") == b"first"
        client.close()


def test_start_after_sigkill(data_dir: Path) -> None:
    # Given a previous run that was killed with SIGKILL, leaving both servers up
    process, database_url, redis_url = start_module(data_dir)
    execute(database_url, "CREATE TABLE notes (body text)")
    execute(database_url, "INSERT INTO notes VALUES ($1)", "before kill")
    client = redis_client(redis_url)
    client.set("state", "before kill")
    client.close()
    old_postgres_pid = read_pid(data_dir / "postgres" / "postmaster.pid")
    old_valkey_pid = read_pid(data_dir / "redis" / "valkey.pid")

    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)

    assert psutil.pid_exists(old_postgres_pid)
    assert psutil.pid_exists(old_valkey_pid)
    assert (data_dir / "postgres.lock").exists()

    # When the next run starts on the same data dir
    with EmbeddedPostgres(port=0) as postgres, EmbeddedRedis(port=0) as valkey:
        database_url = postgres.start(data_dir)
        redis_url = valkey.start(data_dir)

        # Then the leftover servers are gone and the data is still there
        assert not psutil.pid_exists(old_postgres_pid)
        assert not psutil.pid_exists(old_valkey_pid)
        assert postgres.pid != old_postgres_pid
        assert valkey.pid != old_valkey_pid
        assert fetch_value(database_url, "SELECT body FROM notes") == "before kill"
        client = redis_client(redis_url)
        assert client.get("state") == b"before kill"
        client.close()


def test_module_stops_on_sigterm(data_dir: Path) -> None:
    process, database_url, redis_url = start_module(data_dir)
    postgres_port = int(database_url.rsplit(":", 1)[1].split("/")[0])
    redis_port = int(redis_url.rsplit(":", 1)[1].split("/")[0])
    assert local_service_available("127.0.0.1", postgres_port)
    assert local_service_available("127.0.0.1", redis_port)

    process.send_signal(signal.SIGTERM)

    assert process.wait(timeout=30) == 0
    assert not (data_dir / "postgres" / "postmaster.pid").exists()
    assert not (data_dir / "redis" / "valkey.pid").exists()
    assert not local_service_available("127.0.0.1", postgres_port)
    assert not local_service_available("127.0.0.1", redis_port)


def test_start_ignores_stale_pid_files(data_dir: Path) -> None:
    with EmbeddedPostgres(port=0) as postgres, EmbeddedRedis(port=0) as valkey:
        postgres.start(data_dir)
        valkey.start(data_dir)
    # A live process that is no server takes the old pid, as after pid reuse.
    # It runs under the account PostgreSQL runs as, because PostgreSQL itself
    # ignores a pid file whose process it may not signal.
    os_user = postgres_os_user()
    impostor = subprocess.Popen(
        ["sleep", "60"],
        user=os_user.pw_uid if os_user else None,
        group=os_user.pw_gid if os_user else None,
    )
    try:
        postmaster_pid = data_dir / "postgres" / "postmaster.pid"
        postmaster_pid.write_text(f"{impostor.pid}\n{data_dir / 'postgres'}\n")
        (data_dir / "redis" / "valkey.pid").write_text(f"{impostor.pid}\n")

        with EmbeddedPostgres(port=0) as postgres, EmbeddedRedis(port=0) as valkey:
            database_url = postgres.start(data_dir)
            redis_url = valkey.start(data_dir)

            assert impostor.poll() is None
            assert postgres.pid != impostor.pid
            assert valkey.pid != impostor.pid
            assert fetch_value(database_url, "SELECT 1") == 1
            client = redis_client(redis_url)
            assert client.ping()
            client.close()
    finally:
        impostor.kill()
        impostor.wait()


def test_second_start_on_data_dir_rejected(data_dir: Path) -> None:
    with EmbeddedPostgres(port=0) as first, EmbeddedRedis(port=0) as first_valkey:
        first.start(data_dir)
        first_valkey.start(data_dir)

        with pytest.raises(EmbeddedServerError, match=r"postgres\.lock is locked"):
            EmbeddedPostgres(port=0).start(data_dir)
        with pytest.raises(EmbeddedServerError, match=r"redis\.lock is locked"):
            EmbeddedRedis(port=0).start(data_dir)

        assert fetch_value(first.url, "SELECT 1") == 1


def test_taken_port_falls_back_to_free_port(data_dir: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        taken_port = listener.getsockname()[1]

        with EmbeddedPostgres(port=taken_port) as postgres:
            database_url = postgres.start(data_dir)

            assert postgres.port != taken_port
            assert fetch_value(database_url, "SELECT 1") == 1
        with EmbeddedRedis(port=taken_port) as valkey:
            redis_url = valkey.start(data_dir)

            assert valkey.port != taken_port
            client = redis_client(redis_url)
            assert client.ping()
            client.close()


def test_resolve_services_prefers_environment(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MOMETRICS_DATABASE_URL", "postgresql://app@127.0.0.1:5999/app")
    monkeypatch.setenv("MOMETRICS_REDIS_URL", "redis://127.0.0.1:6999/2")

    database_url, redis_url, cleanup = resolve_services(data_dir)

    assert database_url == "postgresql://app@127.0.0.1:5999/app"
    assert redis_url == "redis://127.0.0.1:6999/2"
    assert not (data_dir / "postgres").exists()
    assert not (data_dir / "redis").exists()
    cleanup()


def test_resolve_services_starts_missing_server(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MOMETRICS_DATABASE_URL", "postgresql://app@127.0.0.1:5999/app")
    monkeypatch.delenv("MOMETRICS_REDIS_URL", raising=False)

    database_url, redis_url, cleanup = resolve_services(data_dir, redis_port=0)
    try:
        assert database_url == "postgresql://app@127.0.0.1:5999/app"
        assert REDIS_URL_PATTERN.fullmatch(redis_url) is not None
        assert not (data_dir / "postgres").exists()
        client = redis_client(redis_url)
        assert client.ping()
        client.close()
    finally:
        cleanup()

    redis_port = int(redis_url.rsplit(":", 1)[1].split("/")[0])
    assert not local_service_available("127.0.0.1", redis_port)


def test_local_service_available_checks_port() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        open_port = listener.getsockname()[1]

        assert local_service_available("127.0.0.1", open_port)
        assert local_service_available("localhost", open_port)

    assert not local_service_available("127.0.0.1", open_port)


def test_local_service_available_rejects_remote_host() -> None:
    with pytest.raises(ValueError, match="loopback"):
        local_service_available("192.0.2.1", 5432)
