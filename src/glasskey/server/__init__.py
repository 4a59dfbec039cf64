"""The key-transparency server: ``DirectoryService`` and the HTTP API in front of it.

Embedding it in another ASGI process takes the same steps as ``glasskey serve``::

    settings = ServerSettings(db_url="sqlite:///glasskey.db")
    signer = load_signing_key(None, Path("."))
    vrf_key = VrfSecretKey(load_vrf_seed(None, Path(".")))
    app = create_app(create_service(settings, signer, vrf_key))
"""

from glasskey.server._keyfiles import load_signing_key, load_vrf_seed
from glasskey.server._service import DirectoryService, create_service
from glasskey.server._settings import ServerSettings
from glasskey.server.app import create_app

__all__ = [
    "DirectoryService",
    "ServerSettings",
    "create_app",
    "create_service",
    "load_signing_key",
    "load_vrf_seed",
]
