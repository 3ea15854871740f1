#!/usr/bin/env bash
# The demo of the main job, on a fresh machine with no AWS account. It builds secret-sync, brings
# up the local AWS world (moto for STS/IAM/Secrets Manager with authentication on, an IAM Roles
# Anywhere emulator, a throwaway PKI), then:
#   1. runs `secret-sync once` with a manifest like examples/manifest.yaml and shows the files,
#   2. runs it again: nothing changes, no hook runs,
#   3. rotates a secret and runs it again: the file is rewritten and its hook fires,
#   4. reads a secret with the AWS CLI through `secret-sync credential-process`,
#   5. moves the client key into a software TPM (swtpm) and syncs with the TPM signing.
# Everything it started is stopped when it ends.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

if [ "${SKIP_DEPS:-}" != 1 ]; then
  step "Installing build and test dependencies (scripts/install-deps.sh)"
  scripts/install-deps.sh
fi
# shellcheck source=python-env.sh
source scripts/python-env.sh

step "Building secret-sync"
swift build 2>&1 | tail -1
binary=$PWD/.build/debug/secret-sync

demo=$(mktemp -d /tmp/secret-sync-demo.XXXXXX)
trap 'python3 -m testworld.tokens tpm-down --dir "$demo/tpm" >/dev/null 2>&1 || true
      python3 -m testworld.world down --dir "$demo" >/dev/null 2>&1 || true; rm -rf "$demo"' EXIT

step "Starting the local AWS world in $demo"
python3 -m testworld.world up --dir "$demo"
# shellcheck disable=SC1091
source "$demo/world.env"
pki=$WORLD_PKI/clients
out=$demo/etc/myapp

cat > "$demo/manifest.yaml" <<MANIFEST
version: 1
auth:
  roles_anywhere:
    certificate: $pki/chained/ec-p256-sec1.crt
    private_key: $pki/ec-p256-sec1.key
    intermediates: $pki/chain.pem
    trust_anchor_arn: $WORLD_TRUST_ANCHOR_ARN
    profile_arn: $WORLD_PROFILE_ARN
    role_arn: $WORLD_ROLE_ARN
state_dir: $demo/state
defaults:
  mode: "0600"
secrets:
  - id: demo/db
    name: db
    files:
      - path: $out/db-password
        key: password
        mode: "0640"
        group: nogroup
      - path: $out/db.env
        format: dotenv
      - path: $out/db.conf
        template: |
          host={{host}} port={{port}} user={{username}}
    on_change:
      - 'echo "hook: reloading myapp for \$SECRET_SYNC_CHANGED" >&2'
  - id: demo/api-token
    name: api-token
    files:
      - path: $out/api-token
parameters:
  - id: /demo/app/db-url
    name: db-url
    files:
      - path: $out/db-url
MANIFEST

step "The manifest (secrets and parameters → files, hooks)"
sed -n '/^secrets:/,$p' "$demo/manifest.yaml"

step "secret-sync once --dry-run: the plan, nothing touched"
"$binary" once -c "$demo/manifest.yaml" --dry-run 2>/dev/null

step "secret-sync once"
"$binary" once -c "$demo/manifest.yaml"
ls -l "$out"
echo "db.conf: $(cat "$out/db.conf")"

step "secret-sync once again: nothing changed, nothing written, no hook"
"$binary" once -c "$demo/manifest.yaml"

step "Rotating demo/db (PutSecretValue), then secret-sync once"
python3 - "$demo" <<'PY'
import json, sys
import boto3
world = json.load(open(f"{sys.argv[1]}/world.json"))
client = boto3.client("secretsmanager", endpoint_url=world["moto_endpoint"], region_name=world["region"], verify=world["ca_bundle"],
                      aws_access_key_id=world["admin_access_key_id"], aws_secret_access_key=world["admin_secret_access_key"])
client.put_secret_value(SecretId="demo/db", SecretString=json.dumps(
    {"username": "app", "password": "rotated-pa55", "port": 5432, "host": "db.internal"}))
PY
"$binary" once -c "$demo/manifest.yaml"

step "The state file: versions, times, errors — never values"
python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print(json.dumps({k: {"versionId": v["versionId"], "lastSuccess": v["lastSuccess"]} for k, v in s["secrets"].items()}, indent=2))' "$demo/state/state.json"

step "The same credentials for the AWS CLI: credential_process = secret-sync credential-process ..."
cat > "$demo/aws-config" <<CONFIG
[profile commercial]
region = us-west-2
credential_process = $binary credential-process --certificate $pki/chained/ec-p256-sec1.crt --private-key $pki/ec-p256-sec1.key --intermediates $pki/chain.pem --trust-anchor-arn $WORLD_TRUST_ANCHOR_ARN --profile-arn $WORLD_PROFILE_ARN --role-arn $WORLD_ROLE_ARN
CONFIG
AWS_CONFIG_FILE=$demo/aws-config AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_PROFILE=commercial \
  aws sts get-caller-identity --query Arn --output text

step "The key in a TPM: moving ec-p256-sec1.key into a software TPM (swtpm) as a TSS2 key file"
# The same tpm2_import / tpm2_encodeobject commands as README's "Moving a key file into the TPM".
eval "$(python3 -m testworld.tokens tpm-up --dir "$demo/tpm" --import-key "$pki/ec-p256-sec1.key" --out "$demo/client.tss2.pem")"
head -1 "$demo/client.tss2.pem"
sed -i "s|private_key: .*|private_key: $demo/client.tss2.pem|" "$demo/manifest.yaml"
grep 'private_key' "$demo/manifest.yaml"
"$binary" validate -c "$demo/manifest.yaml" | grep 'TPM key'
rm -rf "$out" && "$binary" once -c "$demo/manifest.yaml" 2>&1 | grep -v '^hook:' || true
ls "$out"

step "Done: the world and the TPM are being stopped"
