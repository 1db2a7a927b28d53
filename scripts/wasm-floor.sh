#!/usr/bin/env bash
# Builds benches/floor (the Leptos pieces Send a payment's first load needs, without any of
# Payfriend's code) as `make release` builds the app's client: size-optimised Wasm,
# wasm-opt, minified JS, brotli. `make bench` prints its first load beside the app's, as the
# floor the app's is measured against. It is built twice: as one hydrated app, the way
# Payfriend is built (target/floor/site/pkg/floor.{wasm,js}.br), and as islands, where only
# the form is hydrated (copied to target/floor/islands/floor.{wasm,js}.br).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/end2end/node_modules/.bin:$HOME/.cargo/bin:$PATH"
floor="$PWD/target/floor"
cd benches/floor
# The Makefile exports the app's output name to every command; the floor has its own.
export LEPTOS_OUTPUT_NAME=floor
# The site goes to $floor/site (benches/floor/Cargo.toml); each build replaces it.
build() { CARGO_TARGET_DIR="$floor" cargo leptos build --release --precompress --frontend-only "$@"; }
build --features islands
rm -rf "$floor/islands"
mkdir -p "$floor/islands"
cp "$floor"/site/pkg/floor.wasm.br "$floor"/site/pkg/floor.js.br "$floor/islands/"
build
