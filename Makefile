# Convenience wrapper: `make`, `make test`, `make main`, `make bench`.
.PHONY: all build test main bench clean deps
all: build
deps:
	scripts/deps.sh build data
build:
	scripts/build.sh
test:
	scripts/test.sh
main:
	scripts/main.sh
bench:
	bench/run_train_bench.sh
clean:
	rm -rf build
