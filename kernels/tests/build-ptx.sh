#!/usr/bin/env bash
# Compiles the emulator test kernels kernels/tests/*.cu to PTX into OUTDIR, exactly like kernels/build-ptx.sh does
# for the real kernels (compute_80, -O3); without nvcc it copies the committed kernels/tests/ptx/*.ptx.
# With --update it also refreshes the committed copies (run after editing a test kernel).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:?usage: build-ptx.sh OUTDIR [--update]}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"   # nvcc runs from kernels/tests: a relative OUTDIR would point elsewhere
nvcc_bin="${NVCC:-$(command -v nvcc || true)}"
[ -z "$nvcc_bin" ] && [ -x /usr/local/cuda/bin/nvcc ] && nvcc_bin=/usr/local/cuda/bin/nvcc
if [ -z "$nvcc_bin" ]; then
  echo "build-ptx (tests): nvcc not found, packing the committed PTX from kernels/tests/ptx"
  cp "$here"/ptx/*.ptx "$out"/
  exit 0
fi
for cu in "$here"/*.cu; do
  name="$(basename "$cu" .cu)"
  rm -f "$out/$name.ptx"
  (cd "$here" && "$nvcc_bin" -ptx -arch=compute_80 -O3 -std=c++17 -o "$out/$name.ptx" "$name.cu")
  [ -s "$out/$name.ptx" ] || { echo "build-ptx (tests): nvcc wrote no $name.ptx" >&2; exit 1; }
done
if [ "${2:-}" = "--update" ]; then
  cp "$out"/*.ptx "$here/ptx/"
fi
echo "build-ptx (tests): compiled $(ls "$here"/*.cu | wc -l) test kernel file(s) with $nvcc_bin"
