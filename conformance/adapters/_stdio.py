"""The JSON-RPC 2.0 stdio loop and the normalized job form shared by the Python-based adapters (ADAPTER.md)."""

from __future__ import annotations

import json
import re
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

# The normalized job form is the runner's own, so that adapters and runner cannot drift apart.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from conformance.runner._expected import QUEUE_DEFAULT, given, protocol_unique_opts
from conformance.runner._values import normalize_row as normalize

__all__ = [
    "PROFILE_METHODS", "QUEUE_DEFAULT", "RpcFailure", "args_text", "check_known", "given", "invalid", "normalize",
    "protocol_unique_opts", "serve",
]  # fmt: skip

PROFILE_METHODS = [
    "handshake", "insert", "insert_many", "tx_begin", "tx_commit", "tx_insert", "tx_insert_many", "tx_rollback",
    "unique_key",
]  # fmt: skip


class RpcFailure(Exception):
    """An error response (ADAPTER.md#errors)."""

    def __init__(self, code: int, message: str, data: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data


def invalid(field: str, rule: str, message: str) -> RpcFailure:
    return RpcFailure(-32602, message, {"field": field, "rule": rule})


class RawObject(dict[str, Any]):
    """A JSON object of a request that also keeps each member's text as the line had it, so
    args reach the client as sent: no parse and re-encode (ADAPTER.md#insert-params)."""

    def __init__(self) -> None:
        super().__init__()
        self.raw: dict[str, str] = {}


def args_text(params: dict[str, Any]) -> str | None:
    """A job's args as the request spelled them: ``args_json``, or the text of ``args``; None for neither
    (null is absent, ADAPTER.md#insert-params)."""
    if params.get("args_json") is not None:
        return str(params["args_json"])
    if params.get("args") is not None:
        return raw_member(params, "args")
    return None


def raw_member(params: dict[str, Any], name: str) -> str | None:
    """The text of ``params[name]`` exactly as the request line had it; None when absent."""
    if name not in params:
        return None
    assert isinstance(params, RawObject), "params come from parse_request"
    return params.raw[name]


_SPACE = re.compile(r"[ \t\n\r]*")
_scalar = json.JSONDecoder().raw_decode


def _skip(text: str, at: int) -> int:
    return _SPACE.match(text, at).end()  # type: ignore[union-attr]  # '*' always matches


def _expect(text: str, at: int, token: str) -> int:
    if not text.startswith(token, at):
        raise ValueError(f"expected {token!r} at {at}")
    return _skip(text, at + 1)


def _value(text: str, at: int) -> tuple[Any, int]:
    """The value starting at ``at`` (no leading space) and where it ends."""
    if text.startswith("{", at):
        obj = RawObject()
        at = _skip(text, at + 1)
        while not text.startswith("}", at):
            if obj.raw:
                at = _expect(text, at, ",")
            key, at = _scalar(text, at)
            if not isinstance(key, str):
                raise ValueError(f"expected a member name at {at}")
            start = _expect(text, _skip(text, at), ":")
            obj[key], end = _value(text, start)
            obj.raw[key] = text[start:end]
            at = _skip(text, end)
        return obj, at + 1
    if text.startswith("[", at):
        items: list[Any] = []
        at = _skip(text, at + 1)
        while not text.startswith("]", at):
            if items:
                at = _expect(text, at, ",")
            item, end = _value(text, at)
            items.append(item)
            at = _skip(text, end)
        return items, at + 1
    return _scalar(text, at)


def parse_request(line: str) -> Any:
    """A request line parsed as ``json.loads`` would, objects as ``RawObject``."""
    value, end = _value(line, _skip(line, 0))
    if _skip(line, end) != len(line):
        raise ValueError(f"extra data at {end}")
    return value


def serve(handle: Callable[[str, dict[str, Any]], Any]) -> None:
    """Answer one request line at a time until stdin closes."""
    for line in sys.stdin:
        if not line.strip():
            continue
        request_id: Any = None
        try:
            try:
                request = parse_request(line)
            except ValueError as exc:
                raise RpcFailure(-32700, f"parse error: {exc}") from exc
            if not isinstance(request, dict) or request.get("jsonrpc") != "2.0" or "method" not in request:
                raise RpcFailure(-32600, "not a JSON-RPC 2.0 request")
            request_id = request.get("id")
            params = request.get("params", {})
            if not isinstance(params, dict):
                raise RpcFailure(-32602, "params must be an object")
            response: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "result": handle(request["method"], params)}
        except RpcFailure as failure:
            print(f"{failure.code}: {failure.message}", file=sys.stderr)
            error: dict[str, Any] = {"code": failure.code, "message": failure.message}
            if failure.data is not None:
                error["data"] = failure.data
            response = {"jsonrpc": "2.0", "id": request_id, "error": error}
        except Exception as exc:
            traceback.print_exc(file=sys.stderr)
            response = {
                "jsonrpc": "2.0",
                "id": request_id,
                "error": {"code": -32000, "message": f"{type(exc).__name__}: {exc}"},
            }
        sys.stdout.write(json.dumps(response, ensure_ascii=False) + "\n")
        sys.stdout.flush()


def check_known(params: dict[str, Any], allowed: set[str], prefix: str = "") -> None:
    """An unknown member is an error: -32602, rule ``choice``, field its dotted path (ADAPTER.md#insert-params)."""
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise RpcFailure(-32602, f"unknown members {unknown}", {"field": prefix + unknown[0], "rule": "choice"})
