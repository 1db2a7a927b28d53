# The two commands: `make run` and `make test`. Both install what is missing first.
.PHONY: setup run test release

setup:
	@bash scripts/setup.sh

run: setup
	cargo leptos serve

test: setup
	@bash scripts/test.sh

# An optimised build: size-optimised Wasm (wasm-opt from end2end's npm packages).
release: setup
	PATH="$(CURDIR)/end2end/node_modules/.bin:$$PATH" cargo leptos build --release
