"""The local host's HTTP server defends itself as the Functions front end does.

In Azure, requests reach the app through the Functions host, an ASP.NET Core app on Kestrel, whose
default limits refuse what uvicorn (on httptools) would hold for as long as a client likes:
https://learn.microsoft.com/aspnet/core/fundamentals/servers/kestrel/options

- at most 100 header fields and 32 KiB of them: 431 (MaxRequestHeaderCount,
  MaxRequestHeadersTotalSize); a request line of at most 8 KiB: 414 (MaxRequestLineSize);
- the request head within 30 s: 408 (RequestHeadersTimeout);
- a body arriving at 240 bytes/s at least, after a 5 s grace period: 408, and the connection is
  closed (MinRequestBodyDataRate). Time when the server itself stopped reading (the app had
  not taken what was buffered) does not count against the client.

A refused request is answered in the gateway's error shape and the connection closed; the app
sees a disconnect if it was waiting for the body. The checks hook uvicorn's httptools protocol at
its parser callbacks: a request whose head and body arrive in one read (almost all of them)
arms no timer at all. Never deployed (see .funcignore).
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import (
    STATUS_LINE,
    HttpToolsProtocol,
    RequestResponseCycle,
)

from functions.http_frame import new_request_id
from shared.domain.errors import GatewayError
from shared.http.error_map import error_body

log = logging.getLogger("devhost.http")


@dataclass(frozen=True, slots=True)
class HttpLimits:
    max_header_count: int = 100
    max_header_bytes: int = 32 * 1024
    max_request_line_bytes: int = 8 * 1024
    headers_timeout_seconds: float = 30.0
    min_body_bytes_per_second: float = 240.0
    body_grace_seconds: float = 5.0


class _Refusal(GatewayError):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message, code=code)
        self.status = status


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the limits of ``limits`` (see guarded_protocol).

    Per request it adds two calls (a read, the end of a head) and a few attribute checks: where
    a request stands is read from uvicorn's own state (a scope not yet handed to a cycle is a
    head being read; a cycle with more_body, a body arriving), the head's size is summed only
    when the reads that carried it were large enough for it to matter, and a timer is armed only
    while a head or body is incomplete at the end of a read.
    """

    limits: ClassVar[HttpLimits] = HttpLimits()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._refused = False
        self._chunk = 0  # the length of the read being parsed
        self._head_received = 0  # bytes read while the current head was incomplete
        self._head_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None
        self._watched: RequestResponseCycle | None = None  # whose body the body timer watches
        self._body_since = 0.0
        self._body_bytes = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        # The first request's head is due within the timeout from the connection's start
        # (between later requests, uvicorn's keep-alive timeout applies).
        self._head_timer = self.loop.call_later(
            self.limits.headers_timeout_seconds, self._head_timed_out
        )

    def _reading_head(self) -> bool:
        """A request has begun (a scope) whose head is not complete (no cycle holds it)."""
        scope, cycle = self.scope, self.cycle
        return scope is not None and (cycle is None or cycle.scope is not scope)

    # --- reading -----------------------------------------------------------------------
    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # the answer is written and the connection is closing
        scope, cycle = self.scope, self.cycle
        if scope is None or (cycle is not None and cycle.scope is scope):
            self._head_received = 0  # no head under way before this read
        self._chunk = len(data)
        HttpToolsProtocol.data_received(self, data)
        if self._refused or self.transport.is_closing():
            return
        watched = self._watched
        if watched is not None:
            if watched is self.cycle and watched.more_body:
                self._body_bytes += self._chunk  # read while its body was arriving
            else:
                self._stop_watching()
        if self._reading_head():
            # A field still being read is buffered by the parser, not yet seen: bound the
            # bytes of an unfinished head too.
            self._head_received += self._chunk
            limits = self.limits
            if self._head_received > limits.max_header_bytes + limits.max_request_line_bytes:
                self._refuse(_headers_too_large(limits))
            elif self._head_timer is None:
                self._head_timer = self.loop.call_later(
                    limits.headers_timeout_seconds, self._head_timed_out
                )
            return
        cycle = self.cycle
        if self._watched is None and cycle is not None and cycle.more_body:
            # The head is in, the body is not: from here the client owes the minimum rate.
            self._watched = cycle
            self._body_since = self.loop.time()
            self._body_bytes = len(cycle.body)  # what came with the head (the app has not run)
            self._body_timer = self.loop.call_later(
                self.limits.body_grace_seconds, self._check_body_rate
            )

    def on_headers_complete(self) -> None:
        if self._refused:
            return
        limits = self.limits
        refusal = None
        if len(self.headers) > limits.max_header_count:
            refusal = _headers_too_large(limits)
        elif self._head_received + self._chunk > limits.max_request_line_bytes:
            refusal = self._head_too_large()  # it may be: measure it
        if refusal is not None:
            self._refuse(refusal)  # before the app is started for it
            return
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        super().on_headers_complete()

    def _head_too_large(self) -> _Refusal | None:
        limits = self.limits
        if len(self.url) > limits.max_request_line_bytes:
            message = f"the request line exceeds {limits.max_request_line_bytes} bytes"
            return _Refusal(414, "uri_too_long", message)
        # As on the wire: name, ": ", value, CRLF.
        size = sum(len(name) + len(value) + 4 for name, value in self.headers)
        return _headers_too_large(limits) if size > limits.max_header_bytes else None

    # The parser goes on through the read that held a refused head: nothing more for it.
    def on_body(self, body: bytes) -> None:
        if not self._refused:
            HttpToolsProtocol.on_body(self, body)

    def on_message_complete(self) -> None:
        if not self._refused:
            HttpToolsProtocol.on_message_complete(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timers()
        super().connection_lost(exc)

    # --- timers ------------------------------------------------------------------------
    def _stop_watching(self) -> None:
        self._watched = None
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None

    def _cancel_timers(self) -> None:
        self._stop_watching()
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.scope is None or self._reading_head():  # nothing yet, or half a head
            seconds = self.limits.headers_timeout_seconds
            self._refuse(_Refusal(408, "request_timeout", f"headers not received in {seconds}s"))

    def _check_body_rate(self) -> None:
        self._body_timer = None
        cycle = self._watched
        if cycle is None or cycle is not self.cycle or not cycle.more_body:
            self._watched = None
            return
        now = self.loop.time()
        rate = self.limits.min_body_bytes_per_second
        if self.flow.read_paused:
            # The server stopped reading (the app has not taken the buffer): the client is not
            # slow; move the start so the time spent paused is not counted.
            self._body_since = now - self._body_bytes / rate
            self._body_timer = self.loop.call_later(1.0, self._check_body_rate)
            return
        due = self._body_since + self._body_bytes / rate  # when the bytes so far run out
        if due > now:
            self._body_timer = self.loop.call_later(due - now, self._check_body_rate)
            return
        self._refuse(
            _Refusal(408, "request_timeout", f"the request body arrived slower than {rate} B/s")
        )

    # --- refusing ----------------------------------------------------------------------
    def _refuse(self, error: _Refusal) -> None:
        """Answer ``error`` (unless the app already answered), tell a waiting app the client
        is gone, and close the connection."""
        self._refused = True
        self._cancel_timers()
        cycle: RequestResponseCycle | None = self.cycle
        if cycle is not None and cycle.scope is not self.scope:
            cycle = None  # the cycle of an earlier request: this one has none yet
        if cycle is None or not cycle.response_started:
            self.transport.write(_response_bytes(error))
        if cycle is not None:
            cycle.disconnected = True  # the app's receive() answers http.disconnect
            cycle.message_event.set()
        log.info("refused %s %s from %s", error.status, error.code, self.client)
        self.transport.close()

    def send_400_response(self, msg: str) -> None:
        if not self._refused:
            super().send_400_response(msg)


def _headers_too_large(limits: HttpLimits) -> _Refusal:
    return _Refusal(
        431,
        "headers_too_large",
        f"at most {limits.max_header_count} header fields and {limits.max_header_bytes} bytes",
    )


def _response_bytes(error: _Refusal) -> bytes:
    request_id = new_request_id()
    body = json.dumps(error_body(error, request_id), separators=(",", ":")).encode()
    head = (
        b"content-type: application/json\r\n"
        b"content-length: %d\r\nx-request-id: %s\r\nconnection: close\r\n\r\n"
        % (len(body), request_id.encode())
    )
    return STATUS_LINE[error.status] + head + body


def guarded_protocol(limits: HttpLimits) -> type[GuardedHttpToolsProtocol]:
    """The protocol class to hand uvicorn (it instantiates one per connection)."""
    return type("GuardedHttpToolsProtocol", (GuardedHttpToolsProtocol,), {"limits": limits})
