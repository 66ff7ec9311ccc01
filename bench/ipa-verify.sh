#!/usr/bin/env bash
# `wrapsign verify --app` (the full code-signature check of issue 13: every
# Mach-O page and slot, every CMS, every sealed file) against `unzip -t` of the
# same IPA (which inflates and CRC-checks every entry), in one run: median wall
# time, the ratio both ways, peak memory.
#
#   bench/ipa-verify.sh                        # an IPA of about 200 MB, 5 runs
#   MACHO_MB=96 RES_MB=195 RUNS=5 bench/ipa-verify.sh
#
# The IPA is the sample app (3 Mach-Os) plus FRAMEWORKS frameworks whose
# binaries hold MACHO_MB in all (real arm64 dylibs, built with clang + ld64.lld,
# half random data, half text), and RES_MB of resources in files of 4-64 KiB
# (75% random like PNG/JPEG, 25% text like JSON/strings), signed by
# `wrapsign sign`; built in a temp folder.
#
# Target (issue 13): wrapsign's full check takes at most 0.7x unzip -t's time,
# with peak memory under 64 MiB.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
. bench/lib.sh
bench_need unzip clang python3
ld=$(command -v ld64.lld-14 || command -v ld64.lld || true)
[ -n "$ld" ] || { echo "SKIP: ld64.lld not installed" >&2; exit 0; }

FRAMEWORKS=${FRAMEWORKS:-4}
MACHO_MB=${MACHO_MB:-96}
RES_MB=${RES_MB:-195}
export LC_ALL=C
cargo build --release --quiet
ws="$here/target/release/wrapsign"
work=$(mktemp -d)
if [ -n "${KEEP_WORK:-}" ]; then echo "work dir kept: $work" >&2; else trap 'rm -rf "$work"' EXIT; fi

# Big framework binaries: __TEXT,__const holds the data (.incbin).
per=$((MACHO_MB * 1024 * 1024 / FRAMEWORKS))
python3 - "$work/blob.bin" "$per" <<'EOS'
import random, sys
path, n = sys.argv[1], int(sys.argv[2])
rnd = random.Random(7)
with open(path, "wb") as f:
    half = n // 2
    f.write(rnd.randbytes(half))
    line = b"ldr x0, [x1, #16]; bl _objc_msgSend; mov x19, x0; // wrapsign bench\n"
    f.write((line * (half // len(line) + 1))[: n - half])
EOS
printf '__asm__(".section __TEXT,__const\\n.globl _blob\\n_blob:\\n.incbin \\"%s\\"\\n.text\\n");\nextern const char blob[];\nint big(void) { return blob[1]; }\n' \
  "$work/blob.bin" >"$work/big.c"
clang -target arm64-apple-ios14.0 -Os -fno-ident -c "$work/big.c" -o "$work/big.o"

d="$work/app"
mkdir -p "$d"
(cd "$d" && unzip -q "$here/samples/WrapDemo-unsigned.ipa")
app="$d/Payload/WrapDemo.app"
for k in $(seq 1 "$FRAMEWORKS"); do
  fw="$app/Frameworks/Big$k.framework"
  mkdir -p "$fw"
  "$ld" -arch arm64 -platform_version ios 14.0 14.0 -dylib \
    -install_name "@rpath/Big$k.framework/Big$k" -o "$fw/Big$k" "$work/big.o" \
    "$here/samples/ios-src/libSystem.tbd"
  sed -e "s/WrapKit/Big$k/g" "$here/samples/ios-src/WrapKit-Info.plist" >"$fw/Info.plist"
done
python3 - "$app" "$RES_MB" <<'EOS'
import os, random, sys
app, mb = sys.argv[1], int(sys.argv[2])
rnd = random.Random(42)
left, i = mb << 20, 0
text = b'{"id": %d, "title": "wrapsign benchmark resource", "tags": ["a", "b"]}\n'
while left > 0:
    size = min(left, rnd.randint(4 << 10, 64 << 10))
    d = os.path.join(app, "Assets", f"set{i // 500:02}")
    os.makedirs(d, exist_ok=True)
    if rnd.random() < 0.75:
        name, data = f"img{i:05}.png", rnd.randbytes(size)
    else:
        name = f"doc{i:05}.json"
        data = b"".join(text % (i * 1000 + j) for j in range(size // 60 + 1))[:size]
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)
    left -= size
    i += 1
print(f"{i} resource files", file=sys.stderr)
EOS
(cd "$d" && rm -f ../unsigned.ipa && zip -qr -1 ../unsigned.ipa Payload)
common=(--trust-root "$here/signing/ca/test-root-ca.pem" --at 2026-06-01)
"$ws" sign "$work/unsigned.ipa" --out "$work/signed.ipa" \
  --cert "$here/signing/ios/dist.p12" --cert-pass "file:$here/signing/ios/p12.pass" \
  --profile "$here/profiles/enterprise-app.mobileprovision" \
  --profile "$here/profiles/enterprise-share.mobileprovision" "${common[@]}" --quiet
rm -rf "$d" "$work/unsigned.ipa"
ipa="$work/signed.ipa"
entries=$(unzip -Z1 "$ipa" | wc -l)
machos=$((3 + FRAMEWORKS))
echo "machine: $(nproc) cores, $(uname -m); wrapsign $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
echo "input: $(du -m "$ipa" | cut -f1) MB IPA ($(python3 -c "import zipfile,sys; print(sum(i.file_size for i in zipfile.ZipFile(sys.argv[1]).infolist())>>20)" "$ipa") MiB expanded), $entries entries, $machos Mach-Os"
echo
bench_header "IPA verify" "unzip -t"
bench_row "unzip -t (inflate + CRC-32 of every entry, 1 core)" - unzip -tq "$ipa"
base=$BENCH_LAST
bench_row "wrapsign verify --app (full code-signature check)" "$base" \
  "$ws" verify --app "$ipa" "${common[@]}" --quiet
ws_time=$BENCH_LAST
code=$BENCH_CODE
python3 - "$ws_time" "$base" <<'EOS'
import sys
w, u = float(sys.argv[1]), float(sys.argv[2])
print(f"\nwrapsign / unzip -t = {w / u:.2f}x (target <= 0.70x); unzip -t / wrapsign = {u / w:.2f}x")
EOS
[ "$code" = 0 ] || { echo "wrapsign verify exited $code on the signed IPA" >&2; exit 1; }
