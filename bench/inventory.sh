#!/usr/bin/env bash
# Times `wrapsign verify --config` and `wrapsign inventory` on a generated inventory of
# N items (default 1000; release build). The target is < 2 s on a 2-core machine.
# Needs openssl (generation) and hyperfine (Debian package `hyperfine`; falls back to `time`).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-1000}
dir=target/bench-inventory-$N
[ -f "$dir/wrapsign.toml" ] || bash bench/gen-inventory.sh "$dir" "$N"
cargo build --release --quiet
W=target/release/wrapsign
# The generated certificates start today: check them as of tomorrow.
AT=$(date -u -d '+1 day' +%F)
if command -v hyperfine >/dev/null; then
  # -i: the verdict does not matter here, only the time.
  hyperfine -N -i --warmup 2 --runs "${RUNS:-10}" \
    "$W verify --config $dir/wrapsign.toml --at $AT --quiet" \
    "$W inventory --config $dir/wrapsign.toml --at $AT --format csv"
else
  time "$W" verify --config "$dir/wrapsign.toml" --at "$AT" --quiet >/dev/null || true
fi
