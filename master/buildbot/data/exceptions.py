"""Errors of the data API, turned into HTTP/JSON-RPC errors by the web layer."""

from __future__ import annotations


class DataException(Exception):
    pass


class InvalidPathError(DataException):
    """No endpoint matches the path."""


class InvalidControlException(DataException):
    """The endpoint has no such control action."""


class InvalidQueryParameter(DataException):
    """A filter, field, order or page the endpoint cannot accept."""


class InvalidControlArguments(DataException):
    """A control action refused its arguments: the client's error (HTTP 400).

    `message` is what the client is told: a string, or an object mapping each
    offending field to why.
    """

    @property
    def message(self):
        return self.args[0] if self.args else ""
