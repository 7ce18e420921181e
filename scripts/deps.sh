#!/usr/bin/env bash
# scripts/deps.sh — check for the Debian packages sluice builds and tests with, and as
# root install the missing ones with apt-get. Quick when everything is present (one
# dpkg-query call). Without root it prints the exact apt-get line and fails.
set -euo pipefail

BUILD_PKGS="build-essential libevent-dev libssl-dev libzstd-dev libprotobuf-c-dev
protobuf-c-compiler check libjemalloc-dev zlib1g-dev liblz4-dev libsnappy-dev pkg-config
clang librdkafka-dev libjansson-dev python3"
TEST_PKGS="kcat python3-confluent-kafka python3-kafka python3-pytest libclang-rt-14-dev
iproute2 iptables procps systemd docker-compose shellcheck burrow"

want="$BUILD_PKGS $TEST_PKGS"
installed=$(dpkg-query -W -f='${Package} ${db:Status-Status}\n' $want 2>/dev/null |
    awk '$2 == "installed" { print $1 }' | sort -u)
missing=""
for p in $want; do
    if ! grep -qx "$p" <<<"$installed"; then missing="$missing $p"; fi
done
# kafkajs tests run on node; any node/npm on PATH will do (Debian's when there is none)
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    missing="$missing nodejs npm"
fi
missing=${missing# }
[ -z "$missing" ] && exit 0

line="apt-get install -y --no-install-recommends $missing"
if [ "$(id -u)" != 0 ]; then
    echo "sluice needs these Debian packages; run as root:" >&2
    echo "  apt-get update && $line" >&2
    exit 1
fi
echo "deps: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >&2
apt-get install -y -q --no-install-recommends $missing >&2
