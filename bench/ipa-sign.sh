#!/usr/bin/env bash
# `wrapsign sign` against the manual pipeline it replaces (unzip + `rcodesign
# sign`, the CLI of the same signing library, + zip) and `sha256sum` of the same
# IPA, in one run, on generated IPAs with 10 and 50 Mach-O binaries: median wall
# time, ratio to the manual pipeline, peak memory.
#
#   bench/ipa-sign.sh                       # MACHOS="10 50", 20 MiB of resources, 5 runs
#   MACHOS="10 50" RES_MB=20 RUNS=5 bench/ipa-sign.sh
#
# Each IPA is the sample app (3 Mach-Os: app, framework, share extension) plus
# copies of its framework (real arm64 Mach-O) up to MACHOS binaries, and RES_MB
# of resources (half random like images, half text); built in a temp folder.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
. bench/lib.sh
bench_need unzip zip sha256sum openssl
# Without rcodesign (cargo install apple-codesign --version 0.29.0 --no-default-features
# --locked) only wrapsign and sha256sum are timed.
export PATH="$PATH:$HOME/.cargo/bin"
have_rcodesign=1
command -v rcodesign >/dev/null || { have_rcodesign=; echo "SKIP: rcodesign not installed (the manual pipeline rows)" >&2; }

MACHOS=${MACHOS:-"10 50"}
RES_MB=${RES_MB:-20}
export LC_ALL=C
cargo build --release --quiet
ws="$here/target/release/wrapsign"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

sign_args=(--cert "$here/signing/ios/dist.p12" --cert-pass "file:$here/signing/ios/p12.pass"
  --trust-root "$here/signing/ca/test-root-ca.pem" --at 2026-06-01
  --profile "$here/profiles/enterprise-app.mobileprovision"
  --profile "$here/profiles/enterprise-share.mobileprovision" --quiet)
openssl x509 -in "$here/signing/ca/test-wwdr-ca.pem" -outform DER -out "$work/wwdr.der"

# The manual pipeline: unzip, rcodesign sign in place (nested bundles too), zip.
cat >"$work/manual.sh" <<EOS
#!/usr/bin/env bash
set -euo pipefail
in=\$1; out=\$2; d=\$(mktemp -d -p "$work")
cd "\$d" && unzip -q "\$in"
rcodesign sign --pem-file "$here/signing/ios/dist.pem" --pem-file "$here/signing/ios/dist.key" \\
  --certificate-der-file "$work/wwdr.der" --team-name WSTEST0001 --timestamp-url none \\
  Payload/WrapDemo.app >/dev/null 2>&1
rm -f "\$out"; zip -qr -X "\$out" Payload
cd / && rm -rf "\$d"
EOS
chmod +x "$work/manual.sh"
# wrapsign's invocation as one executable (hyperfine -N runs no shell).
cat >"$work/ws.sh" <<EOS
#!/usr/bin/env bash
exec "$ws" sign "\$1" --out "\$2" $(printf '%q ' "${sign_args[@]}")
EOS
chmod +x "$work/ws.sh"

echo "machine: $(nproc) cores, $(uname -m); wrapsign $(git rev-parse --short HEAD 2>/dev/null || echo '?'); $(rcodesign --version 2>/dev/null | head -1 || true)"
echo
bench_header "IPA re-sign" "unzip+rcodesign+zip"
fail=0
for n in $MACHOS; do
  d="$work/gen$n"
  mkdir -p "$d"
  (cd "$d" && unzip -q "$here/samples/WrapDemo.ipa")
  python3 - "$d/Payload/WrapDemo.app" "$n" "$RES_MB" <<'EOS'
import os, plistlib, random, shutil, sys
app, machos, mb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(42)
res = os.path.join(app, "Assets")
os.makedirs(res, exist_ok=True)
for i in range(max(1, mb)):                       # 1 MiB per file
    with open(os.path.join(res, f"asset{i:03}.bin"), "wb") as f:
        if i % 2 == 0:
            f.write(rnd.randbytes(1 << 20))        # incompressible, like PNG/JPEG
        else:
            f.write((b"wrapsign benchmark resource line\n" * 40000)[: 1 << 20])
kit = os.path.join(app, "Frameworks", "WrapKit.framework")
for k in range(1, machos - 2):                     # the sample has 3 Mach-Os
    dst = os.path.join(app, "Frameworks", f"WrapKit{k}.framework")
    shutil.copytree(kit, dst, ignore=shutil.ignore_patterns("_CodeSignature"))
    os.rename(os.path.join(dst, "WrapKit"), os.path.join(dst, f"WrapKit{k}"))
    with open(os.path.join(dst, "Info.plist"), "rb") as f:
        info = plistlib.load(f)
    info["CFBundleIdentifier"] = f"com.example.wrapdemo.WrapKit{k}"
    info["CFBundleExecutable"] = f"WrapKit{k}"
    with open(os.path.join(dst, "Info.plist"), "wb") as f:
        plistlib.dump(info, f)
EOS
  ipa="$work/app$n.ipa"
  (cd "$d" && zip -qr -X "$ipa" Payload)
  machos=$(find "$d/Payload" -type f -exec sh -c 'head -c4 "$1" | od -An -tx1 | grep -q "cf fa ed fe"' _ {} \; -print | wc -l)
  rm -rf "$d"
  label="$machos Mach-Os, $(du -m "$ipa" | cut -f1) MB"
  manual=-
  if [ -n "$have_rcodesign" ]; then
    bench_row "unzip + rcodesign sign + zip ($label)" - "$work/manual.sh" "$ipa" "$work/manual.ipa"
    manual=$BENCH_LAST
  fi
  bench_row "wrapsign sign ($label)" "$manual" "$work/ws.sh" "$ipa" "$work/ws.ipa"
  [ "$BENCH_CODE" = 0 ] || fail=1
  bench_row "sha256sum ($label)" "$manual" sha256sum "$ipa"
done
[ $fail = 0 ] || { echo "a wrapsign sign run failed (see the exit column)" >&2; exit 1; }
