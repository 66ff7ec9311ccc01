#!/usr/bin/env bash
# Builds the TEST-ONLY Android samples in this folder (see README.md):
#   keys/            test signing keys (generated once; delete them to make new ones)
#   unsigned/*.apk   minimal unsigned APKs from make_apk.py
#   *.apk            those APKs signed by Debian's apksigner (and one by jarsigner)
# Needs: python3, openssl, apksigner, zipalign, JDK (keytool, jarsigner).
set -euo pipefail
cd "$(dirname "$0")"

mkdir -p keys unsigned

# --- test keys (TEST ONLY: never sign anything real with them) -------------------
# Self-signed with fixed dates (2025-01-01 .. 2055-01-01), so tests that pin --at never
# depend on the day the keys were made. `openssl ca -selfsign` is the openssl 3.0 way to
# choose a start date.
selfsign() { # KEY.pem SUBJECT OUT.pem
    local t; t=$(mktemp -d)
    touch "$t/index.txt"; echo 1000 > "$t/serial"
    cat > "$t/ca.cnf" <<EOF
[ca]
default_ca = d
[d]
database = $t/index.txt
serial = $t/serial
new_certs_dir = $t
policy = p
default_md = sha256
unique_subject = no
[p]
commonName = supplied
organizationName = optional
[ext]
basicConstraints = CA:FALSE
EOF
    openssl req -new -key "$1" -subj "$2" -out "$t/r.csr"
    openssl ca -batch -config "$t/ca.cnf" -selfsign -keyfile "$1" -in "$t/r.csr" \
        -startdate 20250101000000Z -enddate 20550101000000Z -extensions ext -notext -out "$3" 2>/dev/null
    rm -rf "$t"
}
if [ ! -f keys/rsa-2048.pk8 ]; then
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out keys/rsa-2048.key.pem 2>/dev/null
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out keys/ec-p256.key.pem 2>/dev/null
    selfsign keys/rsa-2048.key.pem "/CN=wrapsign test RSA key (TEST ONLY)/O=wrapsign" keys/rsa-2048.x509.pem
    selfsign keys/ec-p256.key.pem "/CN=wrapsign test EC key (TEST ONLY)/O=wrapsign" keys/ec-p256.x509.pem
    for k in rsa-2048 ec-p256; do
        openssl pkcs8 -topk8 -nocrypt -in keys/$k.key.pem -outform DER -out keys/$k.pk8
        rm keys/$k.key.pem
    done
fi
RSA=(--key keys/rsa-2048.pk8 --cert keys/rsa-2048.x509.pem)
EC=(--key keys/ec-p256.pk8 --cert keys/ec-p256.x509.pem)

# --- unsigned inputs ---------------------------------------------------------------
python3 make_apk.py unsigned/min21-target34.apk --min-sdk 21 --target-sdk 34
python3 make_apk.py unsigned/min24-target34.apk --min-sdk 24 --target-sdk 34
python3 make_apk.py unsigned/min28-target35.apk --min-sdk 28 --target-sdk 35 --so-align 4096
python3 make_apk.py unsigned/min21-target29.apk --min-sdk 21 --target-sdk 29
python3 make_apk.py unsigned/min21-target30.apk --min-sdk 21 --target-sdk 30
python3 make_apk.py unsigned/min21-target29-unaligned.apk --min-sdk 21 --target-sdk 29 --no-align

sign() { local out=$1 in=$2; shift 2; apksigner sign "$@" --out "$out" "$in"; rm -f "$out.idsig"; }

# --- signed samples ------------------------------------------------------------------
sign v1v2v3-rsa.apk unsigned/min21-target34.apk "${RSA[@]}"
sign v2v3-ec.apk unsigned/min24-target34.apk "${EC[@]}" --v1-signing-enabled false
sign v3-ec-target35.apk unsigned/min28-target35.apk "${EC[@]}" --v1-signing-enabled false --v2-signing-enabled false
sign v1-only-rsa.apk unsigned/min21-target29.apk "${RSA[@]}" --v2-signing-enabled false --v3-signing-enabled false
sign v1-only-target30.apk unsigned/min21-target30.apk "${RSA[@]}" --v2-signing-enabled false --v3-signing-enabled false
# Eleven v1+v2 signers (the same key under eleven names): above Android's limit of 10.
args=()
for i in $(seq 1 11); do
    [ "$i" -gt 1 ] && args+=(--next-signer)
    args+=("${EC[@]}" --v1-signer-name "SIGNER$i")
done
sign eleven-signers.apk unsigned/min21-target29.apk --v3-signing-enabled false "${args[@]}"

# jarsigner signs in place without aligning: a valid v1 signature on a misaligned APK.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
openssl pkcs8 -inform DER -in keys/rsa-2048.pk8 -nocrypt -out "$tmp/k.pem"
openssl pkcs12 -export -in keys/rsa-2048.x509.pem -inkey "$tmp/k.pem" -name test -out "$tmp/k.p12" -passout pass:android
cp unsigned/min21-target29-unaligned.apk v1-jarsigner-misaligned.apk
jarsigner -keystore "$tmp/k.p12" -storetype PKCS12 -storepass android -digestalg SHA-256 -sigalg SHA256withRSA \
    v1-jarsigner-misaligned.apk test >/dev/null

# --- sanity checks against the oracles -------------------------------------------------
for f in v1v2v3-rsa.apk v1-only-rsa.apk v2v3-ec.apk v3-ec-target35.apk eleven-signers.apk v1-jarsigner-misaligned.apk; do
    apksigner verify "$f" >/dev/null
done
apksigner verify --min-sdk-version 24 v2v3-ec.apk >/dev/null
if apksigner verify v1-only-target30.apk >/dev/null 2>&1; then echo "v1-only-target30.apk should fail" >&2; exit 1; fi
if zipalign -c 4 v1-jarsigner-misaligned.apk >/dev/null; then echo "v1-jarsigner-misaligned.apk is aligned" >&2; exit 1; fi
zipalign -c -p 4 v1v2v3-rsa.apk >/dev/null
echo "built: $(ls ./*.apk unsigned/*.apk | wc -l) APKs, $(du -ch ./*.apk unsigned/*.apk | tail -1 | cut -f1) total"
