"""One adapter child process spoken to over JSON-RPC 2.0 on stdio (ADAPTER.md#transport)."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import threading
from collections import deque
from typing import Any

STDERR_TAIL_LINES = 40
# How long an adapter has to exit after its stdin closes.
CLOSE_GRACE_SECONDS = 5


class AdapterError(Exception):
    """The adapter broke the transport: crashed, hung, wrote non-JSON or answered the wrong id."""


class RpcError(Exception):
    """The adapter answered with a JSON-RPC error object."""

    def __init__(self, code: int, message: str, data: Any) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.data = data


class Adapter:
    def __init__(self, command: list[str], env: dict[str, str], timeout: float) -> None:
        self._command = command
        self._env = env
        self._timeout = timeout
        self._next_id = 0
        self._hung = False
        self._stderr: deque[str] = deque(maxlen=STDERR_TAIL_LINES)
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._proc = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, **env},
            text=True,
            encoding="utf-8",
        )
        threading.Thread(target=self._pump_stdout, daemon=True).start()
        self._stderr_pump = threading.Thread(target=self._pump_stderr, daemon=True)
        self._stderr_pump.start()

    def _pump_stdout(self) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def _pump_stderr(self) -> None:
        assert self._proc.stderr is not None
        for line in self._proc.stderr:
            self._stderr.append(line.rstrip("\n"))

    def stderr_tail(self) -> str:
        return "\n".join(self._stderr)

    def call(self, method: str, params: dict[str, Any], timeout: float | None = None) -> Any:
        """Send one request and return its result; RpcError for an error response.

        ``timeout`` (seconds) replaces the adapter's per-request limit for this request.
        """
        limit = self._timeout if timeout is None else timeout
        self._next_id += 1
        request_id = self._next_id
        line = json.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}, ensure_ascii=False)
        assert self._proc.stdin is not None
        try:
            self._proc.stdin.write(line + "\n")
            self._proc.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            raise AdapterError(f"adapter stdin closed ({exc}); exit code {self._proc.poll()}") from exc
        try:
            answer = self._lines.get(timeout=limit)
        except queue.Empty:
            self._hung = True
            raise AdapterError(f"no response to {method} within {limit:g} s") from None
        if answer is None:
            code = self._proc.wait(timeout=self._timeout)
            raise AdapterError(f"adapter exited (code {code}) during {method}")
        try:
            response = json.loads(answer)
        except json.JSONDecodeError:
            raise AdapterError(f"adapter wrote a non-JSON line: {answer[:200]!r}") from None
        if not isinstance(response, dict) or response.get("jsonrpc") != "2.0":
            raise AdapterError(f"not a JSON-RPC 2.0 response: {answer[:200]!r}")
        if response.get("id") != request_id:
            raise AdapterError(f"response id {response.get('id')!r} does not match request id {request_id}")
        if ("result" in response) == ("error" in response):
            raise AdapterError(f"a response needs exactly one of result and error: {answer[:200]!r}")
        if "error" in response:
            error = response["error"]
            if not isinstance(error, dict) or not isinstance(error.get("code"), int):
                raise AdapterError(f"malformed error object: {answer[:200]!r}")
            raise RpcError(error["code"], str(error.get("message", "")), error.get("data"))
        return response["result"]

    def close(self) -> None:
        """End the process (politely unless it hung, then by force) and collect the rest of its stderr."""
        if self._proc.poll() is None:
            assert self._proc.stdin is not None
            try:
                self._proc.stdin.close()
                self._proc.wait(timeout=0 if self._hung else CLOSE_GRACE_SECONDS)
            except (OSError, subprocess.TimeoutExpired):
                self._proc.kill()
                self._proc.wait()
        self._stderr_pump.join(timeout=5)
