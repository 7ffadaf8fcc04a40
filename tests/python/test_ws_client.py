"""The project's Python WebSocket transport (clients/python) under the ``mcp`` package the
environment has: 1.x (``ClientSession``, the session era) or 2.x (``Client``: 2026-07-28 with
``mode="auto"``, the session era with ``mode="legacy"``). The test command runs this file
once in an environment of each, against the local gateway and the Lambda lane
(MCP_LOCAL_EXTRA_ARGS). The gateway closes connections as API Gateway does, here after seconds."""

from __future__ import annotations

import os
import tempfile
import unittest
from contextlib import asynccontextmanager
from importlib.metadata import version
from typing import Any

import anyio

from gateway import Gateway, mint_token, start_gateway
from mcp_serverless_websocket import (
    LIMIT_EXCEEDED,
    HandshakeError,
    LimitError,
    Reconnected,
    SessionRestartedError,
    websocket_client,
)

MCP_2 = version("mcp").startswith("2.")
IDLE_SECONDS = 2
LIFETIME_SECONDS = 12
WAIT = 15.0

gateway: Gateway
authed: Gateway
key_path: str


def setUpModule() -> None:
    global gateway, authed, key_path
    gateway = start_gateway("--ws-idle-seconds", str(IDLE_SECONDS), "--ws-lifetime-seconds", str(LIFETIME_SECONDS))
    key_path = os.path.join(tempfile.mkdtemp(prefix="mcp-py-client-"), "issuer.pem")
    authed = start_gateway("--auth", "--auth-key", key_path)


def tearDownModule() -> None:
    gateway.stop()
    authed.stop()


class Seen:
    """What a connection reported: errors on the read stream, and each new connection."""

    def __init__(self) -> None:
        self.errors: list[Exception] = []
        self.reconnects: list[Reconnected] = []

    async def message_handler(self, message: Any) -> None:
        if isinstance(message, Exception):
            self.errors.append(message)


@asynccontextmanager
async def connected(url: str, *, era: str = "session", **options: Any):
    """A connected client of the installed `mcp` line, speaking `era` ("session" or "2026")."""
    seen = Seen()
    transport = websocket_client(url, on_reconnect=seen.reconnects.append, **options)
    if MCP_2:
        from mcp.client import Client

        mode = "auto" if era == "2026" else "legacy"
        async with Client(transport, mode=mode, message_handler=seen.message_handler, read_timeout_seconds=WAIT) as client:
            yield client, seen
    else:
        if era != "session":
            raise unittest.SkipTest("mcp 1.x speaks the session era only")
        from datetime import timedelta

        from mcp import ClientSession

        async with transport as (read, write):
            session = ClientSession(
                read, write, message_handler=seen.message_handler, read_timeout_seconds=timedelta(seconds=WAIT)
            )
            async with session:
                await session.initialize()
                yield session, seen


async def echo(client: Any, text: str) -> str:
    result = await client.call_tool("echo", {"text": text})
    return result.content[0].text


async def until(what: str, check) -> None:
    with anyio.fail_after(WAIT):
        while not check():
            await anyio.sleep(0.05)


ERAS = ["session", "2026"] if MCP_2 else ["session"]


class BothEras(unittest.IsolatedAsyncioTestCase):
    async def test_tools_over_the_transport_in_each_era(self) -> None:
        for era in ERAS:
            with self.subTest(era=era):
                async with connected(gateway.ws_url, era=era) as (client, _):
                    tools = await client.list_tools()
                    self.assertIn("echo", [t.name for t in tools.tools])
                    self.assertEqual(await echo(client, f"hello {era}"), f"hello {era}")


class TokensAndRefusals(unittest.IsolatedAsyncioTestCase):
    async def test_the_token_as_subprotocol_and_as_header(self) -> None:
        for token_in in ["subprotocol", "header"]:
            with self.subTest(token_in=token_in):
                token = mint_token(authed, key_path, f"py-{token_in}")
                async with connected(authed.ws_url, token=token, token_in=token_in) as (client, _):
                    self.assertEqual(await echo(client, token_in), token_in)

    async def test_no_token_is_a_handshake_error_with_401_and_the_reason(self) -> None:
        with self.assertRaises(HandshakeError) as refused:
            async with connected(authed.ws_url, reconnects=0):
                pass
        self.assertEqual(refused.exception.status, 401)
        self.assertTrue(refused.exception.reason, "the refusal says why")
        self.assertIn("HTTP 401", str(refused.exception))

    async def test_an_unknown_server_is_a_handshake_error_with_404(self) -> None:
        with self.assertRaises(HandshakeError) as refused:
            async with connected(f"{gateway.ws_url}?server=nobody-registered-this"):
                pass
        self.assertEqual(refused.exception.status, 404)


class Limits(unittest.IsolatedAsyncioTestCase):
    async def test_a_message_over_128_kib_fails_with_a_limit_error_before_it_is_sent(self) -> None:
        async with connected(gateway.ws_url) as (client, seen):
            with self.assertRaises(Exception) as failed:
                await echo(client, "x" * (140 * 1024))
            self.assertIn(str(LIMIT_EXCEEDED), repr(failed.exception) + str(getattr(failed.exception, "error", "")))
            self.assertTrue(any(isinstance(e, LimitError) for e in seen.errors), seen.errors)
            self.assertEqual(await echo(client, "after"), "after", "the connection goes on")

    async def test_the_servers_own_minus_32010_is_a_limit_error(self) -> None:
        # Without the transport's check the server refuses the message, which it could not
        # read, so without the request's id: the transport reports it, the connection goes on.
        async with connected(gateway.ws_url, max_message_bytes=1 << 30) as (client, seen):
            async with anyio.create_task_group() as tasks:

                async def oversized() -> None:
                    with anyio.move_on_after(WAIT):
                        try:
                            await echo(client, "y" * (140 * 1024))
                        except Exception:
                            pass

                tasks.start_soon(oversized)
                await until("the server's -32010", lambda: any(isinstance(e, LimitError) for e in seen.errors))
                tasks.cancel_scope.cancel()
            limit = next(e for e in seen.errors if isinstance(e, LimitError))
            self.assertIn("131072 byte limit", str(limit))
            self.assertEqual(await echo(client, "still"), "still")


class ApiGatewayCloses(unittest.IsolatedAsyncioTestCase):
    async def test_keepalive_holds_an_idle_connection_and_without_it_the_transport_reconnects(self) -> None:
        era = ERAS[-1]
        async with connected(gateway.ws_url, era=era, keepalive=0.5) as (kept, kept_seen):
            async with connected(gateway.ws_url, era=era, keepalive=0) as (dropped, dropped_seen):
                await anyio.sleep(IDLE_SECONDS + 1.5)
                await until("the unpinged connection to reconnect", lambda: dropped_seen.reconnects)
                self.assertEqual(kept_seen.reconnects, [], "the pinged connection stayed open")
                self.assertEqual(kept_seen.errors, [], "every keepalive was answered")
                self.assertEqual(await echo(kept, "kept"), "kept")
                self.assertEqual(await echo(dropped, "back"), "back")

    async def test_at_the_lifetime_the_session_era_gets_a_new_session_and_2026_goes_on(self) -> None:
        # Every era at once: each waits out the whole lifetime.
        outcomes: dict[str, tuple[bool, bool, str]] = {}

        async def one(era: str) -> None:
            async with connected(gateway.ws_url, era=era, keepalive=0.5) as (client, seen):
                await until("the connection to reach its lifetime and reconnect", lambda: seen.reconnects)
                told = any(isinstance(e, SessionRestartedError) for e in seen.errors)
                outcomes[era] = (seen.reconnects[0].session_restarted, told, await echo(client, "again"))

        async with anyio.create_task_group() as tasks:
            for era in ERAS:
                tasks.start_soon(one, era)
        for era in ERAS:
            restarted = era == "session"
            self.assertEqual(outcomes[era], (restarted, restarted, "again"), era)


if __name__ == "__main__":
    unittest.main()
