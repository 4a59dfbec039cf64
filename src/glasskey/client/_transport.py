"""What the client drivers share around one HTTP exchange with the server: the request the
core wants (``Request``), the stepping of a core call (``Exchange``), how an answer is decoded
(errors typed: ``WrongServer``, ``NotFound``/``AbsenceClaim``, ``MalformedError``) and how a
transport failure becomes ``NetworkError``. No verification happens here."""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import httpx

from glasskey.api.errors import error_from_http, error_of_body, server_error_text
from glasskey.client._absence import AbsenceClaim
from glasskey.core.errors import GlasskeyError, MalformedError, NotFound, RequestError

DEFAULT_TIMEOUT = 10.0

T = TypeVar("T")

#: The server answered with an error: ``status``, and ``server_code`` from its JSON body. The
#: subclasses say which outcome (``NotFound``, ``Conflict``, ``Unauthenticated``, ...).
ServerError = RequestError


class NetworkError(GlasskeyError):
    """The server could not be reached or did not answer in time."""

    code = "network"


class WrongServer(GlasskeyError):
    """The base URL does not lead to a glasskey API: a 404 that is not glasskey's "no such
    user or key" (``not_found``) — a wrong path prefix, port or host. Not ``NotFound``: a
    wrong URL must never read as "this user has no key"."""

    code = "wrong_server"


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request the core wants made; the driver answers with its decoded JSON body."""

    method: str
    path: str
    params: Mapping[str, int | float] = field(default_factory=dict)
    json: Mapping[str, str] | None = None
    token: str | None = None  # sent as a bearer token


def _describe(status: int, code: str, message: str) -> str:
    """glasskey's own "no such user or key" in its own words; other errors with their status."""
    if status == 404 and code == "not_found":
        return message
    return server_error_text(status, code, message)


def decode_answer(response: httpx.Response) -> Any:
    if response.status_code == 404 and error_of_body(response.content)[0] != "not_found":
        request = response.request
        url = str(request.url).split("?", 1)[0]
        raise WrongServer(
            f"{_base_of(url)} does not look like a glasskey server: "
            f"{request.method} {url} answered 404 (no such endpoint); check --server"
        )
    if response.status_code >= 400:
        error = error_from_http(response.status_code, response.content, _describe)
        if isinstance(error, NotFound):
            try:
                body = response.json()
            except ValueError:
                body = None
            if isinstance(body, dict) and isinstance(body.get("absence"), dict):
                raise AbsenceClaim(error, body["absence"])
        raise error
    try:
        return response.json()
    except ValueError:
        raise MalformedError("the server's response is not JSON") from None


#: Where the paths the clients request start (their base URL is what comes before).
_API_PATHS = ("/api/transparency/", "/api/crypto/", "/api/auth/", "/api/admin/", "/namespaces/")


def _base_of(url: str) -> str:
    """The base URL a request went to: ``url`` without the API path the client added."""
    index = max(url.rfind(api) for api in _API_PATHS)
    return url[:index] if index > 0 else url


class Exchange(Generic[T]):
    """One core call being driven: the request it wants next, then its typed result.

    Both drivers use it, so the stepping is written once and a driver only does the I/O
    between ``request`` and ``answer``. The generator runs under ``yield from``, which hands
    its return value back with its type (a bare ``StopIteration.value`` is untyped).
    """

    def __init__(self, steps: Generator[Request, Any, T]) -> None:
        self._result: list[T] = []
        self._running = self._collect(steps)
        #: The request to make next; None once the call has returned.
        self.request: Request | None = next(self._running, None)

    def _collect(self, steps: Generator[Request, Any, T]) -> Generator[Request, Any, None]:
        self._result.append((yield from steps))

    def answer(self, response: httpx.Response) -> None:
        """Give the core the answer (it raises here if the answer does not verify).

        An error answer is raised inside the core, at the request that got it, so that the
        core may handle it (owner monitoring turns a missing history into its own finding).
        """
        error: RequestError | None = None
        try:
            body = decode_answer(response)
        except RequestError as exc:
            error = exc
        if error is not None:
            self._step(lambda: self._running.throw(error))
        else:
            self._step(lambda: self._running.send(body))

    def _step(self, advance: Callable[[], Request]) -> None:
        try:
            self.request = advance()
        except StopIteration:
            self.request = None

    def result(self) -> T:
        (value,) = self._result
        return value


def outgoing(http: httpx.Client | httpx.AsyncClient, request: Request) -> httpx.Request:
    headers = {"Authorization": f"Bearer {request.token}"} if request.token else {}
    return http.build_request(
        request.method, request.path, params=request.params, json=request.json, headers=headers
    )


@contextmanager
def reaching(server: str) -> Iterator[None]:
    """Transport failures become ``NetworkError`` (not alerts: nothing was verified)."""
    try:
        yield
    except httpx.HTTPError as exc:
        raise NetworkError(f"cannot reach {server}: {exc}") from None
