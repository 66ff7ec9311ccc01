#!/usr/bin/env bash
# Regenerates every TEST-ONLY provisioning profile under profiles/, from scratch.
# Needs openssl and python3, and the identities from signing/generate.sh.
#
#   bash profiles/generate.sh
#
# profiles/src/<name>.plist are written by profiles/src/make_plists.py (deterministic), then
# each is wrapped in a DER CMS SignedData like Apple's. The CMS signing time is "now", so the
# .mobileprovision bytes change on each run; the plists do not (unless signing/ changed).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
signing="$here/../signing"
ios="$signing/ios"
ca="$signing/ca"
export LC_ALL=C TZ=UTC

for f in "$ios/profile-signer.pem" "$ios/rogue-profile-signer.pem" "$ca/test-iphone-ca.pem"; do
  [ -f "$f" ] || { echo "missing $f: run signing/generate.sh first" >&2; exit 1; }
done

tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
rm -f "$here"/*.mobileprovision "$here"/src/*.plist
python3 "$here/src/make_plists.py" "$ios" "$here/src"

sign() { # sign <name> <signer> [<intermediate.pem>]
  local extra=()
  [ -n "${3:-}" ] && extra=(-certfile "$3")
  openssl cms -sign -binary -nodetach -nosmimecap -outform DER -md sha256 \
    -signer "$ios/$2.pem" -inkey "$ios/$2.key" "${extra[@]}" \
    -in "$here/src/$1.plist" -out "$here/$1.mobileprovision"
}

for plist in "$here"/src/*.plist; do
  name=$(basename "$plist" .plist)
  if [ "$name" = untrusted ]; then
    sign "$name" rogue-profile-signer
  else
    sign "$name" profile-signer "$ca/test-iphone-ca.pem"
  fi
done

# tampered: enterprise-app with one byte of the signed content changed (same length, so every
# DER length stays valid; the messageDigest attribute no longer matches).
python3 - "$here/enterprise-app.mobileprovision" "$here/tampered.mobileprovision" <<'EOF'
import sys
data = open(sys.argv[1], "rb").read()
old = b"<string>WrapDemo In-House TEST</string>"
new = b"<string>XrapDemo In-House TEST</string>"
assert data.count(old) == 1, "Name not found exactly once"
open(sys.argv[2], "wb").write(data.replace(old, new))
EOF

printf 'This is not a provisioning profile (wrapsign TEST fixture).\n' >"$here/not-a-profile.mobileprovision"
python3 - "$here/enterprise-app.mobileprovision" "$here/truncated.mobileprovision" <<'EOF'
import sys
data = open(sys.argv[1], "rb").read()
open(sys.argv[2], "wb").write(data[: len(data) // 2])
EOF

# Checks: every profile verifies against the test root, except tampered and untrusted (and the
# two unreadable files); the signed content equals the plist source.
verify() {
  openssl cms -verify -inform DER -CAfile "$ca/test-root-ca.pem" -certfile "$ca/test-iphone-ca.pem" \
    -purpose any -in "$1" -out "$2" 2>/dev/null
}
for f in "$here"/*.mobileprovision; do
  name=$(basename "$f" .mobileprovision)
  case "$name" in
    tampered | untrusted | not-a-profile | truncated)
      if verify "$f" /dev/null; then echo "FAIL: $name verified but must not" >&2; exit 1; fi ;;
    *)
      verify "$f" "$tmp" || { echo "FAIL: $name does not verify" >&2; exit 1; }
      cmp -s "$tmp" "$here/src/$name.plist" || { echo "FAIL: $name content" >&2; exit 1; } ;;
  esac
done
echo "profiles/: generated $(ls "$here"/*.mobileprovision | wc -l) profiles; checks pass"
