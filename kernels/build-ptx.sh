#!/usr/bin/env bash
# Compiles every kernels/*.cu to PTX (compute_80: one PTX that the driver JITs for Ampere and Hopper) into OUTDIR.
# Without nvcc it copies the committed kernels/ptx/*.ptx instead, so machines without the CUDA toolkit still build.
# With --update it also refreshes the committed copies in kernels/ptx (run after editing a .cu file).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:?usage: build-ptx.sh OUTDIR [--update]}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"   # nvcc runs from kernels/: a relative OUTDIR would point elsewhere
nvcc_bin="${NVCC:-$(command -v nvcc || true)}"
[ -z "$nvcc_bin" ] && [ -x /usr/local/cuda/bin/nvcc ] && nvcc_bin=/usr/local/cuda/bin/nvcc
if [ -z "$nvcc_bin" ]; then
  echo "build-ptx: nvcc not found, packing the committed PTX from kernels/ptx"
  cp "$here"/ptx/*.ptx "$out"/
  exit 0
fi
for cu in "$here"/*.cu; do
  name="$(basename "$cu" .cu)"
  # Compile from inside kernels/ with a relative name so no absolute path ends up in the PTX.
  rm -f "$out/$name.ptx"
  (cd "$here" && "$nvcc_bin" -ptx -arch=compute_80 -O3 -std=c++17 -o "$out/$name.ptx" "$name.cu")
  [ -s "$out/$name.ptx" ] || { echo "build-ptx: nvcc wrote no $name.ptx" >&2; exit 1; }
done
if [ "${2:-}" = "--update" ]; then
  cp "$out"/*.ptx "$here/ptx/"
fi
echo "build-ptx: compiled $(ls "$here"/*.cu | wc -l) kernel file(s) with $nvcc_bin"
