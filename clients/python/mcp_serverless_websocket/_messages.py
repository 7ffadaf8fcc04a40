"""JSON-RPC messages between the wire (plain dicts) and the ``mcp`` package's types, in
either line: 1.x wraps every message in the ``JSONRPCMessage`` root model, 2.x validates
them with a type adapter (in ``mcp_types``)."""

from __future__ import annotations

from typing import Any

try:  # mcp 2.x
    from mcp_types import jsonrpc_message_adapter

    def from_wire(message: dict[str, Any]) -> Any:
        return jsonrpc_message_adapter.validate_python(message, by_name=False)

    def to_wire(message: Any) -> dict[str, Any]:
        return message.model_dump(by_alias=True, mode="json", exclude_unset=True)

except ImportError:  # mcp 1.x
    from mcp.types import JSONRPCMessage

    def from_wire(message: dict[str, Any]) -> Any:
        return JSONRPCMessage.model_validate(message)

    def to_wire(message: Any) -> dict[str, Any]:
        return message.model_dump(by_alias=True, mode="json", exclude_none=True)
