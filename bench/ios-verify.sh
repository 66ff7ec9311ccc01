#!/usr/bin/env bash
# Times `wrapsign verify` on identity + two profiles + the sample IPA (release build).
# Needs hyperfine (Debian package `hyperfine`).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
W=target/release/wrapsign
COMMON="--trust-root signing/ca/test-root-ca.pem --at 2026-11-28"
hyperfine -N --warmup 3 --runs "${RUNS:-30}" \
  "$W verify --cert signing/ios/dist.p12 --cert-pass file:signing/ios/p12.pass $COMMON --profile profiles/enterprise-app.mobileprovision --profile profiles/enterprise-share.mobileprovision --app samples/WrapDemo.ipa" \
  "$W verify --cert signing/ios/dist-legacy.p12 --cert-pass file:signing/ios/p12.pass $COMMON --profile profiles/enterprise-app.mobileprovision --app samples/WrapDemo.ipa"
