#!/usr/bin/env bash
# Regenerates every TEST-ONLY signing identity under signing/ca and signing/ios, from scratch.
# Needs only openssl (3.0+; the legacy provider for the -legacy.p12 files).
#
#   bash signing/generate.sh
#
# Serials, subjects, validity dates and extensions are fixed; the keys are fresh on each run,
# so fingerprints change: read them from signing/identities.tsv (written below), never
# hard-code them in tests. Run profiles/generate.sh and samples/build-ios.sh afterwards.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ca_dir="$here/ca"
ios_dir="$here/ios"
pass='wrapsign-test'
export LC_ALL=C TZ=UTC

command -v openssl >/dev/null || { echo "openssl not found" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

rm -rf "$ca_dir" "$ios_dir"
mkdir -p "$ca_dir" "$ios_dir"

# Minimal `openssl ca` configuration: no database checks that matter, DN taken verbatim from
# -subj, extensions from the named section.
cat >"$work/ca.cnf" <<'EOF'
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

# ---- CA certificates ----
[ ext_root ]
basicConstraints       = critical,CA:TRUE
keyUsage               = critical,keyCertSign,cRLSign
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid

[ ext_sub_ca ]
basicConstraints       = critical,CA:TRUE,pathlen:0
keyUsage               = critical,keyCertSign,cRLSign
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid

# ---- Apple-style code-signing leaves ----
# Apple Distribution (and its legacy iPhone Distribution OID, as Apple still adds it).
[ ext_apple_distribution ]
basicConstraints         = critical,CA:FALSE
keyUsage                 = critical,digitalSignature
extendedKeyUsage         = critical,codeSigning
subjectKeyIdentifier     = hash
authorityKeyIdentifier   = keyid
1.2.840.113635.100.6.1.7 = critical,DER:05:00
1.2.840.113635.100.6.1.4 = critical,DER:05:00

# Apple Distribution, ...6.1.7 only (the EC identity).
[ ext_apple_distribution_only ]
basicConstraints         = critical,CA:FALSE
keyUsage                 = critical,digitalSignature
extendedKeyUsage         = critical,codeSigning
subjectKeyIdentifier     = hash
authorityKeyIdentifier   = keyid
1.2.840.113635.100.6.1.7 = critical,DER:05:00

# Legacy "iPhone Distribution": ...6.1.4 only.
[ ext_iphone_distribution ]
basicConstraints         = critical,CA:FALSE
keyUsage                 = critical,digitalSignature
extendedKeyUsage         = critical,codeSigning
subjectKeyIdentifier     = hash
authorityKeyIdentifier   = keyid
1.2.840.113635.100.6.1.4 = critical,DER:05:00

# Apple Development (...6.1.12) plus legacy iPhone Developer (...6.1.2).
[ ext_apple_development ]
basicConstraints          = critical,CA:FALSE
keyUsage                  = critical,digitalSignature
extendedKeyUsage          = critical,codeSigning
subjectKeyIdentifier      = hash
authorityKeyIdentifier    = keyid
1.2.840.113635.100.6.1.12 = critical,DER:05:00
1.2.840.113635.100.6.1.2  = critical,DER:05:00

# Code signing, no Apple marker at all.
[ ext_plain_codesign ]
basicConstraints       = critical,CA:FALSE
keyUsage               = critical,digitalSignature
extendedKeyUsage       = critical,codeSigning
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid

# Apple Push Services (production ...6.3.1 + development ...6.3.2), TLS client auth.
[ ext_apns ]
basicConstraints       = critical,CA:FALSE
keyUsage               = critical,digitalSignature
extendedKeyUsage       = critical,clientAuth
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid
1.2.840.113635.100.6.3.1 = critical,DER:05:00
1.2.840.113635.100.6.3.2 = critical,DER:05:00

# Like Apple's "iPhone OS Provisioning Profile Signing": no EKU, non-critical ...6.58 marker.
[ ext_profile_signer ]
basicConstraints        = critical,CA:FALSE
keyUsage                = critical,digitalSignature
subjectKeyIdentifier    = hash
authorityKeyIdentifier  = keyid
1.2.840.113635.100.6.58 = DER:05:00
EOF

newkey() { # newkey <out.key> rsa|ec
  case "$2" in
    rsa) openssl genpkey -quiet -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" ;;
    ec) openssl genpkey -quiet -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
      -pkeyopt ec_param_enc:named_curve -out "$1" ;;
  esac
  chmod 0644 "$1" # test material, committed on purpose
}

# issue <name> <out-dir> <key-type> <subject> <ext-section> <serial-hex> <start> <end> <issuer>
#   issuer: "self" or the base path (no extension) of an issuing CA's .pem/.key
# Dates are YYYYMMDDHHMMSSZ.
issue() {
  local name=$1 out=$2 ktype=$3 subj=$4 ext=$5 serial=$6 start=$7 end=$8 issuer=$9
  local d="$work/ca-$name"
  mkdir -p "$d/newcerts"
  : >"$d/index.txt"
  echo "$serial" >"$d/serial"
  newkey "$out/$name.key" "$ktype"
  openssl req -new -config "$work/ca.cnf" -key "$out/$name.key" -subj "$subj" -out "$d/req.csr"
  local signer_args
  if [ "$issuer" = self ]; then
    signer_args=(-selfsign -keyfile "$out/$name.key")
  else
    signer_args=(-cert "$issuer.pem" -keyfile "$issuer.key")
  fi
  (cd "$d" && openssl ca -batch -config "$work/ca.cnf" "${signer_args[@]}" \
    -in req.csr -out cert.pem -notext -md sha256 -preserveDN -subj "$subj" \
    -startdate "$start" -enddate "$end" -extfile "$work/ca.cnf" -extensions "$ext" \
    2>ca.log) || { cat "$d/ca.log" >&2; return 1; }
  openssl x509 -in "$d/cert.pem" -out "$out/$name.pem"
}

# p12 <dir> <name> <friendly-name> [<issuing-ca.pem>]: modern and legacy PKCS#12 files.
p12() {
  local dir=$1 name=$2 fname=$3 chain=${4:-}
  local extra=()
  [ -n "$chain" ] && extra=(-certfile "$chain")
  openssl pkcs12 -export -in "$dir/$name.pem" -inkey "$dir/$name.key" "${extra[@]}" \
    -name "$fname" -passout "pass:$pass" -out "$dir/$name.p12"
  openssl pkcs12 -export -legacy -in "$dir/$name.pem" -inkey "$dir/$name.key" "${extra[@]}" \
    -name "$fname" -passout "pass:$pass" -out "$dir/$name-legacy.p12"
}

# ------------------------------------------------------------------ CAs
# (Apple's WWDR CN plus "WRAPSIGN TEST" would exceed the 64-character X.520 limit, so "CA".)
issue test-root-ca "$ca_dir" rsa \
  "/CN=WRAPSIGN TEST Root CA (NOT FOR PRODUCTION)/O=wrapsign test" \
  ext_root 1000 20200101000000Z 20500101000000Z self
issue test-wwdr-ca "$ca_dir" rsa \
  "/CN=WRAPSIGN TEST Worldwide Developer Relations CA/OU=G3-TEST/O=wrapsign test" \
  ext_sub_ca 1001 20200101000000Z 20480101000000Z "$ca_dir/test-root-ca"
issue test-iphone-ca "$ca_dir" rsa \
  "/CN=WRAPSIGN TEST iPhone Certification Authority/OU=Certification Authority/O=wrapsign test" \
  ext_sub_ca 1002 20200101000000Z 20480101000000Z "$ca_dir/test-root-ca"

wwdr="$ca_dir/test-wwdr-ca"
iphone_ca="$ca_dir/test-iphone-ca"
T=WSTEST0001
O=WSOTHER002

# ------------------------------------------------------------------ identities
# name | key | subject | extensions | serial | start | end | issuer
while IFS='|' read -r name ktype subj ext serial start end issuer; do
  [ -n "$name" ] || continue
  case "$issuer" in
    wwdr) issuer_path=$wwdr ;;
    iphone) issuer_path=$iphone_ca ;;
    self) issuer_path=self ;;
  esac
  issue "$name" "$ios_dir" "$ktype" "$subj" "$ext" "$serial" "$start" "$end" "$issuer_path"
  cn=$(openssl x509 -in "$ios_dir/$name.pem" -noout -subject -nameopt multiline | sed -n 's/^ *commonName *= //p')
  if [ "$issuer" = self ]; then p12 "$ios_dir" "$name" "$cn"; else p12 "$ios_dir" "$name" "$cn" "$issuer_path.pem"; fi
done <<EOF
dist|rsa|/UID=$T/CN=Apple Distribution: Wrapsign Test Org ($T)/OU=$T/O=Wrapsign Test Org/C=US|ext_apple_distribution|2001|20250101000000Z|20450101000000Z|wwdr
dist-ec|ec|/UID=$T/CN=Apple Distribution: Wrapsign Test Org (EC) ($T)/OU=$T/O=Wrapsign Test Org (EC)/C=US|ext_apple_distribution_only|2002|20250101000000Z|20450101000000Z|wwdr
iphone-dist|rsa|/UID=$T/CN=iPhone Distribution: Wrapsign Test Org ($T)/OU=$T/O=Wrapsign Test Org/C=US|ext_iphone_distribution|2003|20250101000000Z|20450101000000Z|wwdr
dev|rsa|/UID=DEVTEST001/CN=Apple Development: Wrapsign Tester (DEVTEST001)/OU=$T/O=Wrapsign Test Org/C=US|ext_apple_development|2004|20250101000000Z|20450101000000Z|wwdr
expired-dist|rsa|/UID=$T/CN=Apple Distribution: Wrapsign Test Org ($T)/OU=$T/O=Wrapsign Test Org/C=US|ext_apple_distribution|2005|20200101000000Z|20230101000000Z|wwdr
other-team-dist|rsa|/UID=$O/CN=Apple Distribution: Other Test Org ($O)/OU=$O/O=Other Test Org/C=US|ext_apple_distribution|2006|20250101000000Z|20450101000000Z|wwdr
rogue-dist|rsa|/UID=$T/CN=Apple Distribution: Rogue TEST ($T)/OU=$T/O=Rogue TEST/C=US|ext_apple_distribution|2007|20250101000000Z|20450101000000Z|self
plain-codesign|rsa|/CN=WRAPSIGN TEST Plain Code Signing/OU=$T/O=wrapsign test/C=US|ext_plain_codesign|2008|20250101000000Z|20450101000000Z|wwdr
apns|rsa|/UID=com.example.wrapdemo/CN=Apple Push Services: com.example.wrapdemo/OU=$T/O=Wrapsign Test Org/C=US|ext_apns|2009|20250101000000Z|20450101000000Z|wwdr
profile-signer|rsa|/CN=WRAPSIGN TEST iPhone OS Provisioning Profile Signing/O=wrapsign test/C=US|ext_profile_signer|3001|20200101000000Z|20480101000000Z|iphone
rogue-profile-signer|rsa|/CN=WRAPSIGN TEST Rogue Profile Signing/O=wrapsign test/C=US|ext_profile_signer|3002|20200101000000Z|20480101000000Z|self
EOF

newkey "$ios_dir/other.key" rsa
printf '%s\n' "$pass" >"$ios_dir/p12.pass"

# ------------------------------------------------------------------ checks + facts table
# Every cert must chain to the test root (except the self-signed rogue ones) and every (-ignore_critical: openssl does not know
# the Apple marker extensions, which are critical as on real Apple certificates.)
# .p12 must open with the password, in both flavours.
for c in "$ca_dir"/test-wwdr-ca.pem "$ca_dir"/test-iphone-ca.pem; do
  openssl verify -no_check_time -ignore_critical -CAfile "$ca_dir/test-root-ca.pem" "$c" >/dev/null
done
for f in "$ios_dir"/*.pem; do
  name=$(basename "$f" .pem)
  case "$name" in
    rogue-*) ;;
    profile-signer) openssl verify -no_check_time -ignore_critical -CAfile "$ca_dir/test-root-ca.pem" \
      -untrusted "$iphone_ca.pem" "$f" >/dev/null ;;
    *) openssl verify -no_check_time -ignore_critical -CAfile "$ca_dir/test-root-ca.pem" \
      -untrusted "$wwdr.pem" "$f" >/dev/null ;;
  esac
  # key matches cert
  [ "$(openssl x509 -in "$f" -noout -pubkey)" = "$(openssl pkey -in "$ios_dir/$name.key" -pubout)" ]
  openssl pkcs12 -in "$ios_dir/$name.p12" -passin "pass:$pass" -noout
  openssl pkcs12 -legacy -in "$ios_dir/$name-legacy.p12" -passin "pass:$pass" -noout
done

{
  printf 'file\tsubject\tissuer\tserial_hex\tnot_before\tnot_after\tkey\tsha1\tsha256\n'
  for f in "$ca_dir"/*.pem "$ios_dir"/*.pem; do
    rel=${f#"$here/"}
    subj=$(openssl x509 -in "$f" -noout -subject -nameopt RFC2253 | sed 's/^subject=//')
    iss=$(openssl x509 -in "$f" -noout -issuer -nameopt RFC2253 | sed 's/^issuer=//')
    serial=$(openssl x509 -in "$f" -noout -serial | sed 's/^serial=//')
    nb=$(date -u -d "$(openssl x509 -in "$f" -noout -startdate | sed 's/^notBefore=//')" +%FT%TZ)
    na=$(date -u -d "$(openssl x509 -in "$f" -noout -enddate | sed 's/^notAfter=//')" +%FT%TZ)
    key=$(openssl x509 -in "$f" -noout -text | sed -n 's/^ *Public Key Algorithm: //p' | head -n1)
    case "$key" in rsaEncryption) key=RSA-2048 ;; id-ecPublicKey) key=EC-P256 ;; esac
    sha1=$(openssl x509 -in "$f" -noout -fingerprint -sha1 | sed 's/^.*=//; s/://g')
    sha256=$(openssl x509 -in "$f" -noout -fingerprint -sha256 | sed 's/^.*=//; s/://g')
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$rel" "$subj" "$iss" "$serial" "$nb" "$na" "$key" "$sha1" "$sha256"
  done
} >"$here/identities.tsv"

echo "signing/: generated $(find "$ca_dir" "$ios_dir" -type f | wc -l) files"
