#!/usr/bin/env bash
# Keeps what fuzzing found as regression inputs for tests/it/fuzz_regressions.rs:
# every artifact (crash, hang, oversized allocation: fix it first), and N
# inputs the fuzzer itself made (not the seeds from build-corpus.sh)
# that reached new code, up to 16 KiB each.
#   fuzz/keep.sh [-n N] [TARGET...]     # default N=12, every target
set -euo pipefail
cd "$(dirname "$0")"
n=12
while getopts "n:" o; do
    case $o in
        n) n=$OPTARG ;;
        *) echo "usage: $0 [-n N] [TARGET...]" >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(ls fuzz_targets | sed 's/\.rs$//')
seeds=$(mktemp -d)
trap 'rm -rf "$seeds"' EXIT
# The seeds as build-corpus.sh makes them, to tell them from the fuzzer's own inputs.
CORPUS_OUT=$seeds ./build-corpus.sh >/dev/null
for t in "${targets[@]}"; do
    dest=../tests/data/fuzz/$t
    mkdir -p "$dest"
    for a in artifacts/"$t"/*; do
        [ -f "$a" ] && cp "$a" "$dest/"
    done
    [ -d "corpus/$t" ] || continue
    # N spread evenly over the sizes, small to 16 KiB: trivial rejections and deep ones.
    find "corpus/$t" -type f -size -16k -printf '%s %f\n' | sort -n | while read -r _ f; do
        [ -e "$seeds/$t/$f" ] || echo "$f"
    done | awk -v n="$n" '{ f[NR] = $0 } END {
        for (i = 0; i < n && i < NR; i++) print f[1 + int(i * NR / (n < NR ? n : NR))] }' |
        while read -r f; do cp "corpus/$t/$f" "$dest/"; done
    echo "$t: $(ls "$dest" | wc -l) inputs"
done
