#!/usr/bin/env bash
# A small CA for IAM Roles Anywhere, with the openssl command line:
#
#   deploy/aws/make-pki.sh init DIR            # DIR/ca.key (0600) and DIR/ca.crt: the trust anchor
#   deploy/aws/make-pki.sh issue DIR NAME      # DIR/NAME.key (0600) and DIR/NAME.crt for one instance
#
# The CA certificate carries basicConstraints=critical,CA:TRUE and keyUsage keyCertSign, which
# Roles Anywhere requires of a trust anchor; client certificates are CA:FALSE, digitalSignature,
# clientAuth, with the instance name as CN (usable in the role's aws:PrincipalTag/x509Subject/CN
# condition). Keys are EC P-256. Keep ca.key offline; ship NAME.key to the instance only.
# Options for issue: --days N (default 365).
set -euo pipefail
umask 077

usage() { sed -n '2,12p' "$0"; exit 2; }
[ $# -ge 2 ] || usage
command=$1 dir=$2
shift 2

case $command in
  init)
    [ -e "$dir/ca.key" ] && { echo "make-pki: $dir/ca.key exists; refusing to replace a CA" >&2; exit 2; }
    mkdir -p "$dir"
    openssl genpkey -quiet -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/ca.key"
    openssl req -new -x509 -key "$dir/ca.key" -sha256 -days 3650 -subj "/O=secret-sync/CN=Roles Anywhere CA" \
      -addext "basicConstraints=critical,CA:TRUE,pathlen:1" -addext "keyUsage=critical,keyCertSign,cRLSign" \
      -addext "subjectKeyIdentifier=hash" -out "$dir/ca.crt"
    chmod 0644 "$dir/ca.crt"
    echo "make-pki: CA written: $dir/ca.crt (pass its PEM as CACertificatePem to deploy/aws/rolesanywhere.yaml)"
    ;;
  issue)
    [ $# -ge 1 ] || usage
    name=$1; shift
    days=365
    while [ $# -gt 0 ]; do
      case $1 in --days) days=$2; shift 2 ;; *) usage ;; esac
    done
    case $name in *[!A-Za-z0-9._-]*|"") echo "make-pki: name may use letters, digits, . _ -" >&2; exit 2 ;; esac
    [ -e "$dir/ca.key" ] || { echo "make-pki: no CA in $dir; run init first" >&2; exit 2; }
    openssl genpkey -quiet -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/$name.key"
    extensions=$(mktemp)
    trap 'rm -f "$extensions" "$dir/$name.csr"' EXIT
    printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
      "extendedKeyUsage=clientAuth" "subjectKeyIdentifier=hash" "authorityKeyIdentifier=keyid:always" > "$extensions"
    openssl req -new -key "$dir/$name.key" -subj "/O=secret-sync/CN=$name" -out "$dir/$name.csr"
    openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial -sha256 \
      -days "$days" -extfile "$extensions" -out "$dir/$name.crt" 2>/dev/null
    chmod 0644 "$dir/$name.crt"
    openssl verify -CAfile "$dir/ca.crt" "$dir/$name.crt" >/dev/null
    echo "make-pki: issued $dir/$name.crt (key $dir/$name.key, 0600): install them as /etc/ira/client.crt and /etc/ira/client.key"
    ;;
  *) usage ;;
esac
