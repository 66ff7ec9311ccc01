#!/usr/bin/env bash
# Benchmark: `wrapsign sign` against `zipalign -p 4` + `apksigner sign` on the
# same APKs of 5 and 200 MiB (thousands of entries, stored and deflated, native
# libraries) and the same key, `sha256sum` of the input as the one-core floor,
# then `wrapsign verify` against `apksigner verify` on the result. Median wall
# time and peak RSS (/usr/bin/time) of RUNS runs.
#
#   bench/apk-sign.sh            # needs python3, apksigner, zipalign, /usr/bin/time
#   SIZES="5 200" RUNS=5 bench/apk-sign.sh
#   bench/apk-sign.sh --quick    # 5 MiB, 2 runs: checks it still runs (CI)
#
# The APK is generated in a temp folder (never committed) by make_apk.py,
# unaligned so that both tools must align. Two minSdk levels: 24 (v2+v3, the
# content digest only) and 21 (v1 too: every entry inflated and hashed).
# Targets (issue 7): sign >= 3x faster than zipalign+apksigner; peak RSS < 64 MB.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--quick" ]; then
    SIZES=${SIZES:-5}
    RUNS=${RUNS:-2}
fi
SIZES=${SIZES:-${BULK_MB:-"5 200"}}
RUNS=${RUNS:-5}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

for tool in python3 apksigner zipalign bc; do
    command -v "$tool" >/dev/null || { echo "SKIP: $tool not installed" >&2; exit 0; }
done
[ -x /usr/bin/time ] || { echo "SKIP: /usr/bin/time not installed" >&2; exit 0; }

cargo build --release --quiet
WRAPSIGN=$PWD/target/release/wrapsign
KEY=(--key samples/android/keys/rsa-2048.pk8 --cert samples/android/keys/rsa-2048.x509.pem)


# The baseline as release engineers run it: align, then sign.
zipalign_apksigner() {
    zipalign -f -p 4 "$1" "$WORK/aligned.apk" &&
        apksigner sign --key samples/android/keys/rsa-2048.pk8 --cert samples/android/keys/rsa-2048.x509.pem \
            --v4-signing-enabled false --out "$2" "$WORK/aligned.apk"
}
export -f zipalign_apksigner
export WORK

# Median wall seconds (hyperfine) and peak RSS (KiB, /usr/bin/time) of a
# command; a pipeline is timed as a whole (bash -c), its largest process's RSS.
. bench/lib.sh
measure() {
    local m r _c
    read -r m r _c < <(bench_measure "$@")
    echo "$m $r"
}

row() {
    local label=$1
    shift
    read -r w m < <(measure "$@")
    printf '| %-46s | %8.3f s | %7.1f MiB |\n' "$label" "$w" "$(echo "$m / 1024" | bc -l)"
    echo "$w $m" >"$WORK/last"
}

ratio() { echo "scale=2; $1 / $2" | bc -l; }

size() { du -m "$1" | cut -f1; }
for BULK_MB in $SIZES; do
    echo "generating ${BULK_MB} MiB APKs in $WORK ..." >&2
    python3 samples/android/make_apk.py "$WORK/in24.apk" --min-sdk 24 --target-sdk 34 --bulk-mb "$BULK_MB" --no-align
    python3 samples/android/make_apk.py "$WORK/in21.apk" --min-sdk 21 --target-sdk 34 --bulk-mb "$BULK_MB" --no-align
    echo
    echo "APK: $(size "$WORK/in24.apk") MB, $(unzip -l "$WORK/in24.apk" | tail -1 | awk '{print $2}') entries, unaligned; machine: $(nproc) cores"
    echo
    echo "| command | wall (median of $RUNS) | peak RSS |"
    echo "|---|---|---|"
    declare -A W M
    row "sha256sum (the one-core floor)" sha256sum "$WORK/in24.apk"
    read -r W[sha] M[sha] <"$WORK/last"
    for sdk in 24 21; do
        schemes=$([ "$sdk" = 24 ] && echo "v2+v3" || echo "v1+v2+v3")
        row "wrapsign sign, $schemes (minSdk $sdk)" "$WRAPSIGN" sign --at 2025-06-01 "${KEY[@]}" \
            --no-progress --quiet --out "$WORK/ws$sdk.apk" "$WORK/in$sdk.apk"
        read -r W[ws$sdk] M[ws$sdk] <"$WORK/last"
        row "zipalign -p 4 + apksigner sign, $schemes" bash -c "zipalign_apksigner $WORK/in$sdk.apk $WORK/as$sdk.apk"
        read -r W[as$sdk] M[as$sdk] <"$WORK/last"
        row "wrapsign verify, $schemes" "$WRAPSIGN" verify --at 2025-06-01 "$WORK/ws$sdk.apk"
        read -r W[wv$sdk] M[wv$sdk] <"$WORK/last"
        row "apksigner verify, $schemes" apksigner verify "$WORK/ws$sdk.apk"
        read -r W[av$sdk] M[av$sdk] <"$WORK/last"
    done
    echo
    for sdk in 24 21; do
        echo "minSdk $sdk: sign speed-up $(ratio "${W[as$sdk]}" "${W[ws$sdk]}")x (target >= 3)," \
            "verify speed-up $(ratio "${W[av$sdk]}" "${W[wv$sdk]}")x," \
            "wrapsign sign / sha256sum $(ratio "${W[ws$sdk]}" "${W[sha]}"),"\
            "wrapsign sign peak $(echo "${M[ws$sdk]} / 1024" | bc) MiB (target < 64)"
    done
    # The outputs are real: both verifiers accept wrapsign's APKs.
    for sdk in 24 21; do
        apksigner verify "$WORK/ws$sdk.apk" && zipalign -c -p 4 "$WORK/ws$sdk.apk" ||
            { echo "FAIL: ws$sdk.apk does not verify" >&2; exit 1; }
    done
    echo "outputs verified by apksigner and zipalign -c -p 4"
done
