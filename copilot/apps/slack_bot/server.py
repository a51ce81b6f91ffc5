"""HTTP mode's server (:func:`make_http_server`): threaded, and gated so that a request is refused from its head,
before bolt's adapter reads a byte of its body (other paths, other methods, no or a malformed ``Content-Length``,
a body over the cap); a refused client still gets to read its answer."""

from __future__ import annotations

import logging
import re
import socket
import socketserver
import time
import urllib.parse
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, cast
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from copilot.core.errors import ConfigurationError

if TYPE_CHECKING:  # slack-bolt is the optional 'slack' extra: imported when the bot is built
    from slack_bolt import App

log = logging.getLogger("copilot.slack")

EVENTS_PATH = "/slack/events"
"""The one request URL for events and interactivity (HTTP mode)."""
MAX_BODY_KB = 1024
"""Default cap on a request body in HTTP mode, in KiB (Slack's events and button payloads are a few KiB)."""
SOCKET_TIMEOUT_S = 30.0
"""HTTP mode: a connection that sends nothing for this long is dropped (a slow client cannot hold a thread)."""
LINGER_S = 2.0
LINGER_BYTES = 1 << 20
"""After a refusal the server stops writing and discards at most this much (for at most ``LINGER_S``) of what
the client still sends, so that the client reads the refusal instead of a connection reset."""


class _ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    events_path: str = EVENTS_PATH
    max_body_bytes: int = MAX_BODY_KB * 1024


_CONTENT_LENGTH = re.compile(r"[0-9]{1,18}")


class _GatedHandler(WSGIRequestHandler):
    """wsgiref's request handler with a gate between the request head and the WSGI app.

    bolt's WSGI adapter reads the whole body (``Content-Length`` bytes) before it checks the signature, so the
    gate answers from the head alone, before a byte of the body is read: other paths 404, other methods 405,
    no ``Content-Length`` or any ``Transfer-Encoding`` 411, a malformed length 400, a body over the server's
    cap 413. Requests that pass reach bolt, which reads exactly the declared length.
    """

    timeout = SOCKET_TIMEOUT_S

    def log_message(self, format: str, *args: Any) -> None:
        log.info("%s %s", self.address_string(), format % args)

    def handle(self) -> None:
        try:
            super().handle()
        except TimeoutError:
            self.close_connection = True
            log.info("%s timed out after %.0f s without data", self.address_string(), SOCKET_TIMEOUT_S)

    def parse_request(self) -> bool:
        if not super().parse_request():
            return False  # an error was sent
        refusal = self._refusal()
        if refusal is None:
            return True
        self._refuse(*refusal)
        return False  # wsgiref's handle() stops here: the app is not called

    def _refusal(self) -> tuple[int, str, Iterable[tuple[str, str]]] | None:
        server = cast(_ThreadingWSGIServer, self.server)
        path = urllib.parse.unquote(self.path.split("?", 1)[0], "iso-8859-1")  # as wsgiref makes PATH_INFO, which bolt matches
        if path != server.events_path:
            return 404, f"Slack posts to {server.events_path}", ()
        if self.command != "POST":
            return 405, "Slack's requests are POSTs", (("Allow", "POST"),)
        if self.headers.get("Transfer-Encoding") is not None:
            return 411, "a body with a Content-Length is required (no Transfer-Encoding)", ()
        lengths = {value.strip() for value in self.headers.get_all("Content-Length") or []}
        if not lengths:
            return 411, "a Content-Length is required", ()
        if len(lengths) > 1 or not _CONTENT_LENGTH.fullmatch(next(iter(lengths))):
            return 400, "a malformed Content-Length", ()
        if int(next(iter(lengths))) > server.max_body_bytes:
            return 413, f"the body may have at most {server.max_body_bytes} bytes", ()
        return None

    def _refuse(self, code: int, explain: str, headers: Iterable[tuple[str, str]]) -> None:
        body = f"{code} {self.responses.get(code, ('',))[0]}: {explain}\n".encode()
        self.close_connection = True
        self.send_response(code)
        for name, value in [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body))), ("Connection", "close"), *headers]:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()
        self._linger()

    def _linger(self) -> None:
        """Stop writing, then discard (a bounded amount of) what the client still sends until it closes: closing
        with unread data would reset the connection, and the client could lose the answer."""
        sock = self.connection
        try:
            sock.shutdown(socket.SHUT_WR)
            deadline, left = time.monotonic() + LINGER_S, LINGER_BYTES
            while left > 0 and (wait := deadline - time.monotonic()) > 0:
                sock.settimeout(wait)
                chunk = sock.recv(min(65536, left))
                if not chunk:
                    break
                left -= len(chunk)
        except OSError:  # the client has gone, or the time is up
            pass


def make_http_server(app: App, host: str = "127.0.0.1", port: int = 3000, path: str = EVENTS_PATH, *, max_body_kb: int = MAX_BODY_KB) -> WSGIServer:
    """A threaded HTTP server for Slack's requests (events and interactivity on ``path``); call ``serve_forever()``.

    A request is checked from its head before its body is read (see :class:`_GatedHandler`): only POSTs to
    ``path`` with a ``Content-Length`` of at most ``max_body_kb`` KiB reach bolt.
    """
    from slack_bolt.adapter.wsgi import SlackRequestHandler

    if max_body_kb < 1:
        raise ConfigurationError(f"the body limit must be at least 1 KiB, not {max_body_kb}")
    server = make_server(host, port, SlackRequestHandler(app, path), server_class=_ThreadingWSGIServer, handler_class=_GatedHandler)
    server.events_path = path
    server.max_body_bytes = max_body_kb * 1024
    return server
