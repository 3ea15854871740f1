#!/usr/bin/env bash
# The demo, on a fresh machine with no AWS account: builds secret-sync, brings up the local AWS
# world (moto for STS/IAM/Secrets Manager, an IAM Roles Anywhere emulator, a throwaway PKI),
# gets Roles Anywhere credentials from an X.509 certificate, and reads a secret with the AWS CLI
# through `secret-sync credential-process`. Everything stops when the demo ends.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

if [ "${SKIP_DEPS:-}" != 1 ]; then
  step "Installing build and test dependencies (scripts/install-deps.sh)"
  scripts/install-deps.sh
fi

step "Building secret-sync"
swift build 2>&1 | tail -1
binary=$PWD/.build/debug/secret-sync

demo=$(mktemp -d /tmp/secret-sync-demo.XXXXXX)
trap 'python3 -m testworld.world down --dir "$demo" >/dev/null 2>&1 || true; rm -rf "$demo"' EXIT

step "Starting the local AWS world in $demo"
python3 -m testworld.world up --dir "$demo"
# shellcheck disable=SC1091
source "$demo/world.env"
pki=$WORLD_PKI/clients

step "The client certificate (issued by an intermediate CA under the trust anchor's root)"
openssl x509 -in "$pki/chained/ec-p256-sec1.crt" -noout -subject -issuer -serial -enddate

args=(credential-process
  --certificate "$pki/chained/ec-p256-sec1.crt" --private-key "$pki/ec-p256-sec1.key" --intermediates "$pki/chain.pem"
  --trust-anchor-arn "$WORLD_TRUST_ANCHOR_ARN" --profile-arn "$WORLD_PROFILE_ARN" --role-arn "$WORLD_ROLE_ARN")

step "secret-sync credential-process (secret fields masked here)"
"$binary" "${args[@]}" | python3 -c 'import json,sys; d=json.load(sys.stdin); d["SecretAccessKey"]=d["SessionToken"]="<redacted>"; print(json.dumps(d, indent=2))'

step "The AWS CLI with credential_process = secret-sync ..."
cat > "$demo/aws-config" <<CONFIG
[profile commercial]
region = us-west-2
credential_process = $binary ${args[*]}
CONFIG
export AWS_CONFIG_FILE=$demo/aws-config AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_PROFILE=commercial
aws sts get-caller-identity --query Arn --output text
aws secretsmanager get-secret-value --secret-id demo/db --query '{Name:Name,VersionId:VersionId}' --output table

step "Done: the world is being stopped"
