"""A client transport for MCP over API Gateway WebSockets (docs/websocket.md in the repository).

``websocket_client(url, ...)`` is an async context manager that yields ``(read_stream,
write_stream)``, the transport shape of the ``mcp`` package in both lines: 1.x's
``ClientSession(read, write)`` and 2.x's ``Client(transport)`` take it. Both protocol eras
travel over it unchanged.

What it adds to a bare WebSocket, because API Gateway needs it:

- the token, as the subprotocol ``mcp.auth.<token>`` or an ``Authorization`` header;
- a refused handshake raises ``HandshakeError`` with the HTTP status and the reason;
- a ``ping`` (2026-07-28: ``server/discover``) after ``keepalive`` seconds without a message
  sent (API Gateway closes a connection idle for 10 minutes);
- a new connection when the old one ends (API Gateway closes every connection after 2
  hours): a session-era client's session is gone with it, so the transport starts a new one
  with the client's own ``initialize`` and says so (``on_reconnect``, and a
  ``SessionRestartedError`` on the read stream, which reaches the session's message
  handler); a 2026-07-28 client just goes on, and its ``subscriptions/listen`` is sent again;
- a message over API Gateway's 128 KiB is refused before it is sent, and a ``-32010`` reply
  (a limit) is also put on the read stream as a ``LimitError`` that names the limit.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import anyio
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Subprotocol

from mcp.shared.message import SessionMessage

from ._messages import from_wire, to_wire

__all__ = [
    "HandshakeError",
    "LimitError",
    "SessionRestartedError",
    "Reconnected",
    "websocket_client",
    "LIMIT_EXCEEDED",
    "MAX_MESSAGE_BYTES",
]

SUBPROTOCOL = "mcp"
AUTH_SUBPROTOCOL_PREFIX = "mcp.auth."
LIMIT_EXCEEDED = -32010
MAX_MESSAGE_BYTES = 128 * 1024
DEFAULT_KEEPALIVE_SECONDS = 300.0
META_VERSION = "io.modelcontextprotocol/protocolVersion"
OWN_ID_PREFIX = "mcp-ws-transport-"
OWN_REQUEST_TIMEOUT = 10.0


class HandshakeError(Exception):
    """The server refused the handshake: 401 (no or bad token), 403, 404 (no such server), 429."""

    def __init__(self, url: str, status: int, reason: str) -> None:
        super().__init__(f"WebSocket handshake with {url} refused: HTTP {status}" + (f" ({reason})" if reason else ""))
        self.status = status
        self.reason = reason


class LimitError(Exception):
    """A message refused over one of the server's limits (JSON-RPC error -32010)."""

    code = LIMIT_EXCEEDED

    def __init__(self, request_id: Any, message: str, data: Any = None) -> None:
        super().__init__(f"request {json.dumps(request_id)} refused over a limit: {message}")
        self.request_id = request_id
        self.data = data


class SessionRestartedError(Exception):
    """The connection ended and a new one started a new session: the old session's state is gone."""

    def __init__(self, reason: str) -> None:
        super().__init__(
            f"the WebSocket connection ended ({reason}); a new session was started on a new connection, "
            "so what the old session held (subscriptions, the log level) must be set up again"
        )


@dataclass
class Reconnected:
    """What ``on_reconnect`` is told once a new connection serves."""

    attempt: int
    session_restarted: bool


@asynccontextmanager
async def websocket_client(
    url: str,
    *,
    token: str | None = None,
    token_in: str = "subprotocol",
    headers: dict[str, str] | None = None,
    keepalive: float = DEFAULT_KEEPALIVE_SECONDS,
    reconnects: int = 5,
    reconnect_delay: float = 0.5,
    max_message_bytes: int = MAX_MESSAGE_BYTES,
    on_reconnect: Callable[[Reconnected], None] | None = None,
) -> AsyncIterator[tuple[Any, Any]]:
    """Connects to the stage's ``wss://`` URL (``?server=NAME`` for a registered server).

    ``token_in`` is ``"subprotocol"`` (works where headers cannot be set) or ``"header"``;
    ``keepalive`` is the idle time in seconds before a ping (0: none); ``reconnects`` the new
    connections tried, one after another, when one ends, the first after ``reconnect_delay``
    seconds, doubled each time.
    """
    if token_in not in ("subprotocol", "header"):
        raise ValueError("token_in is 'subprotocol' or 'header'")
    transport = _Transport(
        url,
        token=token,
        token_in=token_in,
        headers=headers or {},
        keepalive=keepalive,
        reconnects=reconnects,
        reconnect_delay=reconnect_delay,
        max_message_bytes=max_message_bytes,
        on_reconnect=on_reconnect,
    )
    await transport.open()
    transport.connected.set()
    read_writer, read_stream = anyio.create_memory_object_stream[SessionMessage | Exception](16)
    write_stream, write_reader = anyio.create_memory_object_stream[SessionMessage](0)
    transport.incoming = read_writer
    try:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(transport.read_loop)
            tasks.start_soon(transport.write_loop, write_reader)
            if keepalive > 0:
                tasks.start_soon(transport.keepalive_loop)
            try:
                yield read_stream, write_stream
            finally:
                transport.closing = True
                tasks.cancel_scope.cancel()
    finally:
        transport.closing = True
        await transport.close()
        await read_writer.aclose()


class _Transport:
    def __init__(
        self,
        url: str,
        *,
        token: str | None,
        token_in: str,
        headers: dict[str, str],
        keepalive: float,
        reconnects: int,
        reconnect_delay: float,
        max_message_bytes: int,
        on_reconnect: Callable[[Reconnected], None] | None,
    ) -> None:
        self.url = url
        self.token = token
        self.token_in = token_in
        self.headers = headers
        self.keepalive = keepalive
        self.reconnects = reconnects
        self.reconnect_delay = reconnect_delay
        self.max_message_bytes = max_message_bytes
        self.on_reconnect = on_reconnect
        self.socket: ClientConnection | None = None
        self.incoming: Any = None
        self.closing = False
        self.connected = anyio.Event()
        self.last_sent = time.monotonic()
        # Requests sent and not yet answered, by id: failed or sent again after a reconnect.
        self.pending: dict[Any, dict[str, Any]] = {}
        # The client's `initialize` (session era), replayed on a new connection.
        self.initialize: dict[str, Any] | None = None
        # The `_meta` of the client's last 2026-07-28 request, reused by the keepalive.
        self.stateless_meta: dict[str, Any] | None = None
        self.own_ids = 0
        self.own_replies: dict[str, Any] = {}

    # --- the connection ---

    async def open(self) -> None:
        subprotocols = [Subprotocol(SUBPROTOCOL)]
        headers = dict(self.headers)
        if self.token and self.token_in == "header":
            headers["Authorization"] = f"Bearer {self.token}"
        elif self.token:
            subprotocols.append(Subprotocol(AUTH_SUBPROTOCOL_PREFIX + self.token))
        try:
            self.socket = await connect(
                self.url,
                subprotocols=subprotocols,
                additional_headers=headers,
                max_size=None,
                # API Gateway does not answer WebSocket pings reliably; keepalive is a message.
                ping_interval=None,
            )
        except InvalidStatus as refused:
            response = refused.response
            body = (response.body or b"").decode("utf-8", "replace")
            raise HandshakeError(self.url, response.status_code, _reason(body)) from None
        self.last_sent = time.monotonic()

    async def close(self) -> None:
        if self.socket is not None:
            await self.socket.close()

    async def read_loop(self) -> None:
        while True:
            socket = self.socket
            assert socket is not None
            try:
                async for frame in socket:
                    await self.receive(frame)
            except ConnectionClosed:
                pass
            if self.closing:
                return
            code = socket.close_code
            reason = f"close code {code}: {socket.close_reason}" if code is not None else "the connection dropped"
            if not await self.reconnect(reason):
                await self.incoming.aclose()
                return

    async def reconnect(self, reason: str) -> bool:
        """A new connection; messages the client sends meanwhile wait for it (``connected``)."""
        self.connected = anyio.Event()
        waiting = list(self.pending.values())
        self.pending.clear()
        for attempt in range(1, self.reconnects + 1):
            await anyio.sleep(self.reconnect_delay * 2 ** (attempt - 1))
            try:
                await self.open()
                await self.resume(waiting, reason)
            except Exception as error:  # a refused handshake, a network error, a session that would not start
                await self.incoming.send(error)
                if self.socket is not None:
                    await self.socket.close()
                continue
            if self.on_reconnect is not None:
                self.on_reconnect(Reconnected(attempt=attempt, session_restarted=self.initialize is not None))
            if self.initialize is not None:
                await self.incoming.send(SessionRestartedError(reason))
            self.connected.set()
            return True
        await self.fail(waiting, reason)
        return False

    async def resume(self, waiting: list[dict[str, Any]], reason: str) -> None:
        """On a new connection: a new session in the session era; the same listens in 2026-07-28."""
        session_era = self.initialize is not None
        if session_era:
            assert self.initialize is not None
            # The reader is this task, so the reply is read here.
            await self.write(self.own_request("initialize", self.initialize.get("params")))
            await self.await_own_reply_inline()
            await self.write({"jsonrpc": "2.0", "method": "notifications/initialized"})
        # A listen has no final result over WebSocket: it is sent again and goes on. Any other
        # request may or may not have run: the client hears so.
        listens = [] if session_era else [r for r in waiting if r.get("method") == "subscriptions/listen"]
        for listen in listens:
            self.pending[listen["id"]] = listen
            await self.write(listen)
        await self.fail([r for r in waiting if r not in listens], reason)
        waiting.clear()

    async def fail(self, requests: list[dict[str, Any]], reason: str) -> None:
        message = f"the connection ended before the reply ({reason}); the request may or may not have run"
        for request in requests:
            await self.deliver({"jsonrpc": "2.0", "id": request["id"], "error": {"code": -32000, "message": message}})

    async def await_own_reply_inline(self) -> None:
        """Reads frames until the transport's own latest request is answered (or 10 s pass)."""
        socket = self.socket
        assert socket is not None
        wanted = f"{OWN_ID_PREFIX}{self.own_ids}"
        with anyio.fail_after(OWN_REQUEST_TIMEOUT):
            async for frame in socket:
                message = _parse(frame)
                if isinstance(message, dict) and message.get("id") == wanted:
                    if "error" in message:
                        raise RuntimeError(f"a new session could not start: {message['error'].get('message')}")
                    return
                await self.receive(frame)
        raise ConnectionError("the connection ended before the new session started")

    async def receive(self, frame: str | bytes) -> None:
        if isinstance(frame, bytes):
            await self.incoming.send(ValueError("binary WebSocket frame dropped (MCP messages are text frames)"))
            return
        message = _parse(frame)
        if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
            # API Gateway's own messages ("Endpoint request timed out", "Internal server error").
            said = message.get("message") if isinstance(message, dict) else frame[:200]
            await self.incoming.send(RuntimeError(f"API Gateway: {said}"))
            return
        is_reply = "method" not in message and "id" in message
        if not is_reply:
            await self.deliver(message)
            return
        request_id = message["id"]
        if isinstance(request_id, str) and request_id.startswith(OWN_ID_PREFIX):
            waiter = self.own_replies.pop(request_id, None)
            if waiter is not None:
                waiter.set()
            return
        self.pending.pop(request_id, None)
        error = message.get("error") or {}
        if error.get("code") == LIMIT_EXCEEDED:
            await self.incoming.send(LimitError(request_id, error.get("message", ""), error.get("data")))
        if request_id is None:
            # A refusal of a message the server could not read names no request.
            if error.get("code") != LIMIT_EXCEEDED:
                await self.incoming.send(RuntimeError(f"the server refused a message: {error.get('message')}"))
            return
        await self.deliver(message)

    async def deliver(self, message: dict[str, Any]) -> None:
        try:
            await self.incoming.send(SessionMessage(from_wire(message)))
        except Exception as error:  # a message the SDK's types do not accept
            await self.incoming.send(error)

    # --- what the client sends ---

    async def write_loop(self, outgoing: Any) -> None:
        async with outgoing:
            async for session_message in outgoing:
                message = to_wire(session_message.message)
                if message.get("method") == "initialize" and "id" in message:
                    self.initialize = message
                meta = (message.get("params") or {}).get("_meta") or {}
                if META_VERSION in meta:
                    self.stateless_meta = meta
                text = json.dumps(message, separators=(",", ":"))
                size = len(text.encode())
                if size > self.max_message_bytes:
                    said = f"the message is {size} bytes; API Gateway takes at most {self.max_message_bytes} in one message"
                    request_id = message.get("id")
                    await self.incoming.send(LimitError(request_id, said))
                    if request_id is not None:
                        error = {"code": LIMIT_EXCEEDED, "message": said}
                        await self.deliver({"jsonrpc": "2.0", "id": request_id, "error": error})
                    continue
                await self.connected.wait()
                # Waited for only once it is on the wire: one sent during a reconnection goes
                # out on the new connection, after its new session.
                if "method" in message and "id" in message:
                    self.pending[message["id"]] = message
                if message.get("method") == "notifications/cancelled":
                    self.pending.pop((message.get("params") or {}).get("requestId"), None)
                try:
                    await self.write_text(text)
                except ConnectionClosed:
                    # The reader sees the close too, and reconnects; this message was lost
                    # with the connection, and its request fails as the others in flight do.
                    pass

    async def write(self, message: dict[str, Any]) -> None:
        await self.write_text(json.dumps(message, separators=(",", ":")))

    async def write_text(self, text: str) -> None:
        assert self.socket is not None
        self.last_sent = time.monotonic()
        await self.socket.send(text)

    # --- the transport's own requests ---

    def own_request(self, method: str, params: Any) -> dict[str, Any]:
        self.own_ids += 1
        request: dict[str, Any] = {"jsonrpc": "2.0", "id": f"{OWN_ID_PREFIX}{self.own_ids}", "method": method}
        if params is not None:
            request["params"] = params
        return request

    async def keepalive_loop(self) -> None:
        tick = max(0.01, min(self.keepalive / 4, 30.0))
        while True:
            await anyio.sleep(tick)
            if time.monotonic() - self.last_sent < self.keepalive or not self.connected.is_set():
                continue
            # 2026-07-28 has no `ping`: its keepalive is `server/discover`, complete in itself
            # with the client's last `_meta`.
            if self.initialize is None and self.stateless_meta is not None:
                request = self.own_request("server/discover", {"_meta": self.stateless_meta})
            else:
                request = self.own_request("ping", None)
            answered = anyio.Event()
            self.own_replies[request["id"]] = answered
            try:
                await self.write(request)
            except ConnectionClosed:
                continue
            with anyio.move_on_after(OWN_REQUEST_TIMEOUT) as waited:
                await answered.wait()
            if waited.cancelled_caught:
                self.own_replies.pop(request["id"], None)
                await self.incoming.send(TimeoutError(f"no reply to the keepalive {request['method']} within 10 s"))


def _parse(frame: str | bytes) -> Any:
    try:
        return json.loads(frame)
    except ValueError:
        return None


def _reason(body: str) -> str:
    """A refusal's body as a reason: API Gateway answers ``{"message": ...}``, the local gateway plain text."""
    text = body.strip()
    try:
        parsed = json.loads(text)
    except ValueError:
        return text
    if isinstance(parsed, dict) and isinstance(parsed.get("message"), str):
        return parsed["message"]
    return text

