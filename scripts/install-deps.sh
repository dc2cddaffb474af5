#!/usr/bin/env bash
# Installs every Debian package the project needs (idempotent; run as root on
# Debian 12). LLVM/MLIR 22 come from bookworm-security's llvm-toolchain-22.
set -euo pipefail
PKGS=(cmake ninja-build g++ python3 python3-numpy libgtest-dev
      llvm-22-dev libmlir-22-dev mlir-22-tools llvm-22-tools clang-22 lld-22)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi
echo "install-deps: all packages present"
