"""``riverboat work`` configures the process's logging (--log-level, --log-format text|json),
logs a start banner and a stop line counting how jobs ended; the library itself adds no
handler anywhere."""

from __future__ import annotations

import importlib
import json
import logging
import os
import pkgutil
import signal
import subprocess
import sys
import traceback
from typing import IO, Any

import psycopg

import riverboat
from riverboat._logsetup import JsonFormatter
from tests.helpers import wait_until
from tests.worker_support import insert_jobs, states


def _start(db_url: str, *options: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "riverboat", "work", "tests.worker_cli_target:make", *options],
        env={**os.environ, "RIVERBOAT_TEST_URL": db_url},
        stderr=subprocess.PIPE,
        text=True,
    )


def _read_until(stream: IO[str] | None, text: str) -> list[str]:
    """Lines of ``stream`` up to and including the first that contains ``text``."""
    assert stream is not None
    lines = []
    while True:
        line = stream.readline()
        assert line, f"stream ended before a line with {text!r}: {lines}"
        lines.append(line)
        if text in line:
            return lines


def _one_of_each_outcome(conn: psycopg.Connection[Any]) -> list[int]:
    outcomes = ["complete", "fail", "cancel", "snooze", "discard"]
    ids = insert_jobs(conn, "outcome", [{"outcome": o} for o in outcomes])
    ids += insert_jobs(conn, "sleeper", [{"seconds": 3600}])
    return ids


def _stop_twice(proc: subprocess.Popen[str]) -> list[str]:
    proc.send_signal(signal.SIGTERM)
    lines = _read_until(proc.stderr, "stopping")
    proc.send_signal(signal.SIGTERM)
    _, rest = proc.communicate(timeout=60)
    assert proc.returncode == 0
    return lines + rest.splitlines(keepends=True)


EXPECTED_STATES = ["completed", "retryable", "cancelled", "scheduled", "discarded", "running"]


def test_json_lines_banner_and_counts(conn: psycopg.Connection[Any], db_url: str) -> None:
    ids = _one_of_each_outcome(conn)
    proc = _start(db_url, "--log-format", "json")
    wait_until(lambda: states(conn, ids) == EXPECTED_STATES, timeout=60, what="every outcome")
    records = [json.loads(line) for line in _stop_twice(proc)]

    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)
    banner = next(r for r in records if "started" in r["message"])
    info = conn.info
    assert banner["logger"] == "riverboat.client"
    assert banner["level"] == "INFO"
    assert banner["database"] == f"{info.host}:{info.port}/{info.dbname}"
    assert banner["schema"] == "(search_path)"
    assert banner["queues"] == {"default": {"max_workers": 4}}
    assert banner["leader_election"] is True
    assert banner["client_id"] in banner["message"]
    assert "default (max_workers 4)" in banner["message"]

    summary = next(r for r in records if r["message"].startswith("jobs worked during the run"))
    assert {k: v for k, v in summary.items() if k.startswith("jobs_")} == {
        "jobs_completed": 1,
        "jobs_failed": 1,
        "jobs_cancelled": 1,
        "jobs_snoozed": 1,
        "jobs_discarded": 1,
        "jobs_interrupted": 1,
    }
    assert any(r["message"] == f"riverboat client {banner['client_id']} stopped" for r in records)

    # The executor's line of each outcome carries the job's fields as JSON fields.
    failed = next(r for r in records if r["logger"] == "riverboat.executor" and r.get("outcome") == "failed")
    assert failed["level"] == "WARNING"
    identity = (failed["job_kind"], failed["job_id"], failed["queue"], failed["attempt"])
    assert identity == ("outcome", ids[1], "default", 1)
    assert failed["error_class"] == "RuntimeError"


def test_text_lines_and_level(conn: psycopg.Connection[Any], db_url: str) -> None:
    ids = insert_jobs(conn, "outcome", [{"outcome": "complete"}])
    proc = _start(db_url)
    wait_until(lambda: states(conn, ids) == ["completed"], timeout=60, what="job completed")
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    lines = err.splitlines()
    assert " INFO riverboat.client: riverboat client " in lines[0]
    assert "started: queues default (max_workers 4); database " in lines[0]
    assert lines[-1].endswith(
        "jobs worked during the run: 1 completed, 0 failed, 0 cancelled, 0 snoozed, 0 discarded, 0 interrupted"
    )

    ids = insert_jobs(conn, "outcome", [{"outcome": "complete"}])
    quiet = _start(db_url, "--log-level", "WARNING")
    wait_until(lambda: states(conn, ids) == ["completed"], timeout=60, what="job completed")
    quiet.send_signal(signal.SIGTERM)
    _, err = quiet.communicate(timeout=60)
    assert (quiet.returncode, err) == (0, "")


def test_a_setup_error_in_json_mode_is_one_json_line() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "riverboat", "work", "tests.worker_cli_target:make", "--log-format", "json"],
        env={**os.environ, "RIVERBOAT_TEST_URL": "postgresql://app:hunter2@127.0.0.1:1/app"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    record = json.loads(line)
    assert record["level"] == "ERROR"
    assert record["message"].startswith("cannot connect to the database at 127.0.0.1:1/app: ")


def test_json_formatter_writes_extra_fields_and_the_traceback() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        exc_info = sys.exc_info()
    record = logging.LogRecord("riverboat", logging.WARNING, __file__, 1, "job %d failed", (7,), exc_info)
    for key, value in {"job_kind": "email", "job_id": 7, "queue": "default", "attempt": 2, "odd": {1, 2}}.items():
        setattr(record, key, value)
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "job 7 failed"
    assert (entry["job_kind"], entry["job_id"], entry["queue"], entry["attempt"]) == ("email", 7, "default", 2)
    assert entry["odd"] == "{1, 2}"
    assert entry["exception"] == "".join(traceback.format_exception(*exc_info)).rstrip("\n")
    assert entry["time"].endswith("Z")
    assert not {"args", "msg", "levelno", "pathname", "exc_info", "taskName"} & set(entry)


def test_the_library_adds_no_handler() -> None:
    root_handlers = list(logging.getLogger().handlers)
    for module in pkgutil.walk_packages(riverboat.__path__, "riverboat."):
        if module.name != "riverboat.__main__":
            importlib.import_module(module.name)
    assert logging.getLogger().handlers == root_handlers
    riverboat_loggers = [
        logger
        for name, logger in logging.Logger.manager.loggerDict.items()
        if name.startswith("riverboat") and isinstance(logger, logging.Logger)
    ]
    assert riverboat_loggers
    assert [logger.name for logger in riverboat_loggers if logger.handlers] == []
