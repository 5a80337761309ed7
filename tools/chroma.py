"""A Chroma server (`chroma run`) as Sidekick's knowledge store: `chromadb.HttpClient`, bounded.

`SIDEKICK_CHROMA_URL` turns it on; the embedded `PersistentClient` under `SIDEKICK_HOME` is
the default (`knowledge.store.open_client`). Two things the stock client does not do:

- It waits forever: its httpx session has no timeout. Every request here is bounded by
  `SIDEKICK_CHROMA_TIMEOUT_S`, and a refused, dropped or late answer is a
  `ChromaUnavailable` that names `SIDEKICK_CHROMA_URL`, never a hang or a bare httpx error.
- A proxy's 401/403 (the usual way to put auth in front of a Chroma server) comes back as a
  bare `Exception(body)`; here it is a `ChromaUnavailable` saying the credentials were refused.

Header values (`SIDEKICK_CHROMA_TOKEN`, `SIDEKICK_CHROMA_HEADERS`) are sent, never printed:
errors name the settings, not their values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

API_PATH = "/api/v2"
TENANT = "default_tenant"
#: Statuses a gateway in front of the server answers when the server itself is not there.
_GATEWAY = frozenset({502, 503, 504})


class ChromaUnavailable(RuntimeError):
    """The Chroma server at SIDEKICK_CHROMA_URL is down, too slow, or refused the request."""


@dataclass(frozen=True)
class ChromaServer:
    """Where the server is and how to talk to it (built from the settings)."""

    url: str
    database: str = "default_database"
    timeout_s: float = 10.0
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)

    @property
    def api_url(self) -> str:
        """The REST API's base, e.g. `http://chroma:8000/api/v2`."""
        return self.url.rstrip("/") + API_PATH


class _BoundedTransport(httpx.BaseTransport):
    """httpx transport that turns transport failures and refusals into ChromaUnavailable."""

    def __init__(self, server: ChromaServer) -> None:
        self._server = server
        # Plain http has no TLS: skip loading the CA bundle (0.1 s for every client).
        self._inner = httpx.HTTPTransport(verify=server.url.startswith("https:"))

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        try:
            response = self._inner.handle_request(request)
        except httpx.TimeoutException:
            raise unavailable(self._server, f"did not answer within {self._server.timeout_s:g} s "
                              "(SIDEKICK_CHROMA_TIMEOUT_S)") from None
        except httpx.TransportError as exc:
            raise unavailable(self._server, f"could not be reached ({type(exc).__name__})"
                              ) from None
        refusal = _refusal(response.status_code)
        if refusal:
            response.close()
            raise unavailable(self._server, refusal)
        return response

    def close(self) -> None:
        self._inner.close()


def _refusal(status: int) -> str | None:
    if status in (401, 403):
        return (f"refused the credentials ({status}): check SIDEKICK_CHROMA_TOKEN and "
                "SIDEKICK_CHROMA_HEADERS")
    if status in _GATEWAY:
        return f"is not available ({status} from the gateway in front of it)"
    return None


def unavailable(server: ChromaServer, why: str) -> ChromaUnavailable:
    """The error a person sees: which setting, which server, what happened."""
    return ChromaUnavailable(f"the Chroma server at SIDEKICK_CHROMA_URL={server.url} {why}")


def session(server: ChromaServer, *, base: httpx.Client | None = None) -> httpx.Client:
    """An httpx client for the server: bounded, failures mapped, the configured headers set."""
    headers = dict(base.headers) if base is not None else {}
    headers.update(server.headers)
    return httpx.Client(timeout=httpx.Timeout(server.timeout_s), headers=headers,
                        transport=_BoundedTransport(server))


def _ensure_database(http: httpx.Client, server: ChromaServer) -> None:
    """Check the server answers, and create the database on first use (like a new folder)."""
    base = f"{server.api_url}/tenants/{TENANT}/databases"
    http.get(f"{server.api_url}/heartbeat").raise_for_status()
    if http.get(f"{base}/{server.database}").status_code == 200:
        return
    created = http.post(base, json={"name": server.database})
    # 409: another host created it meanwhile.
    if created.status_code not in (200, 409):
        raise unavailable(server, f"refused to create SIDEKICK_CHROMA_DATABASE="
                          f"{server.database!r} ({created.status_code}: {created.text[:200]})")


def connect(server: ChromaServer) -> Any:
    """A `chromadb.HttpClient` for the server's database, every later request bounded.

    Raises:
        ChromaUnavailable: The server is down, too slow, or refused the credentials.

    """
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    # The stock client's first requests (identity, tenant, database) have no timeout: ask
    # first, bounded, so a dead or hung server fails here and not inside chromadb.
    with session(server) as probe:
        _ensure_database(probe, server)
    client: Any = chromadb.HttpClient(host=server.url.rstrip("/"), headers=dict(server.headers),
                                      settings=ChromaSettings(anonymized_telemetry=False),
                                      tenant=TENANT, database=server.database)
    # TRICKY: chromadb has no timeout setting; its FastAPI client keeps a `timeout=None`
    # httpx session in `_session`. Replace it with a bounded one with the same headers.
    api = client._server
    stock = api._session
    api._session = session(server, base=stock)
    stock.close()
    return client
