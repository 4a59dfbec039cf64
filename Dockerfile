# glasskey: the key-transparency server, its auditor and the CLI in one image.
#   docker build -t glasskey .
#   docker run --rm -p 8080:8080 -e GLASSKEY_ADMIN_TOKEN=... glasskey serve --host 0.0.0.0
# compose.yaml runs it with PostgreSQL and an auditor (`docker compose up`).
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY src ./src
RUN pip install --no-cache-dir build && python -m build --wheel --outdir /dist

FROM python:3.11-slim
# Runtime dependencies only (and psycopg for PostgreSQL): no compilers, no dev extra.
COPY --from=build /dist/*.whl /tmp/
RUN pip install --no-cache-dir "$(ls /tmp/glasskey-*.whl)[postgres]" && rm /tmp/*.whl \
    && useradd --system --uid 10001 --home-dir /var/lib/glasskey --create-home glasskey
COPY deploy/compose-setup.sh /usr/local/bin/glasskey-compose-setup
USER glasskey
WORKDIR /var/lib/glasskey
EXPOSE 8080 8788
HEALTHCHECK --interval=5s --timeout=3s --retries=12 \
    CMD python -c "import sys, urllib.request as u; sys.exit(u.urlopen('http://127.0.0.1:' + __import__('os').environ.get('GLASSKEY_PORT', '8080') + '/readyz', timeout=2).status != 200)"
ENTRYPOINT ["glasskey"]
CMD ["serve", "--host", "0.0.0.0"]
