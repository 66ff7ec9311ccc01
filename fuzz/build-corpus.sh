#!/usr/bin/env bash
# Seeds fuzz/corpus/<target>/ from the committed test material (samples/,
# profiles/, signing/) and ../shared/conformance when it is there. The corpora
# are not committed (fuzz/corpus is ignored): run this before fuzzing.
#   fuzz/build-corpus.sh            # every target
#   fuzz/build-corpus.sh apk ipa    # some
#   CORPUS_OUT=DIR fuzz/build-corpus.sh   # elsewhere (fuzz/keep.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 - "$@" <<'PY'
import hashlib, io, os, struct, sys, zipfile, glob

ROOT = os.getcwd()
CONF = os.path.join(ROOT, "..", "shared", "conformance")
OUT = os.environ.get("CORPUS_OUT") or os.path.join(ROOT, "fuzz", "corpus")
SPLIT = b"\n--wrapsign-fuzz--\n"
MAX = 1 << 20  # seeds above 1 MiB only slow the fuzzer down

def files(*patterns):
    out = []
    for p in patterns:
        for base in (ROOT, CONF):
            out += glob.glob(os.path.join(base, p), recursive=True)
    return sorted(set(f for f in out if os.path.isfile(f) and os.path.getsize(f) <= MAX))

def save(target, data):
    if not data or len(data) > MAX:
        return
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)

def read(p):
    with open(p, "rb") as f:
        return f.read()

def member(z, n):
    try:
        return z.read(n)
    except Exception:  # damaged on purpose (conformance), or an odd method
        return b""

def zips(*patterns):
    for p in files(*patterns):
        try:
            yield p, zipfile.ZipFile(p)
        except zipfile.BadZipFile:
            pass

def signing_block(apk):
    """The APK Signing Block (whole) and its ID-value pair values."""
    eocd = apk.rfind(b"PK\x05\x06")
    if eocd < 0:
        return []
    cd = struct.unpack_from("<I", apk, eocd + 16)[0]
    if cd < 24 or apk[cd - 16:cd] != b"APK Sig Block 42":
        return []
    size = struct.unpack_from("<Q", apk, cd - 24)[0]
    start = cd - size - 8
    if start < 0:
        return []
    block = apk[start:cd]
    out, pos, pairs = [block], 8, block[8:-24]
    pos = 0
    while pos + 12 <= len(pairs):
        n = struct.unpack_from("<Q", pairs, pos)[0]
        out.append(pairs[pos + 12:pos + 8 + n])
        pos += 8 + n
    return out

wanted = set(sys.argv[1:])
def want(t):
    return not wanted or t in wanted

if want("profile"):
    for p in files("profiles/**/*.mobileprovision", "ios/**/*.mobileprovision", "ios/**/*.plist"):
        save("profile", read(p))
    for p, z in zips("samples/*.ipa", "ios/**/*.ipa"):
        for n in z.namelist():
            if n.endswith("embedded.mobileprovision") or n.endswith("Info.plist"):
                save("profile", member(z, n))

if want("pkcs12"):
    for p in files("signing/**/*.p12", "signing/**/*.pfx", "ios/**/*.p12"):
        save("pkcs12", read(p))
    for p, z in zips("signing/inventory/devices.zip"):
        for n in z.namelist():
            save("pkcs12", member(z, n))

if want("keystore"):
    for p in files("signing/**/*.jks", "signing/**/*.jceks", "signing/**/*.keystore",
                   "signing/**/*.bks", "pyjks/**/*.jks", "pyjks/**/*.jceks",
                   "pyjks/**/*.bksv1", "pyjks/**/*.bksv2", "pyjks/**/*.uber"):
        save("keystore", read(p))

apks = list(zips("samples/android/**/*.apk", "apksig/*.apk"))

if want("android_manifest"):
    for p, z in apks:
        if "AndroidManifest.xml" in z.namelist():
            save("android_manifest", member(z, "AndroidManifest.xml"))

if want("apk_signing_block"):
    for p, z in apks:
        for part in signing_block(read(p)):
            save("apk_signing_block", part)

if want("apk_v1"):
    for p, z in apks:
        names = z.namelist()
        mf = [n for n in names if n == "META-INF/MANIFEST.MF"]
        for sf in [n for n in names if n.startswith("META-INF/") and n.endswith(".SF")]:
            base = sf[:-3]
            sigs = [n for n in names if n.startswith(base + ".") and n[-4:] in (".RSA", ".DSA", ".EC")]
            if mf and sigs:
                save("apk_v1", SPLIT.join([member(z, mf[0]), member(z, sf), member(z, sigs[0])]))

for t in ("apk", "apk_sign"):
    if want(t):
        for p, z in apks:
            save(t, read(p))

if want("zip"):
    for p in files("samples/**/*.apk", "samples/*.ipa", "apksig/*.apk", "ios/**/*.ipa",
                   "signing/inventory/devices.zip"):
        save("zip", read(p))

if want("ipa") or want("ipa_extract"):
    for p in files("samples/*.ipa", "ios/**/*.ipa"):
        for t in ("ipa", "ipa_extract"):
            if want(t):
                save(t, read(p))

if want("code_signature"):
    # Each bundle's main executable with its Info.plist, CodeResources and
    # listing; every other Mach-O alone; loose signed binaries.
    def is_macho(b):
        return b[:4] in (b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe", b"\xca\xfe\xba\xbe",
                         b"\xfe\xed\xfa\xcf", b"\xfe\xed\xfa\xce")
    for p, z in zips("samples/*.ipa", "ios/**/*.ipa", "realworld/**/*.ipa"):
        names = z.namelist()
        for n in names:
            data = member(z, n)
            if n.endswith("/") or not is_macho(data):
                continue
            root = n.rsplit("/", 1)[0]
            info = member(z, root + "/Info.plist") if root + "/Info.plist" in names else b""
            cr = root + "/_CodeSignature/CodeResources"
            res = member(z, cr) if cr in names else b""
            listing = "\n".join(x[len(root) + 1:] for x in names if x.startswith(root + "/")).encode()
            save("code_signature", SPLIT.join([data, info, res, listing]))
    for p in files("ios/isign/isignTestApp.*"):
        save("code_signature", read(p))

if want("device_zip"):
    for p in files("signing/inventory/devices.zip"):
        save("device_zip", read(p))

for t in sorted(os.listdir(OUT)) if os.path.isdir(OUT) else []:
    n = len(os.listdir(os.path.join(OUT, t)))
    print(f"{t:20} {n} seeds")
PY
