#!/bin/sh
# Installs the ollama binary the end-to-end tests run (internal/ollamatest)
# into $(go env GOPATH)/bin, unless it is already there or on PATH.
# v0.6.5 builds from the module proxy with no C headers to install (newer
# versions do not: their module zip lacks llama.cpp's vendored headers);
# the -X flag makes /api/version report 0.6.5 instead of 0.0.0.
# A cold build takes 2-6 minutes.
set -eu
bin="$(go env GOPATH)/bin/ollama"
if command -v ollama >/dev/null 2>&1; then
	echo "ollama already on PATH: $(command -v ollama)"
	exit 0
fi
if [ -x "$bin" ]; then
	echo "ollama already installed: $bin"
	exit 0
fi
echo "building ollama v0.6.5 into $bin"
go install -ldflags "-X github.com/ollama/ollama/version.Version=0.6.5" github.com/ollama/ollama@v0.6.5
"$bin" --version 2>&1 | tail -1
