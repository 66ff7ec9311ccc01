#!/usr/bin/env bash
# Runs every fuzz target (or the ones named) one after another for SECS
# seconds each, on the stable toolchain (RUSTC_BOOTSTRAP=1 lets cargo-fuzz pass
# its -Z flags), then prints one summary line per target.
#
#   fuzz/run.sh                 # 600 s per target, AddressSanitizer
#   fuzz/run.sh -t 30 -s none   # what CI does: 30 s each, no sanitizer
#   fuzz/run.sh -t 60 apk ipa   # some targets
#
# Crashes, hangs (-timeout) and oversized allocations (-malloc_limit_mb) are
# written to fuzz/artifacts/<target>/; replay one with
#   RUSTC_BOOTSTRAP=1 cargo fuzz run -O <target> fuzz/artifacts/<target>/<file>
# and keep it as a regression test in tests/data/fuzz/<target>/.
set -euo pipefail
cd "$(dirname "$0")"

secs=600
sanitizer=address
while getopts "t:s:" o; do
    case $o in
        t) secs=$OPTARG ;;
        s) sanitizer=$OPTARG ;;
        *) echo "usage: $0 [-t SECS] [-s address|none] [TARGET...]" >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))

export RUSTC_BOOTSTRAP=1
command -v cargo-fuzz >/dev/null || { echo "cargo-fuzz missing: cargo install cargo-fuzz --locked" >&2; exit 2; }
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cargo fuzz list)
[ -d corpus ] || ./build-corpus.sh >/dev/null

cargo fuzz build -O -s "$sanitizer" >/dev/null
# Run the binaries just built (cargo fuzz run would rebuild between targets,
# picking up whatever the source tree holds by then).
bin=target/x86_64-unknown-linux-gnu/release
mkdir -p logs
status=0
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t" "artifacts/$t"
    # 10 s per input is a hang; one allocation over 256 MiB is unbounded (the
    # readers cap theirs at 64 MiB); 2 GiB of RSS covers the sanitizer's own.
    if "$bin/$t" "corpus/$t" -artifact_prefix="artifacts/$t/" \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=256 \
        -print_final_stats=1 >"logs/$t.log" 2>&1; then
        verdict=ok
    else
        verdict=FAILED
        status=1
    fi
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "logs/$t.log" | grep -o '[0-9]*$' || echo "?")
    secs_done=$(grep -o 'Done [0-9]* runs in [0-9]* second' "logs/$t.log" | grep -o 'in [0-9]*' | grep -o '[0-9]*' || echo "?")
    cov=$(grep -o 'cov: [0-9]*' "logs/$t.log" | tail -1 | grep -o '[0-9]*' || echo "?")
    printf '%-18s %-6s %8s s %12s execs  cov %s\n' "$t" "$verdict" "${secs_done:-?}" "$runs" "$cov"
    if [ $verdict = FAILED ]; then
        grep -E 'panicked|ERROR|SUMMARY|Test unit written|artifact' "logs/$t.log" | head -5 | sed 's/^/    /'
    fi
done
exit $status
