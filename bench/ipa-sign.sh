#!/usr/bin/env bash
# Times `wrapsign sign` on the sample IPA and on a large generated one, against
# the manual pipeline it replaces: unzip + `rcodesign sign` (the CLI of the same
# signing library) + zip, on the same input, in one run.
#
#   bash bench/ipa-sign.sh            # needs: cargo, rcodesign, unzip, zip, python3; hyperfine if present
#   RUNS=10 BIG_MB=200 bash bench/ipa-sign.sh
#
# The large IPA is the sample app plus BIG_MB of resources (half random bytes like
# images, half compressible text) and six more frameworks (real arm64 Mach-O),
# built in a temporary folder and deleted afterwards.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUNS=${RUNS:-5}
BIG_MB=${BIG_MB:-100}
export LC_ALL=C

for t in rcodesign unzip zip python3; do
  command -v "$t" >/dev/null || { echo "SKIP: $t not installed" >&2; exit 0; }
done

(cd "$here" && cargo build --release --quiet)
ws="$here/target/release/wrapsign"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

sign_args=(--cert "$here/signing/ios/dist.p12" --cert-pass "file:$here/signing/ios/p12.pass"
  --trust-root "$here/signing/ca/test-root-ca.pem" --at 2026-06-01
  --profile "$here/profiles/enterprise-app.mobileprovision"
  --profile "$here/profiles/enterprise-share.mobileprovision" --quiet)
openssl x509 -in "$here/signing/ca/test-wwdr-ca.pem" -outform DER -out "$work/wwdr.der"

# ---- the large IPA ----
mkdir -p "$work/big"
(cd "$work/big" && unzip -q "$here/samples/WrapDemo.ipa")
app="$work/big/Payload/WrapDemo.app"
python3 - "$app" "$BIG_MB" <<'EOF'
import os, plistlib, random, shutil, sys
app, mb = sys.argv[1], int(sys.argv[2])
rnd = random.Random(42)
res = os.path.join(app, "Assets")
os.makedirs(res, exist_ok=True)
n = max(2, mb // 2)            # 2 MiB per file
for i in range(n):
    with open(os.path.join(res, f"asset{i:03}.bin"), "wb") as f:
        if i % 2 == 0:
            f.write(rnd.randbytes(2 << 20))             # incompressible, like PNG/JPEG
        else:
            line = b"wrapsign benchmark resource line %d\n"
            f.write(b"".join(line % j for j in range((2 << 20) // 40))[: 2 << 20])
kit = os.path.join(app, "Frameworks", "WrapKit.framework")
for k in range(1, 7):
    dst = os.path.join(app, "Frameworks", f"WrapKit{k}.framework")
    shutil.copytree(kit, dst, ignore=shutil.ignore_patterns("_CodeSignature"))
    os.rename(os.path.join(dst, "WrapKit"), os.path.join(dst, f"WrapKit{k}"))
    with open(os.path.join(dst, "Info.plist"), "rb") as f:
        info = plistlib.load(f)
    info["CFBundleIdentifier"] = f"com.example.wrapdemo.WrapKit{k}"
    info["CFBundleExecutable"] = f"WrapKit{k}"
    with open(os.path.join(dst, "Info.plist"), "wb") as f:
        plistlib.dump(info, f)
EOF
(cd "$work/big" && zip -qr -X "$work/big.ipa" Payload)
cp "$here/samples/WrapDemo.ipa" "$work/sample.ipa"

# The manual pipeline: unzip, rcodesign sign in place, zip.
cat >"$work/manual.sh" <<EOF
#!/usr/bin/env bash
set -euo pipefail
in=\$1; out=\$2; d=\$(mktemp -d -p "$work")
cd "\$d" && unzip -q "\$in"
rcodesign sign --pem-file "$here/signing/ios/dist.pem" --pem-file "$here/signing/ios/dist.key" \\
  --certificate-der-file "$work/wwdr.der" --team-name WSTEST0001 --timestamp-url none \\
  Payload/WrapDemo.app >/dev/null 2>&1
rm -f "\$out"; zip -qr -X "\$out" Payload
cd / && rm -rf "\$d"
EOF
chmod +x "$work/manual.sh"

echo "machine: $(nproc) cores; inputs: sample $(du -h "$work/sample.ipa" | cut -f1), large $(du -h "$work/big.ipa" | cut -f1) (unzipped $(du -sh "$work/big/Payload" | cut -f1), $(find "$work/big/Payload" -type f | wc -l) files)"
for name in sample big; do
  in="$work/$name.ipa"
  if command -v hyperfine >/dev/null; then
    hyperfine --style basic --warmup 1 --runs "$RUNS" \
      -n "wrapsign sign ($name)" "$ws sign $in --out $work/$name-ws.ipa ${sign_args[*]}" \
      -n "unzip+rcodesign+zip ($name)" "$work/manual.sh $in $work/$name-manual.ipa"
  else
    for i in $(seq "$RUNS"); do
      /usr/bin/time -f "wrapsign ($name): %e s, %M KB" "$ws" sign "$in" --out "$work/$name-ws.ipa" "${sign_args[@]}" >/dev/null
      /usr/bin/time -f "manual ($name): %e s, %M KB" "$work/manual.sh" "$in" "$work/$name-manual.ipa"
    done
  fi
  /usr/bin/time -f "peak memory, wrapsign sign ($name): %M KB" "$ws" sign "$in" --out "$work/$name-ws.ipa" "${sign_args[@]}" >/dev/null
  ls -l "$work/$name-ws.ipa" "$work/$name-manual.ipa" | awk '{print "  output " $NF ": " $5 " bytes"}'
done
