#!/usr/bin/env bash
# Installs what lifelong needs on Debian 12 (idempotent: installs only what is
# missing).  Usage: scripts/install-deps.sh [--bench] [--fuzz] [--valgrind]
#   --bench     PyTorch, the optional reference of the performance benchmarks
#   --fuzz      clang and its libFuzzer runtime, for fuzz/ (docs/reliability.md)
#   --valgrind  valgrind, for tests/valgrind.sh (docs/reliability.md)
set -euo pipefail
pkgs=(meson ninja-build pkg-config gcc libc6-dev python3
      libglib2.0-dev libjson-glib-dev libblis-dev zlib1g-dev dataset-fashion-mnist
      libopenmpi-dev openmpi-bin
      libcairo2-dev fonts-dejavu-core chromium    # report charts; the report's browser test
      liblapacke-dev)                             # the inflora strategy's SVD
for opt in "$@"; do
  case $opt in
    --bench) pkgs+=(python3-torch python3-numpy time) ;;
    --fuzz) pkgs+=(clang libclang-rt-14-dev) ;;
    --valgrind) pkgs+=(valgrind) ;;
    *) echo "install-deps: unknown option $opt (--bench, --fuzz, --valgrind)" >&2; exit 2 ;;
  esac
done
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
