"""The HTTP API (FastAPI/ASGI): key uploads, verified-lookup material, transparency data.

``app.create_app`` assembles it: one router per resource (``routers``), each route a few
lines that call one ``DirectoryService`` method and encode its answer (``encoding``), with
the shared dependencies (``deps``), documentation models (``schemas``), error answers
(``errors``) and the rate-limit/metrics middleware (``middleware``).
"""
