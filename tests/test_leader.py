"""Leader election on river_leader (spec/10-leadership.md), alone and in a fleet with River Go."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from datetime import timedelta
from typing import Any

import psycopg
import pytest

from riverboat._leader import Elector, ElectorConfig
from riverboat._queries import query
from riverboat._service import connect_each_time
from riverboat.errors import ValidationError
from tests import maintenance_support
from tests.helpers import await_until
from tests.maintenance_support import GoClient, NotificationRelay, leader_bids, record_leader_bids

# Fixtures shared by the leadership, maintenance and admin tests.
aconn = maintenance_support.aconn
river_url = maintenance_support.river_url

FAST = ElectorConfig(
    elect_interval=timedelta(milliseconds=200),
    elect_interval_jitter=timedelta(0),
    ttl_padding=timedelta(milliseconds=800),
)
# Followers with this config only take over through a `resigned` notification within a test.
SLOW = ElectorConfig(elect_interval=timedelta(seconds=60), elect_interval_jitter=timedelta(0))
CHANNEL = "public.river_leadership"


def elector(url: str, client_id: str, config: ElectorConfig = FAST) -> Elector:
    return Elector(connect=connect_each_time(url), client_id=client_id, config=config, stagger=False)


async def leader_row(conn: psycopg.AsyncConnection[Any]) -> dict[str, Any] | None:
    cur = await conn.execute("SELECT leader_id, elected_at, expires_at, name FROM river_leader")
    row = await cur.fetchone()
    if row is None:
        return None
    return dict(zip(["leader_id", "elected_at", "expires_at", "name"], row, strict=True))


async def leader_id(conn: psycopg.AsyncConnection[Any]) -> str | None:
    row = await leader_row(conn)
    return None if row is None else row["leader_id"]


async def test_first_candidate_wins_with_river_row_shape(river_url, aconn):
    first, second = elector(river_url, "py-one"), elector(river_url, "py-two")
    assert await first.run_once() is True
    assert await second.run_once() is False
    row = await leader_row(aconn)
    assert row is not None
    assert row["leader_id"] == "py-one"
    assert row["name"] == "default"
    assert row["expires_at"] - row["elected_at"] == FAST.ttl
    assert first.is_leader
    assert not second.is_leader


async def test_default_timings_match_river():
    config = ElectorConfig()
    assert config.elect_interval == timedelta(seconds=5)
    assert config.elect_interval_jitter == timedelta(seconds=1)
    assert config.ttl == timedelta(seconds=15)


async def test_renewal_extends_the_lease_of_the_same_term(river_url, aconn):
    first = elector(river_url, "py-one")
    await first.run_once()
    before = await leader_row(aconn)
    assert await first.run_once() is True
    after = await leader_row(aconn)
    assert after["elected_at"] == before["elected_at"]
    assert after["expires_at"] > before["expires_at"]


async def test_lost_lease_is_given_up(river_url, aconn):
    first = elector(river_url, "py-one")
    await first.run_once()
    await aconn.execute("UPDATE river_leader SET leader_id = 'someone-else'")
    assert await first.run_once() is False
    assert not first.is_leader
    assert await leader_id(aconn) == "someone-else"


async def test_expired_leader_is_replaced(river_url, aconn):
    await aconn.execute(
        "INSERT INTO river_leader (leader_id, elected_at, expires_at)"
        " VALUES ('gone', now() - interval '1 minute', now() - interval '1 second')"
    )
    candidate = elector(river_url, "py-one")
    assert await candidate.run_once() is True
    assert await leader_id(aconn) == "py-one"


async def test_unexpired_foreign_leader_is_respected(river_url, aconn):
    await aconn.execute(
        "INSERT INTO river_leader (leader_id, elected_at, expires_at)"
        " VALUES ('other', now(), now() + interval '1 minute')"
    )
    assert await elector(river_url, "py-one").run_once() is False
    assert await leader_id(aconn) == "other"


async def test_stop_resigns_and_follower_takes_over_on_notification(river_url, aconn):
    await record_leader_bids(aconn)
    leader, follower = elector(river_url, "py-leader", SLOW), elector(river_url, "py-follower", SLOW)
    changes: list[bool] = []

    async def record(is_leader: bool) -> None:
        changes.append(is_leader)

    leader.subscribe(record)
    async with NotificationRelay(river_url, CHANNEL) as relay:
        relay.callbacks.append(follower.handle_notification)
        await leader.start()
        await await_until(lambda: _is(leader_id(aconn), "py-leader"))
        await follower.start()
        await await_until(lambda: _lost_a_bid(aconn, follower, "py-follower"), what="the follower's first bid")
        await leader.stop()
        assert changes == [True, False]
        await await_until(lambda: _is(leader_id(aconn), "py-follower"), what="follower elected after resign")
        assert {"action": "resigned", "leader_id": "py-leader"} in relay.received
        await follower.stop()
    assert await leader_row(aconn) is None


async def _is(value: Any, expected: Any) -> bool:
    return bool(await value == expected)


async def _lost_a_bid(conn: psycopg.AsyncConnection[Any], follower: Elector, follower_id: str) -> bool:
    """The follower has made a bid, seen in river_leader itself (record_leader_bids), and is not leader."""
    return await leader_bids(conn, follower_id) > 0 and not follower.is_leader


async def test_request_resign_makes_the_leader_step_down(river_url, aconn):
    leader = elector(river_url, "py-leader", SLOW)
    async with NotificationRelay(river_url, CHANNEL) as relay:
        relay.callbacks.append(leader.handle_notification)
        await leader.start()
        await await_until(lambda: _is(leader_id(aconn), "py-leader"))
        first_term = (await leader_row(aconn))["elected_at"]
        await aconn.execute(
            query("leadership_notify", None),
            {"schema": None, "payload": json.dumps({"action": "request_resign", "leader_id": ""})},
        )
        await await_until(lambda: _new_term(aconn, first_term), what="re-election after request_resign")
        assert {"action": "resigned", "leader_id": "py-leader"} in relay.received
        await leader.stop()


async def _new_term(conn: psycopg.AsyncConnection[Any], old: Any) -> bool:
    row = await leader_row(conn)
    return row is not None and row["elected_at"] != old


def test_bad_configuration_is_rejected():
    with pytest.raises(ValidationError, match="elect_interval"):
        ElectorConfig(elect_interval=timedelta(0))
    with pytest.raises(ValidationError, match="client_id"):
        Elector(connect=connect_each_time("postgresql://x"), client_id="x" * 101)


_ELECTOR_PROCESS = """
import asyncio, sys
from datetime import timedelta
from riverboat._leader import Elector, ElectorConfig
from riverboat._service import connect_each_time


async def main():
    config = ElectorConfig(elect_interval=timedelta(milliseconds=200), elect_interval_jitter=timedelta(0),
                           ttl_padding=timedelta(milliseconds=800))
    elector = Elector(connect=connect_each_time(sys.argv[1]), client_id=sys.argv[2], config=config, stagger=False)
    await elector.start()
    await asyncio.Event().wait()

asyncio.run(main())
"""


async def test_killed_leader_process_is_replaced_within_the_lease(river_url, aconn):
    await record_leader_bids(aconn)
    victim = subprocess.Popen([sys.executable, "-c", _ELECTOR_PROCESS, river_url, "py-victim"])
    try:
        await await_until(lambda: _is(leader_id(aconn), "py-victim"), what="subprocess elected")
        survivor = elector(river_url, "py-survivor")
        await survivor.start()
        await await_until(lambda: _lost_a_bid(aconn, survivor, "py-survivor"), what="the survivor's first bid")
        assert await leader_id(aconn) == "py-victim"
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        await await_until(lambda: _is(leader_id(aconn), "py-survivor"), what="takeover after lease expiry")
        assert survivor.is_leader
        await survivor.stop()
    finally:
        victim.kill()
        victim.wait()


@pytest.mark.go
async def test_mixed_fleet_with_river_go_as_leader(river_url, aconn):
    await record_leader_bids(aconn)
    go = await GoClient.start(river_url, "go-leader")
    python = elector(river_url, "py-follower", SLOW)
    try:
        await await_until(lambda: _is(leader_id(aconn), "go-leader"), timeout=20, what="Go client elected")
        async with NotificationRelay(river_url, CHANNEL) as relay:
            relay.callbacks.append(python.handle_notification)
            await python.start()
            await await_until(lambda: _lost_a_bid(aconn, python, "py-follower"), what="riverboat's first bid")
            assert await leader_id(aconn) == "go-leader"
            await go.stop()
            await await_until(lambda: _is(leader_id(aconn), "py-follower"), what="riverboat takes over from Go")
            assert any(p.get("action") == "resigned" and p.get("leader_id") == "go-leader" for p in relay.received)
    finally:
        await python.stop()
        go.kill()


@pytest.mark.go
async def test_mixed_fleet_with_riverboat_as_leader(river_url, aconn):
    python = elector(river_url, "py-leader")
    await python.start()
    go: GoClient | None = None
    try:
        await await_until(lambda: _is(leader_id(aconn), "py-leader"))
        go = await GoClient.start(river_url, "go-follower")
        first = await leader_row(aconn)
        # Two lease renewals later riverboat still leads: Go accepted the riverboat row.
        await await_until(lambda: _renewed_beyond(aconn, first["expires_at"] + FAST.elect_interval))
        assert await leader_id(aconn) == "py-leader"
        await python.stop()
        await await_until(lambda: _is(leader_id(aconn), "go-follower"), timeout=20, what="Go takes over")
    finally:
        await python.stop()
        if go is not None:
            await go.stop()
    assert await leader_row(aconn) is None


async def _renewed_beyond(conn: psycopg.AsyncConnection[Any], when: Any) -> bool:
    row = await leader_row(conn)
    return row is not None and row["expires_at"] > when


@pytest.mark.go
async def test_river_go_request_resign_reaches_riverboat_leader(river_url, aconn):
    python = elector(river_url, "py-leader", SLOW)
    await python.start()
    go: GoClient | None = None
    try:
        async with NotificationRelay(river_url, CHANNEL) as relay:
            relay.callbacks.append(python.handle_notification)
            await await_until(lambda: _is(leader_id(aconn), "py-leader"))
            go = await GoClient.start(river_url, "go-follower")
            await go.send("request_resign")
            await go.expect("ok")
            await await_until(lambda: _resigned(relay, "py-leader"), what="riverboat resigned on Go's request")
    finally:
        await python.stop()
        if go is not None:
            await go.stop()


async def _resigned(relay: NotificationRelay, who: str) -> bool:
    return {"action": "resigned", "leader_id": who} in relay.received


async def test_leader_that_cannot_renew_steps_down_when_its_lease_runs_out(river_url, aconn):
    real = connect_each_time(river_url)
    broken = {"on": False}

    def flaky():
        if broken["on"]:
            raise psycopg.OperationalError("database unreachable")
        return real()

    leader = Elector(connect=flaky, client_id="py-cut-off", config=FAST, stagger=False)
    changes: list[bool] = []

    async def record(is_leader: bool) -> None:
        changes.append(is_leader)

    leader.subscribe(record)
    await leader.start()
    await await_until(lambda: _is(leader_id(aconn), "py-cut-off"))
    broken["on"] = True
    await await_until(lambda: _stepped_down(leader, changes), what="step down after the lease deadline")
    await leader.stop()
    assert changes == [True, False]


async def _stepped_down(leader: Elector, changes: list[bool]) -> bool:
    return not leader.is_leader and changes == [True, False]


async def test_custom_schema_uses_its_table_and_channel(river_url, aconn):
    await aconn.execute("CREATE SCHEMA other")
    await aconn.execute("CREATE UNLOGGED TABLE other.river_leader (LIKE public.river_leader INCLUDING ALL)")
    candidate = Elector(
        connect=connect_each_time(river_url), client_id="py-other", schema="other", config=FAST, stagger=False
    )
    async with NotificationRelay(river_url, "other.river_leadership") as relay:
        await candidate.start()
        await await_until(lambda: _other_leader(aconn, "py-other"))
        assert await leader_row(aconn) is None
        await candidate.stop()
        await await_until(lambda: _resigned(relay, "py-other"))
    assert not await _other_leader(aconn, "py-other")


async def _other_leader(conn: psycopg.AsyncConnection[Any], who: str) -> bool:
    cur = await conn.execute("SELECT leader_id FROM other.river_leader")
    row = await cur.fetchone()
    return row is not None and row[0] == who
