"""A small AWS Lambda Runtime API server, so the real runtime interface client
(``awslambdaric``) can run the runner locally, exactly as Lambda would drive it.

Implements the routes the client uses (API version 2018-06-01):

- ``GET  /2018-06-01/runtime/invocation/next``: long-polls for the next event; answers
  with ``Lambda-Runtime-Aws-Request-Id``, ``Lambda-Runtime-Deadline-Ms`` (epoch ms),
  ``Lambda-Runtime-Invoked-Function-Arn`` and ``Lambda-Runtime-Trace-Id`` headers.
- ``POST /2018-06-01/runtime/invocation/{id}/response`` and ``.../{id}/error``.
- ``POST /2018-06-01/runtime/init/error``: the handler could not be loaded.

:meth:`RuntimeApi.invoke` queues an event and blocks until the function answers (or the
deadline plus a grace period passes), like a synchronous ``Invoke``.
"""

from __future__ import annotations

import json
import queue
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from lens.fleet.invoker import InvokeError

PREFIX = "/2018-06-01/runtime"


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # The runtime process is killed mid long-poll on shutdown: a broken pipe is expected.
        import sys

        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


@dataclass
class _Invocation:
    request_id: str
    body: bytes
    deadline_ms: int
    done: threading.Event = field(default_factory=threading.Event)
    response: bytes | None = None
    error: dict[str, Any] | None = None


class RuntimeApi:
    """One function's Runtime API on 127.0.0.1 (free port). ``address`` is host:port, the
    value of ``AWS_LAMBDA_RUNTIME_API`` for the runtime process."""

    def __init__(self, function_arn: str = "arn:aws:lambda:local:000000000000:function:lens-runner") -> None:
        self.function_arn = function_arn
        self._pending: queue.Queue[_Invocation] = queue.Queue()
        self._by_id: dict[str, _Invocation] = {}
        self._lock = threading.Lock()
        self.init_error: dict[str, Any] | None = None
        self.polls = 0  # GET /next calls seen (the runtime is up once this is > 0)
        self._closed = threading.Event()
        self._server = _QuietServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="runtime-api", daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{host!s}:{port}"

    def invoke(self, event: Any, *, timeout_ms: int = 60_000, grace_s: float = 10.0) -> dict[str, Any]:
        """Queue ``event`` and wait for the function's response (a dict)."""
        if self.init_error is not None:
            raise InvokeError("function_error", f"init failed: {self.init_error.get('errorMessage', '')}")
        inv = _Invocation(
            request_id=str(uuid.uuid4()),
            body=json.dumps(event).encode("utf-8"),
            deadline_ms=int(time.time() * 1000) + timeout_ms,
        )
        with self._lock:
            self._by_id[inv.request_id] = inv
        self._pending.put(inv)
        finished = inv.done.wait(timeout_ms / 1000 + grace_s)
        with self._lock:
            self._by_id.pop(inv.request_id, None)
        if not finished:
            raise InvokeError("timeout", f"Task timed out after {timeout_ms / 1000:.2f} seconds")
        if inv.error is not None:
            kind = inv.error.get("errorType", "")
            msg = inv.error.get("errorMessage", "")
            if kind == "InitError":
                raise InvokeError("function_error", f"init failed: {msg}")
            raise InvokeError("function_error", f"{kind}: {msg}".strip(": "))
        try:
            data = json.loads(inv.response or b"null")
        except json.JSONDecodeError:
            raise InvokeError("function_error", "response is not JSON") from None
        if not isinstance(data, dict):
            raise InvokeError("function_error", f"unexpected response {data!r:.200}")
        return data

    def close(self) -> None:
        self._closed.set()
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            for inv in self._by_id.values():
                inv.error = {"errorType": "Shutdown", "errorMessage": "runtime API closed"}
                inv.done.set()

    def _fail_all(self, error: dict[str, Any]) -> None:
        with self._lock:
            pending = list(self._by_id.values())
        for inv in pending:
            inv.error = {"errorType": "InitError", "errorMessage": error.get("errorMessage", "")}
            inv.done.set()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

            def _reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _body(self) -> bytes:
                n = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(n) if n else b""

            def do_GET(self) -> None:
                if self.path != f"{PREFIX}/invocation/next":
                    self._reply(404, b'{"errorMessage":"not found"}')
                    return
                api.polls += 1
                while not api._closed.is_set():
                    try:
                        inv = api._pending.get(timeout=0.5)
                    except queue.Empty:
                        continue
                    if inv.done.is_set():  # the caller gave up on it already
                        continue
                    self._reply(200, inv.body, {
                        "Content-Type": "application/json",
                        "Lambda-Runtime-Aws-Request-Id": inv.request_id,
                        "Lambda-Runtime-Deadline-Ms": str(inv.deadline_ms),
                        "Lambda-Runtime-Invoked-Function-Arn": api.function_arn,
                        "Lambda-Runtime-Trace-Id": f"Root=1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]}",
                    })
                    return
                self._reply(410, b'{"errorMessage":"shutting down"}')

            def do_POST(self) -> None:
                body = self._body()
                parts = self.path.removeprefix(PREFIX).strip("/").split("/")
                if parts == ["init", "error"]:
                    try:
                        api.init_error = json.loads(body or b"{}")
                    except json.JSONDecodeError:
                        api.init_error = {"errorMessage": body.decode("utf-8", "replace")}
                    api._fail_all(api.init_error)
                    self._reply(202, b'{"status":"OK"}')
                    return
                if len(parts) == 3 and parts[0] == "invocation" and parts[2] in ("response", "error"):
                    with api._lock:
                        inv = api._by_id.get(parts[1])
                    if inv is None:
                        self._reply(400, b'{"errorMessage":"unknown request id"}')
                        return
                    if parts[2] == "response":
                        inv.response = body
                    else:
                        try:
                            inv.error = json.loads(body or b"{}")
                        except json.JSONDecodeError:
                            inv.error = {"errorMessage": body.decode("utf-8", "replace")}
                    inv.done.set()
                    self._reply(202, b'{"status":"OK"}')
                    return
                self._reply(404, b'{"errorMessage":"not found"}')

        return Handler
