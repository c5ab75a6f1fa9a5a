"""Plain ASGI middleware: security headers on every response, our own hosts only, bounded request bodies,
and serving under a sub-path."""

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Pages and the API alike: the largest form or JSON body the app takes is a few kilobytes.
MAX_BODY = 64 * 1024
# Docker's HEALTHCHECK and orchestrators' probes ask by address (127.0.0.1, a container's IP), not by name.
ANY_HOST_PATHS = frozenset({"/healthz"})

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]

# Pages carry private journal entries: never kept by a shared cache (private), and never taken from the browser's
# own HTTP cache either, not even by Back, which would show a page older than its verdict (Vary: * matches no
# later request). Not no-store, which keeps a page out of the back/forward cache too: Back after a flip shows the
# page as it was left, verdict and all, without a request. static/app.js asks again if someone else is picked since.
PRIVATE = [(b"cache-control", b"private, no-cache"), (b"vary", b"*")]


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"].removeprefix(scope.get("root_path", ""))
        is_static = path.startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", [])) + HEADERS
                if scope["scheme"] == "https":
                    headers.append((b"strict-transport-security", b"max-age=31536000"))
                if not is_static:
                    headers.extend(PRIVATE)
                elif b"v=" in scope.get("query_string", b""):
                    # A versioned static URL never changes: its content hash is in it.
                    headers.append((b"cache-control", b"public, max-age=31536000, immutable"))
                else:
                    headers.append((b"cache-control", b"public, max-age=3600"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class SubPath:
    """Serve under COINFLIP_PUBLIC_URL's path, whether the proxy passes that prefix on or strips it.

    Starlette routes on the path less root_path when it starts with it, and builds every URL with it.
    """

    def __init__(self, app: ASGIApp, root_path: str) -> None:
        self.app = app
        self.root_path = root_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.root_path and scope["type"] in ("http", "websocket"):
            scope = {**scope, "root_path": self.root_path}
        await self.app(scope, receive, send)


def route_path(scope: Scope) -> str:
    """The path the app routes on: less the sub-path if the proxy kept it, as it came if the proxy stripped it."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and (path == root or path.startswith(root + "/")):
        return path[len(root) :] or "/"
    return path


def asks_api(scope: Scope) -> bool:
    """Whether this path is the JSON API's (before routing: app.deps.is_api asks the route once there is one)."""
    return route_path(scope).startswith("/api/")


def host_name(authority: str) -> str:
    """The host of a Host header or a URL's authority, as compared: lower case, no port, brackets or final dot."""
    host = authority.strip().lower().rpartition("@")[2]
    host = host[1:].partition("]")[0] if host.startswith("[") else host.partition(":")[0]
    return host.rstrip(".")


class AllowedHosts:
    """Serve only these host names (`None`: any): a request naming another host gets `refuse` (a 400).

    Nothing the app sends is built from the Host header either (redirects are paths): this keeps a name that
    someone else points at the server (DNS rebinding) from reaching the pages at all.
    """

    def __init__(self, app: ASGIApp, hosts: frozenset[str] | None, refuse: ASGIApp) -> None:
        self.app = app
        self.hosts = hosts
        self.refuse = refuse

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.hosts is not None and scope["type"] == "http" and route_path(scope) not in ANY_HOST_PATHS:
            host = Headers(scope=scope).get("host")
            if host is None or host_name(host) not in self.hosts:
                await self.refuse(scope, receive, send)
                return
        await self.app(scope, receive, send)


class BodyLimit:
    """Refuse a request body over `limit` bytes with `refuse` (a 413) before the app sees any of it.

    A declared Content-Length over the limit is refused without reading a byte; a chunked body is counted as it
    comes and refused once it passes the limit. A body within it is read whole here, before the app runs: what
    comes next (CSRF check, login, a write queued for the writer) never waits for a client still sending.
    """

    def __init__(self, app: ASGIApp, refuse: ASGIApp, limit: int = MAX_BODY) -> None:
        self.app = app
        self.refuse = refuse
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        declared = headers.get("content-length")
        if (declared is None and "transfer-encoding" not in headers) or declared == "0":
            await self.app(scope, receive, send)  # no body at all
            return
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self.refuse(scope, receive, send)
            return
        chunks: list[bytes] = []
        size, more = 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client left before it finished sending: nobody to answer
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await self.refuse(scope, receive, send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body: Message | None = {"type": "http.request", "body": b"".join(chunks), "more_body": False}

        async def replay() -> Message:
            nonlocal body
            if body is None:
                return await receive()  # after the body, only the client's disconnect is left to wait for
            message, body = body, None
            return message

        await self.app(scope, replay, send)
