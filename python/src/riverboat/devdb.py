"""A private PostgreSQL cluster for development, demos and tests.

``DevDatabase`` runs the machine's own PostgreSQL server binaries on a free loopback
port, with its data in one directory. PostgreSQL refuses to run as root, so when the
current user is root the server runs as the unprivileged ``postgres`` system user and
the data directory is handed to that user.

    >>> db = DevDatabase(Path("/tmp/riverboat-dev"))   # doctest: +SKIP
    >>> url = db.start()                                # doctest: +SKIP
    >>> db.stop()                                       # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import pwd
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from riverboat.errors import DevDatabaseError

SERVER_USER = "postgres"
DATABASE_NAME = "riverboat"
_STATE_FILE = "devdb.json"
_START_TIMEOUT_SECONDS = 60
_NON_DURABLE_SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")


BINDIR_ENV = "RIVERBOAT_PG_BINDIR"
VERSIONED_BINDIRS = "/usr/lib/postgresql/*/bin"


def find_server_bindir() -> Path:
    """Locate PostgreSQL server binaries: ``$RIVERBOAT_PG_BINDIR`` alone if set; otherwise PATH,
    then ``pg_config --bindir``, then ``/usr/lib/postgresql/*/bin`` (newest major version first)."""
    pinned = os.environ.get(BINDIR_ENV)
    if pinned:
        bindir = Path(pinned)
        if all((bindir / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres")):
            return bindir
        raise DevDatabaseError(
            f"no PostgreSQL server binaries (initdb, pg_ctl, postgres) in {bindir}, which ${BINDIR_ENV} names; "
            "point it at a server's bin directory or unset it"
        )
    candidates: list[Path] = []
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(subprocess.CalledProcessError, OSError):
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=True)
            candidates.append(Path(out.stdout.strip()))
    versioned = glob.glob(VERSIONED_BINDIRS)
    versioned.sort(key=lambda p: int(p.split("/")[-2]) if p.split("/")[-2].isdigit() else 0, reverse=True)
    candidates.extend(Path(p) for p in versioned)
    for bindir in candidates:
        if all((bindir / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres")):
            return bindir
    raise DevDatabaseError(
        "no PostgreSQL server binaries found (looked for initdb, pg_ctl and postgres on PATH, "
        "in `pg_config --bindir` and in /usr/lib/postgresql/*/bin); install the server, "
        "for example `apt-get install postgresql`"
    )


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class DevDatabaseStatus:
    """What ``DevDatabase.status`` reports."""

    running: bool
    data_dir: Path
    url: str | None


class DevDatabase:
    """A private PostgreSQL cluster kept in ``data_dir``.

    The cluster is created on first start. ``start`` returns the URL of the database
    ``riverboat`` in it; ``stop`` shuts the server down and keeps the data.
    """

    def __init__(self, data_dir: Path | str, *, durable: bool = False) -> None:
        self.data_dir = Path(data_dir).absolute()
        self.durable = durable
        self._bindir: Path | None = None

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "pgdata"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "postgres.log"

    def _state_path(self) -> Path:
        return self.data_dir / _STATE_FILE

    def _server_ids(self) -> tuple[int, int] | None:
        """The uid/gid to run the server as, or None to run as the current user."""
        if os.geteuid() != 0:
            return None
        try:
            entry = pwd.getpwnam(SERVER_USER)
        except KeyError:
            raise DevDatabaseError(
                f"running as root, and PostgreSQL refuses to run as root; no {SERVER_USER!r} system user "
                f"exists to run it as: create one (`useradd --system {SERVER_USER}`) or run as another user"
            ) from None
        return entry.pw_uid, entry.pw_gid

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        if self._bindir is None:
            self._bindir = find_server_bindir()
        ids = self._server_ids()
        env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
        kwargs: dict[str, object] = {}
        if ids is not None:
            env["HOME"] = str(self.data_dir)
            kwargs = {"user": ids[0], "group": ids[1], "extra_groups": []}
        cmd = [str(self._bindir / args[0]), *args[1:]]
        result = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            env=env,
            cwd="/",
            check=False,
            **kwargs,  # type: ignore[call-overload]
        )
        if check and result.returncode != 0:
            detail = (result.stderr or result.stdout).strip().splitlines()
            raise DevDatabaseError(f"{args[0]} failed: {detail[-1] if detail else 'exit ' + str(result.returncode)}")
        assert isinstance(result, subprocess.CompletedProcess)
        return result

    def _prepare_directory(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        ids = self._server_ids()
        if ids is None:
            return
        for path in [self.data_dir, *self.data_dir.rglob("*")]:
            os.chown(path, ids[0], ids[1], follow_symlinks=False)
        for parent in self.data_dir.parents:
            if not os.stat(parent).st_mode & 0o001:
                raise DevDatabaseError(
                    f"data directory {self.data_dir}: the {SERVER_USER!r} user cannot reach it because "
                    f"{parent} is not searchable by others; choose a directory such as /tmp/riverboat-dev"
                )

    def _read_state(self) -> dict[str, int] | None:
        try:
            state: dict[str, int] = json.loads(self._state_path().read_text())
        except (OSError, ValueError):
            return None
        return state

    def url(self, dbname: str = DATABASE_NAME) -> str:
        state = self._read_state()
        if state is None:
            raise DevDatabaseError(f"no development database has been started in {self.data_dir}")
        return f"postgresql://{SERVER_USER}@127.0.0.1:{state['port']}/{dbname}"

    def is_running(self) -> bool:
        if not (self.pgdata / "PG_VERSION").exists():
            return False
        return self._run("pg_ctl", "status", "-D", str(self.pgdata), check=False).returncode == 0

    def status(self) -> DevDatabaseStatus:
        running = self.is_running()
        return DevDatabaseStatus(running=running, data_dir=self.data_dir, url=self.url() if running else None)

    def start(self) -> str:
        """Create the cluster if needed, start it if it isn't running, return its URL."""
        if self.is_running():
            return self.url()
        self._prepare_directory()
        if not (self.pgdata / "PG_VERSION").exists():
            self._run(
                "initdb", "-D", str(self.pgdata), "-U", SERVER_USER, "--auth=trust",
                "--encoding=UTF8", "--locale=C", "--no-sync",
            )  # fmt: skip
        port = _free_loopback_port()
        self._start_server(port)
        self._state_path().write_text(json.dumps({"port": port}))
        self._ensure_database(port)
        return self.url()

    def restart(self, *, down_for: float = 0.0) -> None:
        """Stop the server fast (open connections are cut), keep it down ``down_for``
        seconds, and start it again on the same port."""
        state = self._read_state()
        if state is None or not self.is_running():
            raise DevDatabaseError(f"no development database is running in {self.data_dir}")
        self.stop()
        time.sleep(down_for)
        self._start_server(state["port"])

    def _start_server(self, port: int) -> None:
        settings = [
            f"port={port}",
            "listen_addresses=127.0.0.1",
            "unix_socket_directories=",
            "max_connections=200",
            *(() if self.durable else _NON_DURABLE_SETTINGS),
        ]
        options = " ".join(f"-c {setting}" for setting in settings)
        self._run(
            "pg_ctl", "start", "-D", str(self.pgdata), "-w", "-t", str(_START_TIMEOUT_SECONDS),
            "-l", str(self.log_file), "-o", options,
        )  # fmt: skip

    def _ensure_database(self, port: int) -> None:
        import psycopg  # noqa: PLC0415 - keeps `riverboat dev-db status` free of driver start-up cost
        from psycopg import sql  # noqa: PLC0415

        from riverboat._queries import query  # noqa: PLC0415

        deadline = time.monotonic() + _START_TIMEOUT_SECONDS
        while True:
            try:
                with psycopg.connect(
                    host="127.0.0.1", port=port, user=SERVER_USER, dbname="postgres", autocommit=True
                ) as conn:
                    row = conn.execute(query("pg_database_exists", None), {"name": DATABASE_NAME}).fetchone()
                    if row is not None and not row[0]:
                        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE_NAME)))
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> bool:
        """Stop the server if it is running (then True); the data stays."""
        if not self.is_running():
            return False
        self._run("pg_ctl", "stop", "-D", str(self.pgdata), "-m", "fast", "-w")
        return True

    def destroy(self) -> bool:
        """Stop the server and delete the data directory; False if there was none."""
        self.stop()
        existed = self.data_dir.exists()
        shutil.rmtree(self.data_dir, ignore_errors=True)
        return existed
