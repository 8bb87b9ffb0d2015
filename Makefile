# Hỏi Luật — the two commands of the README, and their parts.
#   make run    provision models, build, serve the API on 127.0.0.1:8080 (ingests the corpus first time)
#   make test   provision models, run every test
.PHONY: run test models build check fmt clippy

CARGO ?= cargo

models:
	scripts/provision.sh

build: models
	$(CARGO) build --release --locked

run: build
	./target/release/hoiluat serve

test: models
	scripts/test-deps.sh
	$(CARGO) test --locked

check:
	$(CARGO) run --quiet -- corpus check

fmt:
	$(CARGO) fmt --all

clippy:
	$(CARGO) clippy --all-targets --locked -- -D warnings
