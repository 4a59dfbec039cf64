"""The public surface: every exported name imports, and importing a layer loads nothing above it.

The runtime checks run in a fresh interpreter, since this one has long since imported all of
glasskey.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import subprocess
import sys

import pytest

import glasskey

#: Packages whose ``__init__`` is a public API and must say so with ``__all__``.
PUBLIC_PACKAGES = [
    "glasskey",
    "glasskey.auditor",
    "glasskey.client",
    "glasskey.core",
    "glasskey.core.akd",
    "glasskey.core.plexi",
    "glasskey.directory",
    "glasskey.log",
    "glasskey.server",
    "glasskey.storage",
    "glasskey.witness",
]

#: Libraries of the layers above core (HTTP, web, CLI, database).
UPPER_LIBRARIES = ["httpx", "fastapi", "starlette", "uvicorn", "typer", "rich", "psycopg"]


def all_modules() -> list[str]:
    """Every module of the package except ``__main__`` files (importing one runs the CLI)."""
    names = ["glasskey"]
    for info in pkgutil.walk_packages(glasskey.__path__, "glasskey."):
        if not info.name.endswith(".__main__"):
            names.append(info.name)
    return names


def modules_loaded_by(code: str) -> list[str]:
    """The modules a fresh interpreter has loaded after running ``code``."""
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    return list(json.loads(result.stdout.splitlines()[-1]))


@pytest.mark.parametrize("name", PUBLIC_PACKAGES)
def test_public_packages_declare_all(name: str) -> None:
    module = importlib.import_module(name)
    assert isinstance(getattr(module, "__all__", None), list), f"{name} has no __all__"
    assert module.__all__, f"{name}.__all__ is empty"


@pytest.mark.parametrize("name", all_modules())
def test_every_name_in_all_imports(name: str) -> None:
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", [])
    assert len(set(exported)) == len(exported), f"{name}.__all__ repeats a name"
    missing = [attr for attr in exported if not hasattr(module, attr)]
    assert not missing, f"{name}.__all__ names what it does not have: {missing}"
    namespace: dict[str, object] = {}
    exec(f"from {name} import *", namespace)  # what a star import actually binds
    assert set(exported) <= set(namespace)


def test_lookup_verify_imports_from_the_akd_package() -> None:
    """The form the README and ``glasskey.core`` advertise."""
    from glasskey.core.akd import get_configuration, lookup_verify
    from glasskey.core.akd.verify import lookup_verify as defined

    assert lookup_verify is defined
    assert get_configuration("whatsapp_v1").name == "whatsapp_v1"


def test_core_loads_nothing_above_it() -> None:
    core = [name for name in all_modules() if name.startswith("glasskey.core")]
    loaded = modules_loaded_by("\n".join(f"import {name}" for name in core))
    upper = [m for m in loaded if m.startswith("glasskey.") and not m.startswith("glasskey.core")]
    assert upper == []
    assert [m for m in loaded if m.split(".")[0] in UPPER_LIBRARIES] == []


def test_import_glasskey_is_cheap() -> None:
    """``import glasskey`` runs before every ``import glasskey.x``: it loads no other module
    of glasskey and no library until a name is used."""
    loaded = modules_loaded_by("import glasskey")
    assert [m for m in loaded if m.startswith("glasskey.")] == []
    assert [m for m in loaded if m.split(".")[0] in UPPER_LIBRARIES] == []


def test_top_level_names_are_the_packages_own() -> None:
    from glasskey.client import GlasskeyClient
    from glasskey.core.errors import VerificationError

    assert glasskey.GlasskeyClient is GlasskeyClient
    assert glasskey.VerificationError is VerificationError
    assert set(glasskey.__all__) <= set(dir(glasskey))
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        _ = glasskey.nothing  # type: ignore[attr-defined]
