"""The agent as an operator runs it: kill -9, SIGTERM, a rejected token, /metrics.

`mometrics-agent run` runs as a subprocess against the real gateway, except
for the local HTTP port test, which looks at an in-process agent.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import httpx
import pytest

from mometrics_agent.spool import Spool
from tests.agent.runtime.harness import (
    AgentProcess,
    InProcessAgent,
    InProcessGateway,
    Target,
    agent_env,
    agent_settings,
    free_port,
    seed,
    spooled_slots,
    stored_results,
    stored_slots,
    wait_until,
)

pytestmark = pytest.mark.e2e

EXIT_FATAL = 3


async def test_kill_9_loses_and_duplicates_nothing(
    gateway: InProcessGateway, target: Target, database_url: str, tmp_path: Path
) -> None:
    token, monitor_ids = await seed([(target.url(), 1, 2.0) for _ in range(3)])
    await gateway.start()
    spool_path = tmp_path / "spool.sqlite3"
    agent = AgentProcess(tmp_path, agent_env(gateway, token, spool_path))
    agent.start()
    try:

        async def first_results() -> bool:
            rows = await stored_results(database_url)
            return {row["monitor_id"] for row in rows} == set(monitor_ids)

        await wait_until(first_results, 20, "results of all three monitors")

        # Given results pile up in the spool while the gateway is away
        await gateway.stop()

        async def backlog() -> bool:
            return len(spooled_slots(spool_path)) >= 9

        await wait_until(backlog, 20, "results to pile up in the spool")

        # When the agent is killed without any chance to clean up
        agent.kill()
        spooled = spooled_slots(spool_path)
        assert len(spooled) >= 9

        # Then a restarted agent sends every spooled result to the gateway
        await gateway.start()
        agent.start()

        async def replayed() -> bool:
            stored = set(stored_slots(await stored_results(database_url)))
            return spooled <= stored and not spooled_slots(spool_path) & spooled

        await wait_until(replayed, 30, "the spooled results to be stored")
        agent.terminate()
        assert await agent.wait(20) == 0
    finally:
        agent.cleanup()

    slots = stored_slots(await stored_results(database_url))
    assert len(slots) == len(set(slots))
    # Every slot from the first result up to the kill is there.
    last_spooled = max(slot for _, slot in spooled)
    for monitor_id in monitor_ids:
        mine = sorted(slot for owner, slot in slots if owner == monitor_id)
        before_kill = [slot for slot in mine if slot <= last_spooled]
        expected = list(range(before_kill[0], before_kill[-1] + 1, 1_000_000))
        assert before_kill == expected, f"monitor {monitor_id} has gaps"


async def test_rejected_token_exits_3(
    gateway: InProcessGateway, target: Target, tmp_path: Path
) -> None:
    token, _ = await seed([(target.url(), 1, 2.0)])
    await gateway.start()
    prefix, _, _secret = token.rpartition("_")
    wrong_token = f"{prefix}_{'x' * 32}"
    agent = AgentProcess(tmp_path, agent_env(gateway, wrong_token, tmp_path / "spool.sqlite3"))
    agent.start()
    try:
        code = await agent.wait(20)
    finally:
        agent.cleanup()

    assert code == EXIT_FATAL
    errors = [line for line in agent.log().splitlines() if " ERROR " in line]
    assert len(errors) == 1, agent.log()
    assert "agent token rejected" in errors[0]
    assert "UNAUTHENTICATED" in errors[0]
    assert "Traceback" not in agent.log()


async def test_sigterm_finishes_check_and_flushes(
    gateway: InProcessGateway, database_url: str, tmp_path: Path
) -> None:
    slow = Target(delay_s=2.0)
    await slow.start()
    token, [monitor_id] = await seed([(slow.url("/slow"), 5, 4.0)])
    await gateway.start()
    spool_path = tmp_path / "spool.sqlite3"
    agent = AgentProcess(
        tmp_path,
        agent_env(gateway, token, spool_path, MOMETRICS_AGENT_SHUTDOWN_GRACE_S="10"),
    )
    agent.start()
    try:

        async def check_in_flight() -> bool:
            return slow.active == 1

        await wait_until(check_in_flight, 20, "a check in flight")
        requests_at_signal = slow.requests

        # When SIGTERM arrives while the target is still answering
        agent.terminate()
        signalled = time.monotonic()
        code = await agent.wait(20)
        took_s = time.monotonic() - signalled
    finally:
        agent.cleanup()
        await slow.stop()

    # Then the check finished, its result reached the gateway and the
    # agent exited within the grace deadline.
    assert code == 0, agent.log()
    assert took_s < 10 + 5
    assert slow.requests == requests_at_signal
    rows = await stored_results(database_url)
    assert [row["monitor_id"] for row in rows] == [monitor_id] * requests_at_signal
    assert all(row["status"] == 1 for row in rows)
    spool = Spool(spool_path, max_results=1000)
    assert spool.size == 0
    spool.close()
    assert "agent stopped" in agent.log()


async def test_healthz_and_metrics(
    gateway: InProcessGateway, target: Target, tmp_path: Path
) -> None:
    closed_port = free_port()
    token, _ = await seed(
        [
            (target.url(), 1, 2.0),
            (f"http://127.0.0.1:{closed_port}/", 1, 2.0),
            (target.url("/slow"), 1, 3.0),
        ]
    )
    await gateway.start()
    port = free_port()
    agent = InProcessAgent(
        agent_settings(gateway, token, tmp_path / "spool.sqlite3", agent_metrics_port=port)
    )
    agent.start()
    try:

        async def overrun_seen() -> bool:
            return agent.agent.scheduler.overruns >= 1 and agent.agent.client.connected

        await wait_until(overrun_seen, 20, "an overrun")
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:
            health = await http.get("/healthz")
            page = await http.get("/metrics")
    finally:
        assert await agent.stop() == 0

    assert health.status_code == 200
    body = json.loads(health.text)
    assert body["status"] == "ok"
    assert body["stream_connected"] is True
    assert isinstance(body["spool_results"], int)
    assert page.status_code == 200
    text = page.text
    assert metric(text, 'mometrics_agent_checks_total{kind="http",outcome="up"}') >= 1
    assert metric(text, 'mometrics_agent_checks_total{kind="http",outcome="down"}') >= 1
    assert metric(text, 'mometrics_agent_failures_total{error_class="connect"}') >= 1
    assert metric(text, "mometrics_agent_overruns_total") >= 1
    assert metric(text, "mometrics_agent_stream_connected") == 1
    assert metric(text, "mometrics_agent_spool_results") >= 0
    assert metric(text, "mometrics_agent_assigned_monitors") == 3


def metric(text: str, name: str) -> float:
    """Return the value of one sample in a Prometheus text page."""
    match = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    assert match is not None, f"{name} not found in /metrics"
    return float(match.group(1))


def child_pids(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(child) for child in children.split()]


def is_running(pid: int) -> bool:
    """Return whether `pid` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


async def test_workers_store_results_and_stop_on_sigterm(
    gateway: InProcessGateway, target: Target, database_url: str, tmp_path: Path
) -> None:
    token, monitor_ids = await seed([(target.url(), 1, 2.0) for _ in range(4)])
    await gateway.start()
    agent = AgentProcess(
        tmp_path,
        agent_env(gateway, token, tmp_path / "spool.sqlite3", MOMETRICS_AGENT_WORKERS="2"),
    )
    agent.start()
    assert agent.process is not None
    try:

        async def all_monitors_stored() -> bool:
            rows = await stored_results(database_url)
            return {row["monitor_id"] for row in rows} == set(monitor_ids)

        await wait_until(all_monitors_stored, 30, "results of all four monitors")
        workers = child_pids(agent.process.pid)
        assert len(workers) == 2

        # When the agent gets SIGTERM
        agent.terminate()
        code = await agent.wait(30)
    finally:
        agent.cleanup()

    # Then it and both workers exit cleanly, and nothing is left in the spool
    assert code == 0, agent.log()
    assert not any(is_running(pid) for pid in workers)
    log = agent.log()
    assert log.count("worker started") == 2
    assert log.count("worker stopped") == 2
    assert "worker exited unexpectedly" not in log
    assert "Traceback" not in log
    spool = Spool(tmp_path / "spool.sqlite3", max_results=1000)
    assert spool.size == 0
    spool.close()


async def test_workers_exit_when_agent_is_killed(
    gateway: InProcessGateway, target: Target, tmp_path: Path
) -> None:
    token, _ = await seed([(target.url(), 1, 2.0)])
    await gateway.start()
    agent = AgentProcess(
        tmp_path,
        agent_env(gateway, token, tmp_path / "spool.sqlite3", MOMETRICS_AGENT_WORKERS="2"),
    )
    agent.start()
    assert agent.process is not None
    try:

        async def workers_started() -> bool:
            return agent.log().count("worker started") == 2

        await wait_until(workers_started, 30, "two workers")
        workers = child_pids(agent.process.pid)

        # When the agent process dies without a chance to stop them
        agent.kill()

        # Then the workers notice the closed socket and exit
        async def workers_gone() -> bool:
            return not any(is_running(pid) for pid in workers)

        await wait_until(workers_gone, 15, "the workers to exit")
    finally:
        agent.cleanup()
