#!/bin/sh
# compose.yaml's one-shot set-up: the secrets a development stack needs, made once and kept in
# the `secrets` volume (a production deployment brings its own: see docs/operator.md).
#   keys       the log's signing and VRF keys, the admin token, the auditor's signing key and
#              admin token, the log's owner token at the auditor
#   namespace  registers the log's namespace at the auditor (idempotent)
set -eu
cd "${GLASSKEY_SECRETS:-/secrets}"
new_token() { python -c 'import secrets; print(secrets.token_urlsafe(32))'; }
case "${1:-keys}" in
keys)
    [ -s signing-key ] || glasskey keygen --env --origin "${GLASSKEY_ORIGIN}" \
        | sed -n 's/^GLASSKEY_SIGNING_KEY=//p' > signing-key
    [ -s vrf-key ] || python -c 'import os; print(os.urandom(32).hex())' > vrf-key
    [ -s admin-token ] || new_token > admin-token
    [ -s auditor-admin-token ] || new_token > auditor-admin-token
    [ -s auditor-key ] || glasskey keygen --env | sed -n 's/^GLASSKEY_SIGNING_KEY=//p' > auditor-key
    [ -s owner-token ] || glasskey auditor owner-token --json > owner-token
    chmod 600 ./*
    echo "secrets ready in the secrets volume (admin token: docker compose exec glasskey cat /secrets/admin-token)"
    ;;
namespace)
    owner=$(python -c 'import json,sys; print(json.load(open("owner-token"))["owner"])')
    GLASSKEY_AUDITOR_ADMIN_TOKEN=$(cat auditor-admin-token) glasskey auditor create-namespace \
        --remote-url http://auditor:8788 "${GLASSKEY_NAMESPACE}" --owner "$owner" \
        --log-directory http://glasskey:8080/api/transparency/blobs \
        || echo "namespace ${GLASSKEY_NAMESPACE} exists already"
    ;;
esac
