#!/usr/bin/env bash
# The seed's distribute_process (shared/seed.md), as a benchmark contender:
# split the input into one chunk per node with split -l, scp each chunk to its
# node, run the worker there on the file in the background (writing
# result.txt), wait, scp every result back and cat them in order. It fixes
# only the seed's chunk-count defect (it rounds the chunk size up, so there
# are never more chunks than nodes), and reaches the nodes through an
# ssh_config file.
#
# usage: bench/naive.sh SSH_CONFIG INPUT OUTPUT NODE...
set -euo pipefail
(($# >= 4)) || { echo "usage: bench/naive.sh SSH_CONFIG INPUT OUTPUT NODE..." >&2; exit 2; }
cfg=$1 input=$2 output=$3
shift 3
nodes=("$@")
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dproc-naive.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

total=$(wc -l <"$input")
n=${#nodes[@]}
(cd "$tmp" && split -l $(((total + n - 1) / n)) "$input" chunk_)

i=0
for chunk in "$tmp"/chunk_*; do
	node=${nodes[i]}
	scp -q -F "$cfg" "$chunk" "$node:processing/data.txt"
	ssh -F "$cfg" "$node" 'cd processing && tr a-z A-Z < data.txt > result.txt' &
	((++i))
done
wait
for ((j = 0; j < i; j++)); do
	scp -q -F "$cfg" "${nodes[j]}:processing/result.txt" "$tmp/result_$j.txt"
done
for ((j = 0; j < i; j++)); do cat "$tmp/result_$j.txt"; done >"$output"
