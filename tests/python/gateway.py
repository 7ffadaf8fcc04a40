"""Starts the local gateway (target/debug/mcp-local unless MCP_LOCAL_BIN says otherwise) on a
free loopback port, as tests/node/lib/gateway.mjs does: MCP_LOCAL_EXTRA_ARGS (the Lambda
lane's flags, in the test command) come before the test's own arguments."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = os.environ.get("MCP_LOCAL_BIN", str(ROOT / "target/debug/mcp-local"))


@dataclass
class Gateway:
    process: subprocess.Popen[str]
    base: str
    stderr_path: str

    @property
    def http_url(self) -> str:
        return f"{self.base}/mcp"

    @property
    def ws_url(self) -> str:
        return self.base.replace("http://", "ws://", 1) + "/ws"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
        if self.process.stdout is not None:
            self.process.stdout.close()


def start_gateway(*more: str, instances: int = 2) -> Gateway:
    extra = shlex.split(os.environ.get("MCP_LOCAL_EXTRA_ARGS", ""))
    args = [BIN, "--host", "127.0.0.1", "--port", "0", "--instances", str(instances), *extra, *more]
    stderr = tempfile.NamedTemporaryFile("w", prefix="mcp-gateway-", suffix=".log", delete=False)
    env = {**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "warn")}
    with stderr:
        process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=stderr, text=True, env=env)
    assert process.stdout is not None
    seen = ""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen += line
        url = re.search(r"Streamable HTTP\s+(http://\S+)/mcp", seen)
        if url and re.search(r"access key id \S+\)", seen):
            # Keep reading what it prints, so that a full pipe never blocks it.
            threading.Thread(target=process.stdout.read, daemon=True).start()
            return Gateway(process, url.group(1), stderr.name)
    process.kill()
    raise RuntimeError(f"gateway did not start:\n{seen}\n{Path(stderr.name).read_text()}")


def mint_token(gateway: Gateway, key_path: str, subject: str) -> str:
    out = subprocess.run(
        [BIN, "mint-token", "--gateway", gateway.base, "--auth-key", key_path, "--subject", subject],
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
    )
    return out.stdout.strip()
