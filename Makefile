# The two commands: `make run` and `make test`. Both install what is missing first.
.PHONY: setup run test release bench screenshots

# Leptos reads this at compile time; cargo-leptos sets it, and so does every cargo command
# here so that they all share one build.
export LEPTOS_OUTPUT_NAME := payfriend

setup:
	@bash scripts/setup.sh

run: setup
	cargo leptos serve --split

test: setup
	@bash scripts/test.sh

# An optimised build: size-optimised Wasm (wasm-opt from end2end's npm packages), static
# files precompressed (.br and .gz beside them, served as the browser accepts). The Wasm is
# compiled with v0 symbol names: with them wasm-split leaves the strings that only lazily
# loaded pages use in those pages' chunks (with the legacy names 36 KB of them stayed in
# the main module; README, Benchmarks).
release: setup
	CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-C symbol-mangling-version=v0" \
	  PATH="$(CURDIR)/end2end/node_modules/.bin:$$PATH" cargo leptos build --release --precompress --split

# Throughput and latency of the status poll and the callback on SQLite and on the local
# PostgreSQL (started by scripts/postgres.sh), then refusals and floods, and the first load
# beside the floor of Leptos alone (benches/floor, built by scripts/wasm-floor.sh), and in
# the browser the time from a click to the new page's heading (end2end/bench/).
# It builds the release site first (`make release`): run `cargo leptos build` before debug
# runs and tests again.
bench: release
	bash scripts/wasm-floor.sh
	bash scripts/postgres.sh
	PAYFRIEND_TEST_POSTGRES=postgres://payfriend:payfriend@127.0.0.1/postgres \
	  cargo bench --no-default-features --features ssr,testing --bench hot_paths
	cd end2end && PATH="$(CURDIR)/end2end/node_modules/.bin:$$PATH" npx playwright test --config bench.config.ts

# PNGs of the main screens (desktop and a 390 px phone) in docs/screenshots/, taken by
# Playwright in Debian chromium from the debug build (end2end/screenshots/).
screenshots: setup
	cargo leptos build --split
	mkdir -p docs/screenshots
	cd end2end && PATH="$(CURDIR)/end2end/node_modules/.bin:$$PATH" npx playwright test --config screenshots.config.ts
