# Shared by the bench/ scripts (sourced): wall time from hyperfine (median of
# $RUNS runs after one warm-up, no shell in between), peak memory from
# /usr/bin/time -v, one Markdown table row per command.
#
# Needs: hyperfine, /usr/bin/time (Debian packages `hyperfine`, `time`), python3.

RUNS=${RUNS:-5}

bench_need() {
    local t
    for t in "$@" hyperfine python3; do
        command -v "$t" >/dev/null || { echo "SKIP: $t not installed" >&2; exit 0; }
    done
    [ -x /usr/bin/time ] || { echo "SKIP: /usr/bin/time not installed" >&2; exit 0; }
}

# bench_measure CMD... -> "median_seconds peak_KiB exit_code"
bench_measure() {
    local json tfile code=0
    json=$(mktemp) tfile=$(mktemp)
    /usr/bin/time -v -o "$tfile" "$@" >/dev/null 2>&1 || code=$?
    # /usr/bin/time reports the command's own exit status in its output.
    code=$(sed -n 's/.*Exit status: \([0-9]*\).*/\1/p' "$tfile")
    local rss
    rss=$(sed -n 's/.*Maximum resident set size (kbytes): \([0-9]*\).*/\1/p' "$tfile")
    hyperfine -N -i --style none --warmup 1 --runs "$RUNS" --export-json "$json" -- "$(printf '%q ' "$@")" >/dev/null 2>&1
    local med
    med=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["results"][0]["median"])' "$json")
    rm -f "$json" "$tfile"
    echo "$med ${rss:-0} ${code:-0}"
}

# bench_row LABEL BASE_SECONDS CMD... : prints a row; BASE_SECONDS (or -) is
# the reference the ratio column divides by. Leaves the median in $BENCH_LAST
# and the exit code in $BENCH_CODE.
bench_row() {
    local label=$1 base=$2
    shift 2
    local m r c
    read -r m r c < <(bench_measure "$@")
    BENCH_LAST=$m
    BENCH_CODE=$c
    local ratio="-"
    [ "$base" = "-" ] || ratio=$(python3 -c "print(f'{$m / $base:.2f}x')")
    printf '| %-52s | %9.3f s | %8s | %8.1f MiB | %s |\n' "$label" "$m" "$ratio" \
        "$(python3 -c "print($r / 1024)")" "$c"
}

bench_header() {
    echo "| $1 | wall (median of $RUNS) | ratio to $2 | peak RSS | exit |"
    echo "|---|---|---|---|---|"
}
