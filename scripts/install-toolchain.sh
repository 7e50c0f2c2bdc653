#!/usr/bin/env bash
# Install the Arm bare-metal toolchain and QEMU used to cross-compile and run Tinyforge
# deployments on emulated Cortex-M cores (workers/deploy/mcu), and the aarch64 Linux cross
# compiler and QEMU user-mode emulation that build and check the linux-aarch64 runner (model.eim).
#
# Idempotent: installs only the Debian packages that are missing, prints what it did.
# Needs root (or sudo) only when something has to be installed.
set -euo pipefail

PACKAGES=(gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm
          gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user)

is_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

missing=()
for pkg in "${PACKAGES[@]}"; do
    if is_installed "$pkg"; then
        echo "already installed: $pkg ($(dpkg-query -W -f='${Version}' "$pkg"))"
    else
        missing+=("$pkg")
    fi
done

if [ "${#missing[@]}" -eq 0 ]; then
    echo "nothing to do: the Cortex-M toolchain and QEMU are present"
else
    if [ "$(id -u)" -ne 0 ]; then
        echo "error: missing packages: ${missing[*]}" >&2
        echo "       this script installs them with apt-get and must run as root, e.g.:" >&2
        echo "       sudo $0" >&2
        exit 1
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "error: apt-get not found; install ${missing[*]} (or your distribution's equivalents) by hand" >&2
        exit 1
    fi
    echo "installing: ${missing[*]} (about 2.6 GB, a minute or two)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y --no-install-recommends "${missing[@]}"
    echo "installed: ${missing[*]}"
fi

# Show what the build layer will use.
for tool in arm-none-eabi-gcc arm-none-eabi-size qemu-system-arm aarch64-linux-gnu-gcc qemu-aarch64; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "error: $tool not on PATH after installation" >&2
        exit 1
    fi
done
echo "arm-none-eabi-gcc: $(arm-none-eabi-gcc -dumpversion)"
echo "qemu-system-arm:   $(qemu-system-arm --version | head -n 1)"
echo "aarch64-linux-gnu-gcc: $(aarch64-linux-gnu-gcc -dumpversion)"
echo "qemu-aarch64:      $(qemu-aarch64 --version | head -n 1)"
