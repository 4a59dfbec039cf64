"""ASGI entry point for running several server processes (``uvicorn --workers``, gunicorn).

Each worker builds its own service from the settings ``glasskey serve`` put in the
environment (``GLASSKEY_SERVE_SETTINGS``, JSON without secrets); keys come from the usual
places (environment or key files). The workers share the database: one of them wins the
publisher election, all of them serve reads.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from glasskey.core.ecvrf import VrfSecretKey
from glasskey.server._keyfiles import dev_key_dir, load_signing_key, load_vrf_seed
from glasskey.server._logs import configure_logging
from glasskey.server._service import create_service
from glasskey.server._settings import ServerSettings
from glasskey.server.app import create_app
from glasskey.storage._urls import parse_database_url

SETTINGS_ENV = "GLASSKEY_SERVE_SETTINGS"
ADMIN_TOKEN_ENV = "GLASSKEY_ADMIN_TOKEN"
AUDITOR_TOKEN_ENV = "GLASSKEY_AUDITOR_TOKEN"

log = logging.getLogger("glasskey.server")


def settings_to_env(
    settings: ServerSettings,
    key_files: dict[str, str | None],
    logging_options: dict[str, Any] | None = None,
) -> str:
    """The JSON a worker rebuilds its service from: settings without secrets, the key file
    paths, and how to log (each worker is a fresh process: uvicorn's ``--workers`` spawns
    them, so the parent's logging configuration does not reach them)."""
    data = asdict(settings)
    data.pop("admin_token", None)
    data.pop("auditor_token", None)  # secrets stay in their own variables
    data["domain_label"] = settings.domain_label.decode() if settings.domain_label else None
    data["_key_files"] = key_files
    data["_logging"] = logging_options
    return json.dumps(data)


def build_app(
    settings: ServerSettings, signing_key_file: str | None, vrf_key_file: str | None
) -> FastAPI:
    dev_dir = key_dir_for(settings.db_url)
    signer = load_signing_key(signing_key_file, dev_dir)
    vrf = VrfSecretKey(load_vrf_seed(vrf_key_file, dev_dir))
    return create_app(create_service(settings, signer, vrf))


def key_dir_for(db_url: str) -> Path:
    """Development keys live in ``glasskey-dev-keys/`` next to a SQLite database, else in the
    working folder (see ``_keyfiles.dev_key_dir``)."""
    path = parse_database_url(db_url).path
    return dev_key_dir(Path(path).resolve().parent if path is not None else Path.cwd())


def app_from_env() -> FastAPI:
    raw: dict[str, Any] = json.loads(os.environ[SETTINGS_ENV])
    key_files = raw.pop("_key_files", {}) or {}
    logging_options = raw.pop("_logging", None)
    if logging_options is not None:
        configure_logging(str(logging_options["level"]), bool(logging_options["json"]))
    known = {f.name for f in fields(ServerSettings)}
    values = {k: v for k, v in raw.items() if k in known}
    if values.get("domain_label"):
        values["domain_label"] = values["domain_label"].encode()
    values["trusted_proxies"] = tuple(values.get("trusted_proxies") or ())
    values["witnesses"] = tuple(values.get("witnesses") or ())
    values["admin_token"] = os.environ.get(ADMIN_TOKEN_ENV) or None
    values["auditor_token"] = os.environ.get(AUDITOR_TOKEN_ENV) or None
    application = build_app(
        ServerSettings(**values), key_files.get("signing"), key_files.get("vrf")
    )
    log.info("worker %d serving", os.getpid())
    return application
