from __future__ import annotations

from typing import Any

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from riverboat._listener import Listener
from riverboat._notify import (
    CancelNotice,
    PauseNotice,
    Topic,
    cancel_payload,
    channel,
    parse_control,
    parse_insert,
    topic_of,
)
from tests.faults.proxy import FaultProxy
from tests.helpers import await_until


def test_payloads_are_parsed_as_json() -> None:
    assert parse_insert('{"queue": "q"}').queue == "q"  # type: ignore[union-attr]
    assert parse_insert("not json") is None
    assert parse_control('{"action" : "cancel", "job_id" : 7, "queue" : "q"}') == CancelNotice(7, "q")
    assert parse_control(cancel_payload(7, "q")) == CancelNotice(7, "q")
    assert parse_control('{"action":"pause","queue":"*"}') == PauseNotice("*", True)
    assert PauseNotice("*", True).applies_to("any")
    assert parse_control('{"action":"metadata_changed","metadata":{},"queue":"q"}') is None
    assert parse_control('{"action":"cancel","job_id":"7","queue":"q"}') is None
    assert parse_control("[1]") is None
    assert channel("public", Topic.CONTROL) == "public.river_control"
    assert topic_of("my_schema.river_leadership") is Topic.LEADERSHIP
    assert topic_of("public.other") is None


async def test_subscribers_hear_leadership_and_reconnect(conn: psycopg.Connection[Any], db_url: str) -> None:
    heard: list[str] = []
    reconnects: list[int] = []
    listener = Listener(conninfo=db_url, schema="public")
    listener.subscribe(Topic.LEADERSHIP, heard.append)
    listener.on_reconnect(lambda: reconnects.append(1))
    await listener.start()
    try:
        conn.execute('SELECT pg_notify(\'public.river_leadership\', \'{"action":"resigned","leader_id":"x"}\')')

        async def got() -> bool:
            return heard == ['{"action":"resigned","leader_id":"x"}']

        await await_until(got, what="leadership payload")
        conn.execute("SELECT pg_terminate_backend(%s)", (listener.backend_pid,))

        async def back() -> bool:
            return bool(reconnects) and listener.connected

        await await_until(back, what="reconnection")
        conn.execute("SELECT pg_notify('public.river_leadership', 'again')")

        async def again() -> bool:
            return heard[-1] == "again"

        await await_until(again, what="payload after reconnect")
    finally:
        await listener.stop()


async def test_a_half_open_connection_is_noticed_and_replaced(
    conn: psycopg.Connection[Any], db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("riverboat._listener.PING_INTERVAL", 0.2)
    info = conninfo_to_dict(db_url)
    proxy = FaultProxy(str(info["host"]), int(str(info["port"])))
    proxy.start()
    heard: list[str] = []
    reconnects: list[int] = []
    listener = Listener(conninfo=proxy.url(str(info["dbname"])), schema="public", timeout=0.5)
    listener.subscribe(Topic.LEADERSHIP, heard.append)
    listener.on_reconnect(lambda: reconnects.append(1))
    await listener.start()
    try:
        # Its packets now vanish and nothing answers: only the ping's deadline can tell.
        assert proxy.black_hole() == 1

        async def replaced() -> bool:
            return bool(reconnects) and listener.connected

        await await_until(replaced, timeout=30, what="a new listener connection")
        conn.execute("SELECT pg_notify('public.river_leadership', 'after')")

        async def heard_again() -> bool:
            return heard == ["after"]

        await await_until(heard_again, what="a notification on the new connection")
    finally:
        await listener.stop()
        proxy.close()
