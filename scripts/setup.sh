#!/usr/bin/env bash
# Installs everything Payfriend needs to build, run and test, and nothing twice:
# a second run with everything in place takes seconds.
#
# Needs: the Rust toolchain (rustup, cargo), Node.js with npm, and Debian's apt for the
# browser. No tool downloads anything at run time.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_LEPTOS_VERSION=0.3.10

step() { printf '\033[1m==> %s\033[0m\n' "$*"; }
fail() { printf '\033[31msetup failed: %s\033[0m\n' "$*" >&2; exit 1; }

command -v cargo >/dev/null || fail "cargo is missing: install Rust with rustup first (https://rustup.rs)"
command -v rustup >/dev/null || fail "rustup is missing: install Rust with rustup first"
command -v npm >/dev/null || fail "npm is missing: install Node.js 20 or newer"
export PATH="$HOME/.cargo/bin:$PATH"

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    fail "need root to run: $*"; fi
}

apt_install() {
  step "installing Debian packages: $*"
  as_root apt-get update -qq || fail "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null \
    || fail "apt-get install $* failed"
}

# 1. The Wasm target.
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  step "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown || fail "rustup target add wasm32-unknown-unknown"
fi

# 2. cargo-leptos, built so that it never downloads tools itself.
if [ "$(cargo leptos --version 2>/dev/null)" != "cargo-leptos $CARGO_LEPTOS_VERSION" ]; then
  step "installing cargo-leptos $CARGO_LEPTOS_VERSION (first time: about 12 minutes)"
  cargo install cargo-leptos --locked --version "$CARGO_LEPTOS_VERSION" --features no_downloads \
    || fail "cargo install cargo-leptos"
fi

# 3. wasm-bindgen-cli at exactly the version of wasm-bindgen in Cargo.lock.
wb_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
[ -n "$wb_version" ] || fail "cannot find wasm-bindgen's version in Cargo.lock"
if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $wb_version" ]; then
  step "installing wasm-bindgen-cli $wb_version (first time: about 9 minutes)"
  # Not --locked: its lock file pins a webpki-roots release the registry no longer serves.
  cargo install wasm-bindgen-cli --version "$wb_version" --force || fail "cargo install wasm-bindgen-cli"
fi

# 4. Debian's chromium for the browser tests (never a downloaded browser).
if [ ! -x /usr/bin/chromium ]; then
  apt_install chromium
fi

# 5. PostgreSQL, for the browser tests that run on it as well as on SQLite.
if ! command -v pg_ctlcluster >/dev/null || [ -z "$(ls /usr/lib/postgresql 2>/dev/null)" ]; then
  apt_install postgresql
fi

# 6. Playwright and wasm-opt (npm's binaryen; Debian's is too old to produce working Wasm).
lock=end2end/package-lock.json
stamp=end2end/node_modules/.payfriend-installed
if [ ! -f "$stamp" ] || [ "$lock" -nt "$stamp" ]; then
  step "installing the end-to-end test tools (npm ci)"
  (cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund) || fail "npm ci in end2end"
  touch "$stamp"
fi

step "setup complete"
