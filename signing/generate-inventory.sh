#!/usr/bin/env bash
# Generates the TEST-ONLY material of the signing inventory (issue 6) under signing/inventory,
# without touching anything else: it reads signing/ca (the test root and WWDR-like CA) and
# writes only signing/inventory. Needs openssl 3 and python3 (for the zip); EC P-256 keys keep
# the files small.
#
#   bash signing/generate-inventory.sh
#
# What each file is for: signing/inventory/README.md.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ca_dir="$here/ca"
out="$here/inventory"
pass='wrapsign-test'
export LC_ALL=C TZ=UTC
command -v openssl >/dev/null || { echo "openssl not found" >&2; exit 1; }
command -v python3 >/dev/null || { echo "python3 not found" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rm -rf "$out"
mkdir -p "$out"

cat >"$work/ca.cnf" <<'CNF'
[ ca ]
default_ca = test_ca
[ test_ca ]
dir              = .
database         = $dir/index.txt
new_certs_dir    = $dir/newcerts
serial           = $dir/serial
default_md       = sha256
policy           = policy_any
unique_subject   = no
copy_extensions  = none
email_in_dn      = no
preserve         = yes
[ policy_any ]
userId                 = optional
commonName             = optional
organizationalUnitName = optional
organizationName       = optional
countryName            = optional
[ req ]
distinguished_name = req_dn
prompt             = no
[ req_dn ]
CN = placeholder

[ ext_sub_ca ]
basicConstraints       = critical,CA:TRUE,pathlen:0
keyUsage               = critical,keyCertSign,cRLSign
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid

[ ext_server ]
basicConstraints       = critical,CA:FALSE
keyUsage               = critical,digitalSignature
extendedKeyUsage       = serverAuth
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid
subjectAltName         = DNS:mdm.example.test,DNS:*.gw.example.test

[ ext_server_gw ]
basicConstraints       = critical,CA:FALSE
keyUsage               = critical,digitalSignature
extendedKeyUsage       = serverAuth
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid
subjectAltName         = DNS:gateway.example.test

[ ext_server_mail ]
basicConstraints       = critical,CA:FALSE
keyUsage               = critical,digitalSignature
extendedKeyUsage       = serverAuth
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid
subjectAltName         = DNS:mail.example.test

[ ext_server_vpn ]
basicConstraints       = critical,CA:FALSE
keyUsage               = critical,digitalSignature
extendedKeyUsage       = serverAuth
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid
subjectAltName         = DNS:vpn.example.test

[ ext_server_legacy ]
basicConstraints       = critical,CA:FALSE
keyUsage               = critical,digitalSignature
extendedKeyUsage       = serverAuth
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid
subjectAltName         = DNS:legacy.example.test

[ ext_saml ]
basicConstraints       = critical,CA:FALSE
keyUsage               = critical,digitalSignature
subjectKeyIdentifier   = hash

[ ext_user ]
basicConstraints       = critical,CA:FALSE
keyUsage               = critical,digitalSignature,keyEncipherment
extendedKeyUsage       = clientAuth,emailProtection
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid
subjectAltName         = email:alice@example.test

[ ext_device ]
basicConstraints       = critical,CA:FALSE
keyUsage               = critical,digitalSignature
extendedKeyUsage       = clientAuth
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid

# Apple Push Services, development (sandbox) only: ...6.3.1.
[ ext_apns_dev ]
basicConstraints         = critical,CA:FALSE
keyUsage                 = critical,digitalSignature
extendedKeyUsage         = critical,clientAuth
subjectKeyIdentifier     = hash
authorityKeyIdentifier   = keyid
1.2.840.113635.100.6.3.1 = critical,DER:05:00

# A universal push certificate: both environments and the topics extension (...6.3.6).
[ ext_apns_universal ]
basicConstraints         = critical,CA:FALSE
keyUsage                 = critical,digitalSignature
extendedKeyUsage         = critical,clientAuth
subjectKeyIdentifier     = hash
authorityKeyIdentifier   = keyid
1.2.840.113635.100.6.3.1 = critical,DER:05:00
1.2.840.113635.100.6.3.2 = critical,DER:05:00
1.2.840.113635.100.6.3.6 = ASN1:SEQUENCE:apns_topics

[ apns_topics ]
t1 = UTF8:com.example.wrapdemo
k1 = SEQUENCE:apns_kind_app
t2 = UTF8:com.example.wrapdemo.voip
k2 = SEQUENCE:apns_kind_voip
[ apns_kind_app ]
k = UTF8:app
[ apns_kind_voip ]
k = UTF8:voip
CNF

newkey() { # newkey <out.key>: EC P-256, small
  openssl genpkey -quiet -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
    -pkeyopt ec_param_enc:named_curve -out "$1"
  chmod 0644 "$1" # test material, committed on purpose
}

# issue <name> <subject> <ext> <serial> <start> <end> <issuer-base|self> [<existing key>]
issue() {
  local name=$1 subj=$2 ext=$3 serial=$4 start=$5 end=$6 issuer=$7 key=${8:-}
  local d="$work/ca-$name"
  mkdir -p "$d/newcerts"
  : >"$d/index.txt"
  echo "$serial" >"$d/serial"
  if [ -z "$key" ]; then key="$out/$name.key"; newkey "$key"; fi
  openssl req -new -config "$work/ca.cnf" -key "$key" -subj "$subj" -out "$d/req.csr"
  local signer
  if [ "$issuer" = self ]; then signer=(-selfsign -keyfile "$key"); else signer=(-cert "$issuer.pem" -keyfile "$issuer.key"); fi
  (cd "$d" && openssl ca -batch -config "$work/ca.cnf" "${signer[@]}" -in req.csr -out cert.pem \
    -notext -md sha256 -preserveDN -subj "$subj" -startdate "$start" -enddate "$end" \
    -extfile "$work/ca.cnf" -extensions "$ext" 2>ca.log) || { cat "$d/ca.log" >&2; return 1; }
  openssl x509 -in "$d/cert.pem" -out "$out/$name.pem"
}

root="$ca_dir/test-root-ca"
wwdr="$ca_dir/test-wwdr-ca"
O="/O=wrapsign test/C=US"

# ---- CAs: a TLS intermediate (listed in the sample inventory), a second one that is
# deliberately missing from every bundle, and one that expires soon.
issue tls-ca "/CN=WRAPSIGN TEST TLS CA$O" ext_sub_ca 4001 20240101000000Z 20400101000000Z "$root"
issue tls-ca-2 "/CN=WRAPSIGN TEST TLS CA 2$O" ext_sub_ca 4002 20240101000000Z 20400101000000Z "$root"
issue tls-ca-old "/CN=WRAPSIGN TEST TLS CA (retiring)$O" ext_sub_ca 4003 20200101000000Z 20261220000000Z "$root"

# ---- SSL server certificates
issue mdm "/CN=mdm.example.test$O" ext_server 5001 20250601000000Z 20270601000000Z "$out/tls-ca"
cat "$out/mdm.pem" "$out/tls-ca.pem" >"$out/mdm-chain.pem"                      # complete, in order
cat "$out/mdm.pem" "$ca_dir/test-root-ca.pem" "$out/tls-ca.pem" >"$out/mdm-out-of-order.pem"
issue gateway "/CN=gateway.example.test$O" ext_server_gw 5002 20250601000000Z 20270601000000Z "$out/tls-ca-2"
cp "$out/gateway.pem" "$out/gateway-missing-intermediate.pem"                    # tls-ca-2 is nowhere
rm "$out/gateway.pem"
issue legacy "/CN=legacy.example.test$O" ext_server_legacy 5003 20250601000000Z 20270601000000Z "$out/tls-ca-old"
cat "$out/legacy.pem" "$out/tls-ca-old.pem" >"$out/legacy-chain.pem"
rm "$out/legacy.pem"
openssl pkcs12 -export -in "$out/mdm.pem" -inkey "$out/mdm.key" -certfile "$out/tls-ca.pem" \
  -name "mdm.example.test" -passout "pass:$pass" -out "$out/mdm.p12"

# ---- a renewal that reused its key, and two certificates sharing one key
issue mail-2025 "/CN=mail.example.test$O" ext_server_mail 5101 20250101000000Z 20260201000000Z "$out/tls-ca"
issue mail-2026 "/CN=mail.example.test$O" ext_server_mail 5102 20260101000000Z 20270201000000Z "$out/tls-ca" "$out/mail-2025.key"
issue vpn "/CN=vpn.example.test$O" ext_server_vpn 5201 20250601000000Z 20270601000000Z "$out/tls-ca" "$out/mdm.key"

# ---- SAML signing (self-signed, as identity providers make them) and a PKI user
issue saml-idp "/CN=WRAPSIGN TEST SAML IdP Signing$O" ext_saml 5301 20250101000000Z 20350101000000Z self
issue alice "/CN=Alice Example TEST/O=wrapsign test/C=US" ext_user 5401 20250601000000Z 20270601000000Z "$out/tls-ca"
openssl pkcs12 -export -in "$out/alice.pem" -inkey "$out/alice.key" -certfile "$out/tls-ca.pem" \
  -name "Alice Example TEST" -passout "pass:$pass" -out "$out/alice.p12"
rm "$out/alice.key"

# ---- APNs: a development-only certificate that expires soon, a universal one with topics
T=WSTEST0001
issue apns-dev "/UID=com.example.wrapdemo/CN=Apple Development IOS Push Services: com.example.wrapdemo/OU=$T/O=Wrapsign Test Org/C=US" \
  ext_apns_dev 2101 20251215000000Z 20261215000000Z "$wwdr"
openssl pkcs12 -export -in "$out/apns-dev.pem" -inkey "$out/apns-dev.key" -certfile "$wwdr.pem" \
  -name "Apple Development IOS Push Services: com.example.wrapdemo" -passout "pass:$pass" -out "$out/apns-dev.p12"
issue apns-universal "/UID=com.example.wrapdemo/CN=Apple Push Services: com.example.wrapdemo/OU=$T/O=Wrapsign Test Org/C=US" \
  ext_apns_universal 2102 20260101000000Z 20270201000000Z "$wwdr"
openssl pkcs12 -export -in "$out/apns-universal.pem" -inkey "$out/apns-universal.key" -certfile "$wwdr.pem" \
  -name "Apple Push Services: com.example.wrapdemo" -passout "pass:$pass" -out "$out/apns-universal.p12"
rm "$out/apns-dev.key" "$out/apns-universal.key" "$out/apns-dev.pem" "$out/apns-universal.pem"

# ---- bulk device certificates: IMEIs with valid Luhn check digits
luhn() { # luhn <14 digits> -> the 15-digit IMEI
  local body=$1 sum=0 i d n=${#1}
  for ((i = 0; i < n; i++)); do
    d=${body:n-1-i:1}
    if ((i % 2 == 0)); then d=$((d * 2)); ((d > 9)) && d=$((d - 9)); fi
    sum=$((sum + d))
  done
  echo "$body$(((10 - sum % 10) % 10))"
}
mkdir -p "$work/devices"
: >"$out/devices-credentials.txt"
serial=6001
for body in 35693803564380 49015420323751 35209900176148; do
  imei=$(luhn "$body")
  # Test-only per-device passwords (what an MDM export writes into the credentials file).
  pw="dev-$imei-TEST"
  issue "dev-$imei" "/CN=$imei/OU=Devices/O=wrapsign test/C=US" ext_device "$serial" 20250601000000Z 20270601000000Z "$out/tls-ca"
  openssl pkcs12 -export -in "$out/dev-$imei.pem" -inkey "$out/dev-$imei.key" -name "$imei" \
    -passout "pass:$pw" -out "$work/devices/$imei.p12"
  echo "$imei.p12=$pw" >>"$out/devices-credentials.txt"
  rm "$out/dev-$imei.pem" "$out/dev-$imei.key"
  serial=$((serial + 1))
done
(cd "$work/devices" && python3 - "$out/devices.zip" <<'PY'
import os, sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
    for name in sorted(os.listdir(".")):
        info = zipfile.ZipInfo(name, (2025, 6, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        with open(name, "rb") as f:
            z.writestr(info, f.read())
PY
)
printf '%s\n' "$pass" >"$out/p12.pass"
# The key password of signing/android/keypass.jks (see signing/android/README.md).
printf '%s\n' 'wrapsign-key' >"$out/android-key.pass"

# ---- keep only what the inventory uses; check everything chains as intended
# tls-ca-2 is the intermediate missing on purpose: not even its certificate is kept.
rm -f "$out/tls-ca-2.key" "$out/tls-ca-2.pem" "$out/tls-ca-old.key" "$out/saml-idp.key" "$out/vpn.key" \
  "$out/gateway.key" "$out/legacy.key"
chmod 0644 "$out"/*.p12
openssl verify -no_check_time -CAfile "$ca_dir/test-root-ca.pem" -untrusted "$out/tls-ca.pem" "$out/mdm.pem" >/dev/null
openssl verify -no_check_time -CAfile "$ca_dir/test-root-ca.pem" -untrusted "$out/tls-ca.pem" "$out/vpn.pem" >/dev/null
[ "$(openssl x509 -in "$out/mail-2025.pem" -noout -pubkey)" = "$(openssl x509 -in "$out/mail-2026.pem" -noout -pubkey)" ]
[ "$(openssl x509 -in "$out/mdm.pem" -noout -pubkey)" = "$(openssl x509 -in "$out/vpn.pem" -noout -pubkey)" ]
rm -f "$out/mail-2025.key" "$out/mail-2026.key" "$out/tls-ca.key"
echo "signing/inventory: generated $(find "$out" -type f | wc -l) files, $(du -sk "$out" | cut -f1) KiB"
