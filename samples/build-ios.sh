#!/usr/bin/env bash
# Rebuilds the TEST-ONLY iOS sample IPAs under samples/ from samples/ios-src/, from scratch.
#
#   bash samples/build-ios.sh
#
# Needs: clang + ld64.lld (Debian clang, lld), python3, zip, and rcodesign 0.29.0
#   (cargo install apple-codesign --version 0.29.0 --no-default-features --locked).
# Uses signing/ios/dist.{pem,key} + signing/ca/test-wwdr-ca.pem and
# profiles/enterprise-{app,share}.mobileprovision, so run signing/generate.sh and
# profiles/generate.sh first. No network: rcodesign runs with --timestamp-url none.
# With unchanged inputs the IPAs are byte-identical (fixed signing time and zip mtimes).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
src="$here/ios-src"
export LC_ALL=C TZ=UTC

TEAM=WSTEST0001
SIGNING_TIME=2025-06-01T00:00:00Z
ZIP_MTIME=202501010000.00

ld=$(command -v ld64.lld-14 || command -v ld64.lld || true)
rcodesign=$(command -v rcodesign || echo "$HOME/.cargo/bin/rcodesign")
for t in clang python3 zip "$ld" "$rcodesign"; do
  command -v "$t" >/dev/null || { echo "missing tool: ${t:-ld64.lld}" >&2; exit 1; }
done
for f in "$root/signing/ios/dist.pem" "$root/profiles/enterprise-app.mobileprovision"; do
  [ -f "$f" ] || { echo "missing $f: run signing/generate.sh and profiles/generate.sh first" >&2; exit 1; }
done

work=$(mktemp -d)
if [ -n "${KEEP_WORK:-}" ]; then echo "work dir kept: $work"; else trap 'rm -rf "$work"' EXIT; fi
rm -f "$here"/WrapDemo*.ipa

# ---------------------------------------------------------------- compile + link (arm64 iOS)
obj="$work/obj"
mkdir -p "$obj"
cc() { clang -target arm64-apple-ios14.0 -Os -fno-ident -c "$src/$1.c" -o "$obj/$1.o"; }
link() { "$ld" -arch arm64 -platform_version ios 14.0 14.0 "$@"; }
cc wrapkit
cc wrapdemo
cc wrapshare
link -dylib -install_name @rpath/WrapKit.framework/WrapKit -current_version 1.0 \
  -compatibility_version 1.0 -o "$obj/WrapKit" "$obj/wrapkit.o" "$src/libSystem.tbd"
link -e _main -rpath @executable_path/Frameworks -o "$obj/WrapDemo" "$obj/wrapdemo.o" \
  "$obj/WrapKit" "$src/libSystem.tbd"
link -e _main -rpath @executable_path/../../Frameworks -o "$obj/WrapShare" "$obj/wrapshare.o" \
  "$src/libSystem.tbd"

# ---------------------------------------------------------------- bundle layout
# assemble <dir> <main CFBundleIdentifier>: writes <dir>/Payload/WrapDemo.app, unsigned.
assemble() {
  local app="$1/Payload/WrapDemo.app"
  mkdir -p "$app/en.lproj" "$app/Frameworks/WrapKit.framework" "$app/PlugIns/WrapShare.appex"
  install -m 0755 "$obj/WrapDemo" "$app/WrapDemo"
  python3 "$src/bundle_files.py" info-plist "$app/Info.plist" "$2"
  python3 "$src/bundle_files.py" png "$app/wrap.png"
  install -m 0644 "$src/Localizable.strings" "$app/en.lproj/Localizable.strings"
  install -m 0644 "$root/profiles/enterprise-app.mobileprovision" "$app/embedded.mobileprovision"
  install -m 0755 "$obj/WrapKit" "$app/Frameworks/WrapKit.framework/WrapKit"
  install -m 0644 "$src/WrapKit-Info.plist" "$app/Frameworks/WrapKit.framework/Info.plist"
  install -m 0755 "$obj/WrapShare" "$app/PlugIns/WrapShare.appex/WrapShare"
  install -m 0644 "$src/WrapShare-Info.plist" "$app/PlugIns/WrapShare.appex/Info.plist"
  install -m 0644 "$root/profiles/enterprise-share.mobileprovision" \
    "$app/PlugIns/WrapShare.appex/embedded.mobileprovision"
}

# sign <dir> <main entitlements file>: signs Payload/WrapDemo.app in place, nested bundles first
# (rcodesign walks them deepest-first). Every bundle gets its entitlements explicitly; the
# framework gets none (an empty scope would inherit the main one, see README).
sign() {
  local app="$1/Payload/WrapDemo.app"
  "$rcodesign" sign \
    --pem-file "$root/signing/ios/dist.pem" --pem-file "$root/signing/ios/dist.key" \
    --certificate-der-file "$work/wwdr.der" \
    --team-name "$TEAM" --timestamp-url none --signing-time "$SIGNING_TIME" \
    --entitlements-xml-file "$2" \
    --entitlements-xml-file "PlugIns/WrapShare.appex:$src/entitlements/share.entitlements" \
    "$app" >"$1/sign.log" 2>&1 || { cat "$1/sign.log" >&2; return 1; }
}

# pack <dir> <out.ipa>: Payload/ at the zip root, sorted entries, fixed mtimes, no extra fields.
pack() {
  (cd "$1" && find Payload -exec touch -h -t "$ZIP_MTIME" {} + &&
    find Payload | sort | zip -q -X -@ "$2.tmp" && mv "$2.tmp" "$2")
}

openssl x509 -in "$root/signing/ca/test-wwdr-ca.pem" -outform DER -out "$work/wwdr.der"

# name | main bundle id | main entitlements (empty: unsigned)
while IFS='|' read -r name bid ent; do
  d="$work/$name"
  assemble "$d" "$bid"
  [ -z "$ent" ] || sign "$d" "$src/entitlements/$ent"
  pack "$d" "$here/$name.ipa"
done <<'EOF'
WrapDemo-unsigned|com.example.wrapdemo|
WrapDemo|com.example.wrapdemo|wrapdemo.entitlements
WrapDemo-extra-entitlement|com.example.wrapdemo|wrapdemo-healthkit.entitlements
WrapDemo-wrong-id|com.example.otherapp|otherapp.entitlements
EOF

# ---------------------------------------------------------------- checks
fail() { echo "FAIL: $*" >&2; exit 1; }
machos="WrapDemo Frameworks/WrapKit.framework/WrapKit PlugIns/WrapShare.appex/WrapShare"
for name in WrapDemo WrapDemo-extra-entitlement WrapDemo-wrong-id; do
  app="$work/$name/Payload/WrapDemo.app"
  for m in $machos; do
    "$rcodesign" verify "$app/$m" >/dev/null 2>&1 || fail "$name: rcodesign verify $m"
  done
  info=$("$rcodesign" print-signature-info "$app" 2>/dev/null)
  grep -q "team_name: $TEAM" <<<"$info" || fail "$name: team"
  for id in com.example.wrapdemo.share com.example.wrapdemo.WrapKit; do
    grep -q "identifier: $id\$" <<<"$info" || fail "$name: identifier $id"
  done
  [ -f "$app/_CodeSignature/CodeResources" ] || fail "$name: no CodeResources"
done
# (Outputs are captured first: `cmd | grep -q` under pipefail fails when grep exits early.)
sig() { "$rcodesign" print-signature-info "$work/$1/Payload/WrapDemo.app/$2" 2>/dev/null || true; }
grep -q 'identifier: com.example.wrapdemo$' <<<"$(sig WrapDemo WrapDemo)" || fail "WrapDemo identifier"
grep -q 'identifier: com.example.otherapp$' <<<"$(sig WrapDemo-wrong-id WrapDemo)" || fail "wrong-id identifier"
grep -q 'com.apple.developer.healthkit' <<<"$(sig WrapDemo-extra-entitlement WrapDemo)" || fail "healthkit"
if grep -q 'com.apple.developer.healthkit' <<<"$(sig WrapDemo WrapDemo)"; then fail "WrapDemo has healthkit"; fi
if grep -q 'entitlements' <<<"$(sig WrapDemo Frameworks/WrapKit.framework/WrapKit)"; then fail "WrapKit has entitlements"; fi
for m in $machos; do
  if grep -q 'code_directory' <<<"$(sig WrapDemo-unsigned "$m")"; then fail "unsigned: $m has a signature"; fi
done
[ ! -e "$work/WrapDemo-unsigned/Payload/WrapDemo.app/_CodeSignature" ] || fail "unsigned has _CodeSignature"

ls -l "$here"/WrapDemo*.ipa
echo "samples/: built $(ls "$here"/WrapDemo*.ipa | wc -l) iOS samples; checks pass"
