"""Fixtures for message tests: the chat tests' `people` (users each with a socket)."""

from __future__ import annotations

from chats.conftest import people

__all__ = ["people"]
