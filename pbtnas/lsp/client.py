"""A small synchronous LSP client over a subprocess's stdio: what the tests and benchmarks/lsp.py drive the server
with, as an editor would (JSON-RPC with `Content-Length` framing, one reader thread, timestamps on arrival)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable


class ResponseError(Exception):
    """The server answered a request with a JSON-RPC error (a well-formed one: code and message)."""

    def __init__(self, error: dict):
        super().__init__(f"{error.get('code')}: {error.get('message')}")
        self.error = error


class StdioClient:
    def __init__(self, argv: list[str] | None = None, cwd: str | Path | None = None):
        self.proc = subprocess.Popen(argv or [sys.executable, "-m", "pbtnas.lsp"], cwd=cwd, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self._next_id = 0
        self._cond = threading.Condition()
        self.responses: dict[int, tuple[dict, float]] = {}
        self.notifications: list[tuple[dict, float]] = []
        self.stderr: list[bytes] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        threading.Thread(target=lambda: self.stderr.extend(self.proc.stderr), daemon=True).start()

    # -- transport ---------------------------------------------------------------------------------------------
    def _read(self) -> None:
        out = self.proc.stdout
        while True:
            length = None
            while True:
                line = out.readline()
                if not line:
                    with self._cond:
                        self._cond.notify_all()
                    return
                line = line.strip()
                if not line:
                    break
                name, _, value = line.partition(b":")
                if name.lower() == b"content-length":
                    length = int(value)
            if length is None:
                continue
            message = json.loads(out.read(length))
            arrived = time.perf_counter()
            with self._cond:
                if "id" in message and "method" not in message:
                    self.responses[message["id"]] = (message, arrived)
                elif "method" in message and "id" in message:  # a request from the server: answer it empty
                    self._send({"jsonrpc": "2.0", "id": message["id"], "result": None})
                else:
                    self.notifications.append((message, arrived))
                self._cond.notify_all()

    def _send(self, message: dict) -> float:
        body = json.dumps(message).encode()
        sent = time.perf_counter()
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()
        return sent

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    # -- requests and notifications ----------------------------------------------------------------------------
    def send_request(self, method: str, params: Any) -> tuple[int, float]:
        with self._cond:
            self._next_id += 1
            rid = self._next_id
        return rid, self._send({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})

    def wait_response(self, rid: int, timeout: float = 30.0) -> tuple[dict, float]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while rid not in self.responses:
                left = deadline - time.monotonic()
                if left <= 0 or not self.alive:
                    raise TimeoutError(f"no response to request {rid}" + ("" if self.alive else " (server exited)"))
                self._cond.wait(min(left, 0.5))
            return self.responses.pop(rid)

    def request(self, method: str, params: Any, timeout: float = 30.0) -> Any:
        rid, _ = self.send_request(method, params)
        message, _ = self.wait_response(rid, timeout)
        if "error" in message:
            raise ResponseError(message["error"])
        return message.get("result")

    def notify(self, method: str, params: Any) -> float:
        return self._send({"jsonrpc": "2.0", "method": method, "params": params})

    def wait_notification(self, method: str, where: Callable[[dict], bool] = lambda p: True, after: int = 0,
                          timeout: float = 30.0) -> tuple[dict, float, int]:
        """The first `method` notification from position `after` on whose params satisfy `where`: (params,
        arrival time, position after it)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for i in range(after, len(self.notifications)):
                    message, arrived = self.notifications[i]
                    if message.get("method") == method and where(message.get("params") or {}):
                        return message["params"], arrived, i + 1
                left = deadline - time.monotonic()
                if left <= 0 or not self.alive:
                    raise TimeoutError(f"no {method}" + ("" if self.alive else " (server exited)"))
                self._cond.wait(min(left, 0.5))

    # -- the editor's side of a session ------------------------------------------------------------------------
    def initialize(self, root: Path | None = None) -> dict:
        result = self.request("initialize", {
            "processId": None, "rootUri": root.as_uri() if root else None,
            "capabilities": {"textDocument": {"hover": {"contentFormat": ["markdown", "plaintext"]},
                                              "completion": {"completionItem": {"snippetSupport": True}},
                                              "publishDiagnostics": {"versionSupport": True},
                                              "documentSymbol": {"hierarchicalDocumentSymbolSupport": True}}}})
        self.notify("initialized", {})
        return result

    def open(self, uri: str, text: str, version: int = 1) -> None:
        self.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "nas", "version": version,
                                                              "text": text}})

    def change(self, uri: str, version: int, changes: list[dict]) -> float:
        return self.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": version},
                                                      "contentChanges": changes})

    def diagnostics(self, uri: str, version: int, after: int = 0, timeout: float = 30.0) -> tuple[list, float, int]:
        params, arrived, pos = self.wait_notification(
            "textDocument/publishDiagnostics", lambda p: p.get("uri") == uri and p.get("version") == version,
            after, timeout)
        return params["diagnostics"], arrived, pos

    def close(self) -> int:
        """shutdown, exit, and the server's exit code."""
        try:
            if self.alive:
                self.request("shutdown", None, timeout=10)
                self.notify("exit", None)
            return self.proc.wait(timeout=10)
        except (TimeoutError, OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            return self.proc.wait()
