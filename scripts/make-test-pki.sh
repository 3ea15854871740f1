#!/usr/bin/env bash
# Makes the throwaway PKI the tests and the demo use, with the openssl command line:
#   root CA (the trust anchor), an intermediate CA, an untrusted CA, a TLS CA for the local
#   endpoints, and client certificates for every key type and key encoding secret-sync accepts,
#   plus the broken cases (expired, not yet valid, untrusted issuer, Ed25519, encrypted key).
# Usage: scripts/make-test-pki.sh OUTDIR        (OUTDIR must not exist yet)
# Nothing here is for production: keys are unencrypted and live in OUTDIR.
set -euo pipefail

out=${1:?usage: make-test-pki.sh OUTDIR}
[ -e "$out" ] && { echo "make-test-pki: $out already exists" >&2; exit 2; }
mkdir -p "$out"/{ca,clients/direct,clients/chained,broken,tls}
cd "$out"
umask 077

# A CA directory for `openssl ca`, which (unlike `openssl x509 -req` in OpenSSL 3.0) can set
# arbitrary validity dates, needed for the expired and not-yet-valid certificates.
make_ca_dir() {
  local name=$1
  mkdir -p "ca/$name.db/new"
  : > "ca/$name.db/index.txt"
  openssl rand -hex 16 > "ca/$name.db/serial"
  cat > "ca/$name.db/openssl.cnf" <<CNF
[ ca ]
default_ca = this_ca
[ this_ca ]
dir = ca/$name.db
database = \$dir/index.txt
new_certs_dir = \$dir/new
serial = \$dir/serial
certificate = ca/$name.crt
private_key = ca/$name.key
default_md = sha256
policy = policy_any
unique_subject = no
copy_extensions = none
[ policy_any ]
commonName = supplied
organizationName = optional
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = unused
[ root_ext ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ intermediate_ext ]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[ client_ext ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[ server_ext ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
CNF
}

self_signed_ca() {  # name subject
  local name=$1 subject=$2
  openssl genpkey -quiet -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "ca/$name.key"
  make_ca_dir "$name"
  openssl req -new -key "ca/$name.key" -subj "$subject" -out "ca/$name.csr" -config "ca/$name.db/openssl.cnf"
  openssl ca -batch -notext -selfsign -rand_serial -days 3650 -config "ca/$name.db/openssl.cnf" \
    -extensions root_ext -in "ca/$name.csr" -out "ca/$name.crt" 2>"ca/$name.db/log" || { cat "ca/$name.db/log" >&2; exit 1; }
}

issue() {  # ca extensions key subject out [startdate enddate]
  local ca=$1 ext=$2 key=$3 subject=$4 cert=$5 start=${6:-} end=${7:-}
  local csr; csr=$(mktemp)
  openssl req -new -key "$key" -subj "$subject" -out "$csr" -config "ca/$ca.db/openssl.cnf"
  local dates=(-days 825)
  [ -n "$start" ] && dates=(-startdate "$start" -enddate "$end")
  openssl ca -batch -notext -rand_serial "${dates[@]}" -config "ca/$ca.db/openssl.cnf" \
    -extensions "$ext" -in "$csr" -out "$cert" 2>"ca/$ca.db/log" || { cat "ca/$ca.db/log" >&2; exit 1; }
  rm -f "$csr"
}

self_signed_ca root-ca "/O=secret-sync test/CN=Test Root CA"
self_signed_ca untrusted-ca "/O=somebody else/CN=Untrusted Root CA"
self_signed_ca tls-ca "/O=secret-sync test/CN=Test TLS CA"

openssl genpkey -quiet -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ca/intermediate-ca.key
make_ca_dir intermediate-ca
issue root-ca intermediate_ext ca/intermediate-ca.key "/O=secret-sync test/CN=Test Intermediate CA" ca/intermediate-ca.crt
cp ca/intermediate-ca.crt clients/chain.pem

# Client keys in every encoding: PKCS#1 and SEC1 are the "traditional" forms.
openssl genrsa -traditional -out clients/rsa2048-pkcs1.key 2048 2>/dev/null
openssl genpkey -quiet -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out clients/rsa2048-pkcs8.key
openssl genpkey -quiet -algorithm RSA -pkeyopt rsa_keygen_bits:4096 -out clients/rsa4096-pkcs8.key
openssl ecparam -name prime256v1 -genkey -out clients/ec-p256-sec1.key
openssl genpkey -quiet -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out clients/ec-p256-pkcs8.key
openssl ecparam -name secp384r1 -genkey -out clients/ec-p384-sec1.key
openssl genpkey -quiet -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out clients/ec-p384-pkcs8.key

for keyfile in clients/*.key; do
  name=$(basename "$keyfile" .key)
  issue root-ca client_ext "$keyfile" "/O=secret-sync test/CN=$name" "clients/direct/$name.crt"
  issue intermediate-ca client_ext "$keyfile" "/O=secret-sync test/CN=$name-chained" "clients/chained/$name.crt"
  openssl x509 -in "clients/direct/$name.crt" -outform DER -out "clients/direct/$name.der"
done

# The broken cases.
openssl genpkey -quiet -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out broken/client.key
issue root-ca client_ext broken/client.key "/CN=expired" broken/expired.crt 20200101000000Z 20210101000000Z
issue root-ca client_ext broken/client.key "/CN=not-yet-valid" broken/not-yet-valid.crt 20991231000000Z 21000101000000Z
issue untrusted-ca client_ext broken/client.key "/CN=untrusted" broken/untrusted.crt
openssl genpkey -quiet -algorithm ED25519 -out broken/ed25519.key
issue root-ca client_ext broken/ed25519.key "/CN=ed25519" broken/ed25519.crt
openssl pkcs8 -topk8 -v2 aes-256-cbc -passout pass:test-only -in clients/ec-p256-pkcs8.key -out broken/encrypted.key

# The TLS server certificate for the local endpoints (moto and the Roles Anywhere emulator).
openssl genpkey -quiet -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out tls/server.key
issue tls-ca server_ext tls/server.key "/CN=localhost" tls/server.crt
cp ca/tls-ca.crt tls/ca-bundle.pem

# The private keys stay 0600; certificates are public.
chmod 0644 ca/*.crt clients/chain.pem clients/direct/* clients/chained/* broken/*.crt tls/*.crt tls/ca-bundle.pem
echo "test PKI written to $out"
