#!/usr/bin/env bash
# The whole test suite, as `make test` runs it: formatting, lints for both builds, Rust
# unit and integration tests, then the browser tests against the built app.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/end2end/node_modules/.bin:$HOME/.cargo/bin:$PATH"
# cargo-leptos compiles with this set, and Leptos reads it at compile time: every cargo
# command here sets it too, so that they share one build and `cargo test` (which also
# links the server binary) does not leave a binary that looks for the wrong Wasm file.
export LEPTOS_OUTPUT_NAME=payfriend
# In CI (a fresh clone, built once) incremental compilation only writes caches nobody reads
# again: several GB of them, on a disk CI shares. Local runs keep them (quick rebuilds).
if [ "${CI:-}" = true ]; then
  export CARGO_INCREMENTAL=0
fi

step() { printf '\033[1m==> %s\033[0m\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "clippy (server build, with the tests and the bench: --features ssr,testing)"
cargo clippy --no-default-features --features ssr,testing --all-targets -- -D warnings

step "clippy (server build as it ships: without the testing feature)"
cargo clippy --no-default-features --features ssr --lib --bins -- -D warnings

step "clippy (Wasm client build)"
cargo clippy --no-default-features --features hydrate --lib --target wasm32-unknown-unknown -- -D warnings

step "Rust unit and integration tests (SQLite)"
# The multi-instance and PostgreSQL tests need PostgreSQL: they run in the next step.
cargo test --no-default-features --features ssr,testing -- --skip multi_instance:: --skip postgres:: --skip process::

step "Rust integration tests again with Twilio Verify as the provider (PAYFRIEND_TEST_PROVIDER=verify)"
# Accounts, payments, SMS codes, push approval, passkeys, limits and pages, every test app
# registering its accounts with Verify against the sandbox's Verify wire. Not here: the
# Authy wire's own modules (callback::, authy_sandbox::), verify_provider:: and
# verify_wire:: (Verify's already, run above), and what the steps that follow run.
PAYFRIEND_TEST_PROVIDER=verify cargo test --no-default-features --features ssr,testing --test app -- \
  --skip multi_instance:: --skip postgres:: --skip process:: \
  --skip callback:: --skip authy_sandbox:: --skip verify_provider:: --skip verify_wire::

step "Rust tests of the server binary (SIGTERM, SIGKILL, a sign-in flood), one at a time"
# Alone: the sign-in flood saturates both cores for seconds, and the others measure time.
cargo test --no-default-features --features ssr,testing --test app -- process:: --test-threads=1

step "Rust integration tests on PostgreSQL (a fresh database per test app), with two instances on one database"
bash scripts/postgres.sh
# The process tests start the server binary on its own SQLite file: they run once, above.
PAYFRIEND_TEST_POSTGRES="postgres://payfriend:payfriend@127.0.0.1/postgres" \
  cargo test --no-default-features --features ssr,testing --test app -- --skip process::

step "building the app (server + Wasm client)"
cargo leptos build --split

step "browser tests (Playwright, Debian chromium)"
(cd end2end && npx playwright test)

step "browser tests on PostgreSQL (the same app, DATABASE_URL=postgres://...)"
bash scripts/postgres.sh
(cd end2end && E2E_DATABASE_URL="postgres://payfriend:payfriend@127.0.0.1/payfriend_e2e" \
  npx playwright test accounts payments approval passkeys accessibility spa)

step "the release build in a browser (make release: wasm-opt, v0 names, precompressed, hashed), the new-user journey"
# Last: the release site replaces the debug one in target/site (a debug server must not
# serve it; `make run` and the next `make test` build their own).
make --no-print-directory release
(cd end2end && npx playwright test --config release.config.ts)
