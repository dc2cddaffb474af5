#!/usr/bin/env bash
# Installs every Debian package the project needs (idempotent; run as root on
# Debian 12). LLVM/MLIR 22 come from bookworm-security's llvm-toolchain-22.
set -euo pipefail
PKGS=(cmake ninja-build g++ python3 python3-numpy python3-pip libgtest-dev
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

# Test tooling from PyPI (never the compiler): nvdisasm, for ctest's SASS
# schedule check of the NVIDIA kernels (test/e2e/sass_schedule.py), into
# .tools/ (git-ignored). Without PyPI that check reports itself skipped.
ROOT=$(cd "$(dirname "$0")/.." && pwd)
if [ ! -x "$ROOT/.tools/nvdisasm" ]; then
  tmp=$(mktemp -d)
  # A wheel that cannot be had or unpacked only skips that check.
  if /usr/bin/python3 -m pip download -q --timeout 20 --no-deps -d "$tmp" \
       nvidia-cuda-nvdisasm 2>/dev/null &&
     /usr/bin/python3 - "$tmp" "$ROOT/.tools" <<'PY'
import glob, os, sys, zipfile
tmp, tools = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(glob.glob(os.path.join(tmp, "*.whl"))[0]) as z:
    name = next(n for n in z.namelist() if n.endswith("/bin/nvdisasm"))
    os.makedirs(tools, exist_ok=True)
    out = os.path.join(tools, "nvdisasm")
    with z.open(name) as src, open(out + ".part", "wb") as dst:
        dst.write(src.read())
os.chmod(out + ".part", 0o755)
os.replace(out + ".part", out)
PY
  then
    echo "install-deps: nvdisasm in $ROOT/.tools"
  else
    echo "install-deps: no nvdisasm from PyPI; the SASS schedule check will skip"
  fi
  rm -rf "$tmp"
fi
