#!/usr/bin/env bash
# Starts imgbucket on its defaults (http://127.0.0.1:9000, data in ./data),
# after installing the few system packages the build needs (cmake and nasm
# for libjpeg-turbo, fonts for text watermarks) when they are missing.
# Extra arguments go to `imgbucket serve`, e.g. ./run.sh --addr 0.0.0.0:9000
set -euo pipefail
cd "$(dirname "$0")"
# shellcheck source=.ci/deps.sh
source .ci/deps.sh
ensure_apt_packages "${IMGBUCKET_APT_PACKAGES[@]}"
exec cargo run --release --bin imgbucket -- serve "$@"
