"""A TCP proxy of our own in front of PostgreSQL, on the loopback interface, that breaks
connections the ways networks and servers do. It runs its own asyncio loop in a thread, so
sync tests, async tests and ``scripts/chaos`` drive it alike; every control method returns
once the change is in force.

Faults on the connections that are open now:
- ``cut()``: reset them (the client reads a reset or an end of file at once);
- ``black_hole()``: accept their bytes and forward nothing, never closing: half-open
  connections, as after a NAT or firewall dropped them (the client's kernel still gets its
  packets acknowledged, so only the client's own deadlines notice);
- ``stall()`` / ``resume()``: hold their bytes and deliver them later.

What new connections meet (``set_mode``): ``FORWARD`` (the default), ``REFUSE`` (reset at
once, as a server that is down), ``BLACK_HOLE``, ``GARBAGE`` (bytes that are not the
PostgreSQL protocol) or ``HANDSHAKE_CLOSE`` (closed after the client's first message, as a
server dying during start-up).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import socket
import struct
import threading
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")
CHUNK = 65536
GARBAGE = b"\x17not postgres at all\x00\xff" * 4


class Mode(enum.Enum):
    FORWARD = "forward"
    REFUSE = "refuse"
    BLACK_HOLE = "black_hole"
    GARBAGE = "garbage"
    HANDSHAKE_CLOSE = "handshake_close"


@dataclass(eq=False)
class _Link:
    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter | None = None
    black_holed: bool = False
    flowing: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


class FaultProxy:
    """Forwards ``127.0.0.1:<port>`` to ``upstream_host:upstream_port`` until told to fail."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream_host = upstream_host
        self.upstream_port = upstream_port
        self.port = 0
        self.accepted = 0
        #: Reads from clients that a black hole swallowed.
        self.swallowed = 0
        self._mode = Mode.FORWARD
        self._stalled = False
        self._links: set[_Link] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fault-proxy", daemon=True)
        self._server: asyncio.Server | None = None

    # -- control (any thread) -------------------------------------------------------------

    def start(self) -> int:
        """Start listening; returns the port."""
        self._thread.start()
        return self._call(self._start())

    def close(self) -> None:
        self._call(self._close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def url(self, dbname: str, user: str = "postgres") -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{dbname}"

    def set_mode(self, mode: Mode) -> None:
        """What connections opened from now on meet."""
        self._call(self._set(mode=mode))

    def cut(self) -> int:
        """Reset every open connection; returns how many."""
        return self._call(self._cut())

    def black_hole(self) -> int:
        """Make every open connection half-open; returns how many."""
        return self._call(self._black_hole())

    def stall(self) -> None:
        """Hold the bytes of open and new connections until ``resume()``."""
        self._call(self._set(stalled=True))

    def resume(self) -> None:
        self._call(self._set(stalled=False))

    @property
    def open_connections(self) -> int:
        return len(self._links)

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=30)

    # -- the loop's side ------------------------------------------------------------------

    async def _start(self) -> int:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
        for link in list(self._links):
            self._drop(link)

    async def _set(self, *, mode: Mode | None = None, stalled: bool | None = None) -> None:
        if mode is not None:
            self._mode = mode
        if stalled is not None:
            self._stalled = stalled
            for link in self._links:
                (link.flowing.clear if stalled else link.flowing.set)()

    async def _cut(self) -> int:
        links = list(self._links)
        for link in links:
            self._drop(link)
        return len(links)

    async def _black_hole(self) -> int:
        for link in self._links:
            link.black_holed = True
        return len(self._links)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        link = _Link(client=writer)
        if not self._stalled:
            link.flowing.set()
        mode = self._mode
        if mode is Mode.REFUSE:
            _reset(writer)
            return
        self._links.add(link)
        if mode is Mode.GARBAGE:
            writer.write(GARBAGE)
            with contextlib.suppress(ConnectionError):
                await writer.drain()
        if mode is Mode.HANDSHAKE_CLOSE:
            with contextlib.suppress(ConnectionError):
                await reader.read(CHUNK)
            self._drop(link)
            return
        if mode is not Mode.FORWARD:
            # Black hole (and garbage after its bytes): swallow whatever comes, answer nothing.
            link.black_holed = True
            await self._pump(link, reader, None, from_client=True)
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(self.upstream_host, self.upstream_port)
        except OSError:
            self._drop(link)
            return
        link.upstream = up_writer
        link.tasks = [
            asyncio.create_task(self._pump(link, reader, up_writer, from_client=True)),
            asyncio.create_task(self._pump(link, up_reader, writer, from_client=False)),
        ]

    async def _pump(
        self, link: _Link, source: asyncio.StreamReader, target: asyncio.StreamWriter | None, *, from_client: bool
    ) -> None:
        try:
            while data := await source.read(CHUNK):
                await link.flowing.wait()
                if link.black_holed or target is None:
                    if from_client:
                        self.swallowed += 1
                    continue
                target.write(data)
                await target.drain()
        except (ConnectionError, OSError):
            pass
        # A half-open connection is never closed towards the client: only the client gives it up.
        if from_client or not link.black_holed:
            self._drop(link)

    def _drop(self, link: _Link) -> None:
        self._links.discard(link)
        for task in link.tasks:
            if task is not asyncio.current_task():
                task.cancel()
        _reset(link.client)
        if link.upstream is not None:
            link.upstream.close()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP reset, as a crashed peer or a dropped route would."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
