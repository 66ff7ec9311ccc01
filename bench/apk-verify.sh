#!/usr/bin/env bash
# Benchmark: `wrapsign verify` on a ~200 MB APK (thousands of entries, native
# libraries) and on a small APK, against `apksigner verify` and `sha256sum`.
# Reports the median wall time and peak RSS (/usr/bin/time) of RUNS runs.
#
#   bench/apk-verify.sh            # needs python3, apksigner, /usr/bin/time
#   BULK_MB=200 RUNS=5 bench/apk-verify.sh
#
# The APKs are generated in a temp folder (never committed): make_apk.py builds
# an unsigned APK with BULK_MB MiB of extra entries, apksigner signs it twice:
# minSdk 24 (v2+v3: the content digest only) and minSdk 21 (v1 too: every
# entry inflated and hashed). Targets (issue 7): large verify <= 0.6x sha256sum,
# small verify < 10 ms, peak RSS < 64 MB.
set -euo pipefail
cd "$(dirname "$0")/.."

BULK_MB=${BULK_MB:-200}
RUNS=${RUNS:-5}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

for tool in python3 apksigner sha256sum; do
    command -v "$tool" >/dev/null || { echo "SKIP: $tool not installed" >&2; exit 0; }
done
[ -x /usr/bin/time ] || { echo "SKIP: /usr/bin/time not installed" >&2; exit 0; }

cargo build --release --quiet
WRAPSIGN=$PWD/target/release/wrapsign
KEY=(--key samples/android/keys/rsa-2048.pk8 --cert samples/android/keys/rsa-2048.x509.pem)

echo "generating a ${BULK_MB} MiB APK in $WORK ..." >&2
python3 samples/android/make_apk.py "$WORK/big24.apk" --min-sdk 24 --target-sdk 34 --bulk-mb "$BULK_MB"
python3 samples/android/make_apk.py "$WORK/big21.apk" --min-sdk 21 --target-sdk 34 --bulk-mb "$BULK_MB"
apksigner sign "${KEY[@]}" --out "$WORK/big-v2v3.apk" "$WORK/big24.apk"
apksigner sign "${KEY[@]}" --out "$WORK/big-v1v2v3.apk" "$WORK/big21.apk"
rm -f "$WORK/big24.apk" "$WORK/big21.apk" "$WORK"/*.idsig
SMALL=${SMALL:-../shared/conformance/apksig/original.apk}
[ -f "$SMALL" ] || SMALL=samples/android/v1v2v3-rsa.apk
cp "$SMALL" "$WORK/small.apk"

# Median wall seconds and median peak RSS (KiB) of RUNS runs of a command.
measure() {
    local walls=() rss=()
    "$@" >/dev/null 2>&1 || true # warm the page cache
    for _ in $(seq "$RUNS"); do
        /usr/bin/time -f "%e %M" -o "$WORK/t" "$@" >/dev/null 2>&1 || true
        read -r w m <"$WORK/t"
        walls+=("$w")
        rss+=("$m")
    done
    local mw mr
    mw=$(printf '%s\n' "${walls[@]}" | sort -n | sed -n "$(((RUNS + 1) / 2))p")
    mr=$(printf '%s\n' "${rss[@]}" | sort -n | sed -n "$(((RUNS + 1) / 2))p")
    echo "$mw $mr"
}

row() {
    local label=$1
    shift
    read -r w m < <(measure "$@")
    printf '| %-44s | %8.3f s | %7.1f MiB |\n' "$label" "$w" "$(echo "$m / 1024" | bc -l)"
    echo "$w" >"$WORK/last"
}

# Mean wall milliseconds of N runs (for commands faster than time(1) resolves).
mean_ms() {
    local n=$1 start end
    shift
    start=$(date +%s%N)
    for _ in $(seq "$n"); do "$@" >/dev/null 2>&1 || true; done
    end=$(date +%s%N)
    echo "scale=2; ($end - $start) / $n / 1000000" | bc
}

size() { du -m "$1" | cut -f1; }
echo
echo "APK: $(size "$WORK/big-v2v3.apk") MB, $(unzip -l "$WORK/big-v2v3.apk" | tail -1 | awk '{print $2}') entries; machine: $(nproc) cores"
echo
echo "| command | wall (median of $RUNS) | peak RSS |"
echo "|---|---|---|"
row "sha256sum (large)" sha256sum "$WORK/big-v2v3.apk"
sha=$(cat "$WORK/last")
row "wrapsign verify, v2+v3 (large, minSdk 24)" "$WRAPSIGN" verify --at 2025-06-01 "$WORK/big-v2v3.apk"
ws=$(cat "$WORK/last")
row "apksigner verify, v2+v3 (large, minSdk 24)" apksigner verify "$WORK/big-v2v3.apk"
row "wrapsign verify, v1+v2+v3 (large, minSdk 21)" "$WRAPSIGN" verify --at 2025-06-01 "$WORK/big-v1v2v3.apk"
row "apksigner verify, v1+v2+v3 (large, minSdk 21)" apksigner verify "$WORK/big-v1v2v3.apk"
row "wrapsign verify (small, $(stat -c %s "$WORK/small.apk") bytes)" "$WRAPSIGN" verify --at 2025-06-01 "$WORK/small.apk"
row "apksigner verify (small)" apksigner verify "$WORK/small.apk"
echo
echo "small APK, mean of 100 runs: wrapsign $(mean_ms 100 "$WRAPSIGN" verify --at 2025-06-01 "$WORK/small.apk") ms," \
    "apksigner $(mean_ms 10 apksigner verify "$WORK/small.apk") ms (mean of 10)"
printf 'wrapsign v2+v3 / sha256sum = %.2f (target <= 0.6)\n' "$(echo "$ws / $sha" | bc -l)"
