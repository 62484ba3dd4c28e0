# shellcheck shell=bash
# Installs the system packages imgbucket needs to build, test and run, and
# nothing when they are already there. Sourced by ./test.sh and ./run.sh.
#
# Why each package:
#   cmake, nasm         turbojpeg builds libjpeg-turbo (with SIMD) from source
#   pkg-config,         HEIC/HEIF and AVIF sources and HEIC output (imaging/src/heif.rs)
#     libheif-dev       link the system's libheif (1.15 on Debian 12), which
#                       brings libde265, dav1d, libaom and x265
#   ffmpeg              video frame snapshots (imaging/src/video.rs runs the
#                       `ffmpeg` program as a child process)
#   fonts-*             CJK/Latin fonts for text watermarks
#   python3-venv        only when the Python in use cannot create a venv
#   nginx               s3-compat-tests/test_gateway_nginx.py runs docs/deploy.md's
#                       load balancer config in front of two gateway nodes
#                       (the test starts its own nginx; on a host with systemd
#                       the package also enables its default site on port 80)
#   g++                 tests only: cargo-fuzz builds libFuzzer (C++) for the
#                       fuzz stage (scripts/fuzz.sh)
#   chromium            tests only (IMGBUCKET_TEST_APT_PACKAGES): a real browser
#                       posts a form upload (s3-compat-tests/test_browser.py)
#   chromium-driver     tests only: selenium drives chromium through the web
#                       console (s3-compat-tests/test_console.py)
#   rclone              tests only: docs/operations.md's online backup runs it
#   systemd, openssl    tests only: deploy/imgbucket.service is checked with
#                       systemd-analyze verify; the TLS proxy test makes a cert

# The pinned Python venv of s3-compat-tests/ and the benchmarks. It lives in
# the build directory, beside the other generated files, and not in the
# source tree where tools that scan tests would read pip's own files.
# Prints its path; the repository root is $1.
test_venv_dir() {
    printf '%s\n' "${IMGBUCKET_TEST_VENV:-${CARGO_TARGET_DIR:-$1/target}/s3-compat-venv}"
}

IMGBUCKET_APT_PACKAGES=(cmake nasm pkg-config libheif-dev ffmpeg fonts-wqy-zenhei fonts-wqy-microhei fonts-droid-fallback fonts-dejavu-core
    nginx)
# What only the tests need, beyond the above.
IMGBUCKET_TEST_APT_PACKAGES=(chromium chromium-driver g++ rclone systemd openssl)

# Runs a command as root (directly, or through sudo when available).
_as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        echo "error: need root (or sudo) to run: $*" >&2
        return 1
    fi
}

# Prints the packages of "$@" that are not installed.
_missing_apt_packages() {
    local p
    for p in "$@"; do
        if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
            printf '%s\n' "$p"
        fi
    done
}

# Installs the missing ones of "$@"; runs `apt-get update` at most once.
ensure_apt_packages() {
    local missing
    mapfile -t missing < <(_missing_apt_packages "$@")
    [ "${#missing[@]}" -eq 0 ] && return 0
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "error: missing packages ${missing[*]} and no apt-get to install them" >&2
        return 1
    fi
    echo "==> installing system packages: ${missing[*]}"
    if [ -z "${_IMGBUCKET_APT_UPDATED:-}" ]; then
        _as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        _IMGBUCKET_APT_UPDATED=1
    fi
    _as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# The Python interpreter to build the test venv with (3.11 preferred).
imgbucket_python() {
    if command -v python3.11 >/dev/null 2>&1; then
        echo python3.11
    else
        echo python3
    fi
}

# Everything the build and the tests need from the system.
ensure_system_deps() {
    local py
    ensure_apt_packages "${IMGBUCKET_APT_PACKAGES[@]}" "${IMGBUCKET_TEST_APT_PACKAGES[@]}"
    py="$(imgbucket_python)"
    # Debian's own python3 cannot create venvs without python3-venv.
    if ! "$py" -c 'import ensurepip, venv' >/dev/null 2>&1; then
        ensure_apt_packages python3-venv
    fi
    if ! command -v cargo >/dev/null 2>&1; then
        echo "error: cargo not found; install the Rust toolchain (rustup) first" >&2
        return 1
    fi
}

# The Garage version gateway mode is tested against (scripts/garage-cluster.sh).
IMGBUCKET_GARAGE_VERSION=2.5.0

# Prints the path of a garage binary of version $IMGBUCKET_GARAGE_VERSION
# ($GARAGE_BIN, PATH or cargo's bin directory), or nothing.
_find_garage() {
    local g
    for g in "${GARAGE_BIN:-}" "$(command -v garage 2>/dev/null || true)" "${CARGO_HOME:-$HOME/.cargo}/bin/garage"; do
        [ -n "$g" ] && [ -x "$g" ] || continue
        # `garage --version` prints e.g. "garage cargo:2.5.0 [features: ...]".
        if "$g" --version 2>/dev/null | grep -qE "[: v]${IMGBUCKET_GARAGE_VERSION//./\\.}( |$)"; then
            printf '%s\n' "$g"
            return 0
        fi
    done
    return 1
}

# Garage, the S3 store behind gateway mode in the tests and benchmarks. It is
# AGPL and only ever run as a separate process, so it is installed as a tool
# (cargo install), never a dependency. Prints the binary's path.
ensure_garage() {
    local g
    if g="$(_find_garage)"; then
        printf '%s\n' "$g"
        return 0
    fi
    if ! command -v cargo >/dev/null 2>&1; then
        echo "error: garage $IMGBUCKET_GARAGE_VERSION not found and no cargo to install it" >&2
        return 1
    fi
    echo "==> installing garage $IMGBUCKET_GARAGE_VERSION with cargo install (a one-time cost per machine:" \
        "about 30 minutes on 2 cores)" >&2
    cargo install --locked "garage@$IMGBUCKET_GARAGE_VERSION" >&2
    if ! g="$(_find_garage)"; then
        echo "error: cargo installed garage but no garage $IMGBUCKET_GARAGE_VERSION is found" \
            "(installed elsewhere than \${CARGO_HOME:-~/.cargo}/bin? set GARAGE_BIN)" >&2
        return 1
    fi
    printf '%s\n' "$g"
}
