#!/usr/bin/env bash
# Every speed comparison of issue 7, in one run, release build:
#   - APK verify: wrapsign vs apksigner vs sha256sum, APKs of 5 and 200 MiB and a tiny one
#   - APK sign:   wrapsign vs zipalign -p 4 + apksigner sign (bench/apk-sign.sh, when present)
#   - IPA sign:   wrapsign vs unzip + rcodesign sign + zip vs sha256sum, 10 and 50 Mach-Os
#   - IPA verify: wrapsign's full code-signature check vs unzip -t, an IPA of ~200 MB (issue 13)
#
#   bench/run-all.sh           # the README's numbers (takes a few minutes)
#   bench/run-all.sh --quick   # small inputs, 2 runs: checks the benchmarks still run (CI)
#
# Needs: hyperfine, /usr/bin/time, python3, apksigner, zipalign, rcodesign
# (~/.cargo/bin), unzip, zip, openssl. A missing tool skips its part loudly.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:$HOME/.cargo/bin"

quick=
if [ "${1:-}" = "--quick" ]; then
    quick=1
    export RUNS=${RUNS:-2}
    export SIZES=${SIZES:-"5"}
    export MACHOS=${MACHOS:-"10"}
    export RES_MB=${RES_MB:-2}
    export MACHO_MB=${MACHO_MB:-8}
    export QUICK=1
fi

status=0
part() {
    echo
    echo "## $1"
    shift
    "$@" || { echo "FAILED: $*" >&2; status=1; }
}

part "APK verify" bench/apk-verify.sh
if [ -x bench/apk-sign.sh ]; then
    if [ -n "$quick" ] && grep -q -- '--quick' bench/apk-sign.sh; then
        part "APK sign" bench/apk-sign.sh --quick
    else
        part "APK sign" bench/apk-sign.sh
    fi
else
    echo
    echo "## APK sign"
    echo "SKIP: bench/apk-sign.sh is not in this tree (APK signing comes with it)"
fi
part "IPA sign" bench/ipa-sign.sh
part "IPA verify" bench/ipa-verify.sh
exit $status
