#!/usr/bin/env bash
# Runs every test of Switchboard: vet, staticcheck, unit and fuzz-seed tests,
# and the end-to-end tests that drive the real binary with SIPp over
# loopback and its pages in headless Chromium, all with the race detector;
# then the store's tests on PostgreSQL. Installs what the tests need first.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v sipp >/dev/null || need+=(sip-tester)
command -v tshark >/dev/null || need+=(tshark)
command -v dumpcap >/dev/null || need+=(tshark)
command -v chromium >/dev/null || need+=(chromium)
command -v openssl >/dev/null || need+=(openssl)
command -v baresip >/dev/null || need+=(baresip)
command -v svwar >/dev/null || need+=(sipvicious)
command -v kamailio >/dev/null || need+=(kamailio)
command -v curl >/dev/null || need+=(curl)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
# the speech worker (cmd/switchboard-speech): PocketSphinx through cgo
command -v gcc >/dev/null || need+=(gcc)
command -v pkg-config >/dev/null || need+=(pkg-config)
[ -f /usr/include/pocketsphinx/pocketsphinx.h ] || need+=(libpocketsphinx-dev)
[ -d /usr/share/pocketsphinx/model/en-us/en-us ] || need+=(pocketsphinx-en-us)
if ((${#need[@]})); then
  echo "installing: ${need[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

export PATH="$(go env GOPATH)/bin:$PATH"
command -v staticcheck >/dev/null || go install honnef.co/go/tools/cmd/staticcheck@v0.8.2

echo "== go vet"
go vet ./...
echo "== staticcheck"
staticcheck ./...
echo "== allocation tests without the race detector (under it sync.Pool drops items at random)"
go test -count=1 -run 'AllocatesNothing' ./internal/media/
# A throwaway PostgreSQL for the store's and the cluster's tests (scripts/pg-temp.sh).
PGTMP=$(mktemp -d)
trap 'scripts/pg-temp.sh stop "$PGTMP/pg"; rm -rf "$PGTMP"' EXIT
PG_TEMP_FAST=1 scripts/pg-temp.sh start "$PGTMP/pg" 55432
export SWITCHBOARD_TEST_POSTGRES="postgres://postgres@127.0.0.1:55432/postgres?sslmode=disable"

echo "== go test -race"
# test/cluster runs alone afterwards: its Kamailio and nodes take fixed
# ports (scripts/cluster-local.sh).
CI=${CI:-} go test -race -count=1 -timeout 28m $(go list ./... | grep -v '/test/cluster$') 2>&1 | tee /tmp/switchboard-test.log | grep -Ev '^\s*$'

echo "== cluster: PostgreSQL, Kamailio and two nodes (test/cluster)"
CI=${CI:-} go test -race -count=1 -timeout 10m ./test/cluster/ 2>&1 | tee -a /tmp/switchboard-test.log | grep -Ev '^\s*$'

echo "== store tests on PostgreSQL"
SWITCHBOARD_TEST_STORE=postgres go test -race -count=1 -timeout 10m ./internal/store/ 2>&1 | tee -a /tmp/switchboard-test.log | grep -Ev '^\s*$'
