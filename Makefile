# The two commands of plast (see README.md): `make demo` and `make test`.
BUILD ?= build
JOBS  ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: demo test deps data build clean

demo: build data
	./scripts/demo $(BUILD)/plast

test: build data
	ctest --test-dir $(BUILD) --output-on-failure

deps:
	./scripts/install-deps

data: deps
	./scripts/get-data

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j $(JOBS)

clean:
	rm -rf $(BUILD)
