"""The connection a ``_tx`` insert joins: a psycopg connection, or a SQLAlchemy session or
connection on the psycopg driver, unwrapped to the psycopg connection under it so the
insert runs in the transaction SQLAlchemy has open (spec/03-insert.md#transactions).

SQLAlchemy is optional: it is never imported here unless the program already has.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

import psycopg

from riverboat.errors import ValidationError

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection as SqlaConnection
    from sqlalchemy.ext.asyncio import AsyncConnection as SqlaAsyncConnection
    from sqlalchemy.ext.asyncio import AsyncSession
    from sqlalchemy.orm import Session

TxConnection: TypeAlias = "psycopg.Connection[Any] | Session | SqlaConnection"
AsyncTxConnection: TypeAlias = "psycopg.AsyncConnection[Any] | AsyncSession | SqlaAsyncConnection"

_Psycopg = TypeVar("_Psycopg", psycopg.Connection[Any], psycopg.AsyncConnection[Any])

_SQLALCHEMY_DRIVER = "psycopg"


def tx_connection(conn: TxConnection) -> psycopg.Connection[Any]:
    """The psycopg connection of ``conn`` (a ``Client``'s ``_tx`` methods)."""
    if isinstance(conn, psycopg.Connection):
        return conn
    if "sqlalchemy" in sys.modules:
        # Imported only when the caller's program uses SQLAlchemy already.
        from sqlalchemy.engine import Connection  # noqa: PLC0415
        from sqlalchemy.orm import Session  # noqa: PLC0415

        if isinstance(conn, Session):
            conn = conn.connection()
        if isinstance(conn, Connection):
            _require_psycopg_driver(conn.dialect.driver)
            return _unwrapped(conn.connection.driver_connection, psycopg.Connection)
    raise ValidationError(
        "conn",
        "type",
        "must be a psycopg.Connection, or a SQLAlchemy Session or Connection on the psycopg driver",
        conn,
    )


async def async_tx_connection(conn: AsyncTxConnection) -> psycopg.AsyncConnection[Any]:
    """The psycopg connection of ``conn`` (an ``AsyncClient``'s ``_tx`` methods)."""
    if isinstance(conn, psycopg.AsyncConnection):
        return conn
    if "sqlalchemy" in sys.modules:
        # Imported only when the caller's program uses SQLAlchemy already.
        from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession  # noqa: PLC0415

        if isinstance(conn, AsyncSession):
            conn = await conn.connection()
        if isinstance(conn, AsyncConnection):
            _require_psycopg_driver(conn.dialect.driver)
            raw = await conn.get_raw_connection()
            return _unwrapped(raw.driver_connection, psycopg.AsyncConnection)
    raise ValidationError(
        "conn",
        "type",
        "must be a psycopg.AsyncConnection, or a SQLAlchemy AsyncSession or AsyncConnection on the psycopg driver",
        conn,
    )


def _require_psycopg_driver(driver: str) -> None:
    if driver != _SQLALCHEMY_DRIVER:
        raise ValidationError(
            "conn",
            "choice",
            f"SQLAlchemy must use the psycopg (3) driver (a postgresql+psycopg:// URL), not {driver}",
        )


def _unwrapped(driver_connection: object, expected: type[_Psycopg]) -> _Psycopg:
    if not isinstance(driver_connection, expected):
        raise ValidationError(
            "conn", "type", f"SQLAlchemy's driver connection must be a {expected.__qualname__}", driver_connection
        )
    return driver_connection
