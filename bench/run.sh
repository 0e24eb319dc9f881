#!/usr/bin/env bash
# Benchmark: dproc's examples/cluster against GNU parallel on the same input,
# in one run, alternating, and prints wall-time ratios and dproc's peak RSS.
#
#   bench/run.sh [SIZE_MIB] [ROUNDS]     (defaults: 256 MiB, 3 rounds)
#
# Needs GNU parallel and GNU time (/usr/bin/time). Every output is checked
# byte for byte against the others before any figure is printed.
set -euo pipefail
cd "$(dirname "$0")/.."

size_mib=${1:-256}
rounds=${2:-3}
work=$(mktemp -d "${TMPDIR:-/tmp}/dproc-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

for tool in parallel /usr/bin/time; do
	command -v "$tool" >/dev/null || { echo "bench: $tool is not installed (apt-get install parallel time)" >&2; exit 1; }
done

go build -o "$work/cluster" ./examples/cluster

input="$work/input.txt"
# Text lines of 76 characters, mixed case, about 3.5 M lines per 256 MiB.
head -c $((size_mib * 1024 * 1024 * 3 / 4)) /dev/urandom | base64 > "$input"
printf 'input: %s MiB, %s lines\n' "$(( $(stat -c %s "$input") / 1024 / 1024 ))" "$(wc -l < "$input")"
tr a-z A-Z < "$input" > "$work/reference.txt"

now() { date +%s.%N; }
declare -a t_dproc t_par rss_dproc
for ((i = 1; i <= rounds; i++)); do
	rm -rf "$work/nodes" && mkdir "$work/nodes"
	s=$(now)
	/usr/bin/time -v -o "$work/time.txt" "$work/cluster" -input "$input" -out "$work/dproc.out" \
		-root "$work/nodes" -worker 'tr a-z A-Z' >/dev/null
	e=$(now)
	t_dproc+=("$(echo "$e - $s" | bc)")
	rss_dproc+=("$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")")
	cmp -s "$work/dproc.out" "$work/reference.txt" || { echo "bench: dproc output differs from reference" >&2; exit 1; }

	s=$(now)
	parallel --pipepart -a "$input" --block -1 -k 'tr a-z A-Z' > "$work/parallel.out"
	e=$(now)
	t_par+=("$(echo "$e - $s" | bc)")
	cmp -s "$work/parallel.out" "$work/reference.txt" || { echo "bench: parallel output differs from reference" >&2; exit 1; }
	printf 'round %d: dproc %.3fs (rss %s KiB)  parallel %.3fs\n' "$i" "${t_dproc[-1]}" "${rss_dproc[-1]}" "${t_par[-1]}"
done

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
md=$(median "${t_dproc[@]}")
mp=$(median "${t_par[@]}")
mr=$(median "${rss_dproc[@]}")
maxr=$(printf '%s\n' "${rss_dproc[@]}" | sort -n | tail -1)
echo
echo "local, 3 nodes, ${size_mib} MiB, ordered output, median of ${rounds}:"
printf '  dproc / GNU parallel wall time: %.2f\n' "$(echo "$md / $mp" | bc -l)"
printf '  dproc peak RSS: median %d MiB, max %d MiB\n' $((mr / 1024)) $((maxr / 1024))
