#!/usr/bin/env bash
# Compiles every *.cu of a kernel folder (default: kernels/, or kernels/tests/ with --tests) to PTX (compute_80: one
# PTX that the driver JITs for Ampere and Hopper) into OUTDIR. Without nvcc it copies the folder's committed
# ptx/*.ptx instead, so machines without the CUDA toolkit still build. With --update it also refreshes the committed
# copies (run after editing a .cu file).
#   kernels/build-ptx.sh OUTDIR [--update] [--tests]
set -euo pipefail
src="$(cd "$(dirname "$0")" && pwd)"
out="${1:?usage: build-ptx.sh OUTDIR [--update] [--tests]}"
shift
update=0
for a in "$@"; do
  case "$a" in
    --update) update=1 ;;
    --tests) src="$src/tests" ;;
    *) echo "build-ptx: unknown option $a" >&2; exit 2 ;;
  esac
done
what="$(basename "$src")"
mkdir -p "$out"
out="$(cd "$out" && pwd)"   # nvcc runs from the source folder: a relative OUTDIR would point elsewhere
nvcc_bin="${NVCC:-$(command -v nvcc || true)}"
[ -z "$nvcc_bin" ] && [ -x /usr/local/cuda/bin/nvcc ] && nvcc_bin=/usr/local/cuda/bin/nvcc
if [ -z "$nvcc_bin" ]; then
  echo "build-ptx ($what): nvcc not found, packing the committed PTX"
  cp "$src"/ptx/*.ptx "$out"/
  exit 0
fi
for cu in "$src"/*.cu; do
  name="$(basename "$cu" .cu)"
  rm -f "$out/$name.ptx"
  # compiled from inside the folder with a relative name, so no absolute path ends up in the PTX
  (cd "$src" && "$nvcc_bin" -ptx -arch=compute_80 -O3 -std=c++17 -o "$out/$name.ptx" "$name.cu")
  [ -s "$out/$name.ptx" ] || { echo "build-ptx ($what): nvcc wrote no $name.ptx" >&2; exit 1; }
  # names in anonymous namespaces carry a hash of the checkout path: the committed PTX would differ per clone
  if grep -q "_GLOBAL__N__" "$out/$name.ptx"; then
    echo "build-ptx ($what): $name.cu uses an anonymous namespace; use a named one (its PTX depends on the path)" >&2
    exit 1
  fi
done
if [ $update = 1 ]; then
  cp "$out"/*.ptx "$src/ptx/"
fi
echo "build-ptx ($what): compiled $(ls "$src"/*.cu | wc -l) file(s) with $nvcc_bin"
