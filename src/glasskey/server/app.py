"""The server's ASGI app factory, ``create_app`` (built in ``glasskey.server.http``)."""

from glasskey.server.http.app import create_app

__all__ = ["create_app"]
