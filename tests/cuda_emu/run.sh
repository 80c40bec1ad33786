#!/bin/sh
# Runs tests/test_cuda.c against kernels/cuda/*.cu executed on the CPU by
# cuemu (a logic check for machines without a GPU: indexing, block layouts,
# reductions, the attention splits, the cuBLAS calls' shapes). It does not
# replace a run on a GPU; see docs/cuda.md.
#
# Usage: sh tests/cuda_emu/run.sh [MODEL-SUBSTRING]   (from the repository root)
# The argument goes to test_cuda: only the models whose path contains it
# ("none": only the operation checks, about 8 minutes). Builds into build/emu.
# Needs g++ (C++20), python3, OpenBLAS. Slow: every CUDA thread is a fiber
# and blocks run one by one; a synthetic model takes about 15 minutes.
set -e
E=build/emu
mkdir -p "$E/cu"
rm -f "$E"/cu/*.o "$E/test_cuda.o" "$E/test_cuda"   # a failed compile must not leave an old object
# the library with LOGITLAB_CUDA defined (no stub) but none of the .cu files
make -s BUILD="$E/lib" XCFLAGS=-DLOGITLAB_CUDA "$E/lib/liblogitlab.a"
CXX=${CXX:-g++}
CXXFLAGS="-std=c++20 -O1 -g -ffp-contract=off -pthread -Itests/cuda_emu -Itests/cuda_emu/include -Ikernels/cuda -Icore -Ikernels/cpu $(pkg-config --cflags openblas)"
for f in kernels/cuda/*.cu; do
  n=$(basename "$f" .cu)
  python3 tests/cuda_emu/rewrite.py "$f" "$E/cu/$n.cc"
  $CXX $CXXFLAGS -include cuemu.h -c "$E/cu/$n.cc" -o "$E/cu/$n.o" &
done
$CXX $CXXFLAGS -c tests/cuda_emu/cuemu.cc -o "$E/cu/cuemu.o" &
cc -std=c11 -O2 -g -Wall -Wextra -D_GNU_SOURCE -DLOGITLAB_CUDA -Icore -Ikernels/cpu -Ikernels/cuda -Itests \
  -c tests/test_cuda.c -o "$E/test_cuda.o" &
wait
$CXX -pthread -o "$E/test_cuda" "$E/test_cuda.o" "$E"/cu/*.o "$E/lib/liblogitlab.a" $(pkg-config --libs openblas) -lm
LOGITLAB_SHARED=${LOGITLAB_SHARED:-../shared} "$E/test_cuda" "$@"
