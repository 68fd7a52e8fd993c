"""Admin operations across River Go and riverboat (spec/12-queues-and-admin.md): a pause from
either side reaches the other. Async only: it drives a River Go process."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from riverboat._async import admin
from tests import maintenance_support
from tests.db_support_async import insert_queue, listening
from tests.helpers import await_until
from tests.maintenance_support import GoClient

aconn = maintenance_support.aconn
river_url = maintenance_support.river_url


@pytest.mark.go
async def test_pause_crosses_between_river_go_and_riverboat(
    river_url: str, aconn: psycopg.AsyncConnection[Any]
) -> None:
    go = await GoClient.start(river_url, "go-pauser", queue="go_queue")
    try:
        await await_until(lambda: _queue_exists(aconn, "go_queue"), what="Go registers its queue")
        await admin.queue_pause(aconn, None, "go_queue")
        await go.expect("queue_paused go_queue")
        await admin.queue_resume(aconn, None, "go_queue")
        await go.expect("queue_resumed go_queue")

        await insert_queue(aconn, "py_queue")
        async with listening(river_url, "public.river_control") as listener:
            await go.send("pause py_queue")
            await go.expect("ok")
            assert (await admin.queue_get(aconn, None, "py_queue")).paused
            await await_until(lambda: listener.got({"action": "pause", "queue": "py_queue"}))
    finally:
        await go.stop()


async def _queue_exists(conn: psycopg.AsyncConnection[Any], name: str) -> bool:
    cur = await conn.execute("SELECT 1 FROM river_queue WHERE name = %s", [name])
    return await cur.fetchone() is not None
