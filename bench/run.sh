#!/usr/bin/env bash
# Benchmark: dproc against GNU parallel, the seed's scp+ssh script and one raw
# ssh stream, in one run, alternating the contenders round by round, and
# prints median wall times, ratios against the goals, and dproc's peak RSS.
#
# usage: bench/run.sh [--size MIB] [--rounds N] [--tiny-rounds N] [--tasks N]
#                     [--only local,ssh,tiny] [--slots N] [--block SIZE] [--alt 'FLAGS'] [--tune]
#
#   --size MIB       input size (default 256). Above 256 the local section also
#                    runs at 256 MiB first, so the RSS can be compared (flat).
#   --rounds N       rounds of the local and SSH sections (default 3)
#   --tiny-rounds N  rounds of the tiny-task section (default 2)
#   --tasks N        tiny tasks (default 300)
#   --only LIST      sections to run (default local,ssh,tiny)
#   --slots N        dproc -slots (default: examples/cluster's default)
#   --block SIZE     dproc -block, e.g. 8M (default: examples/cluster's default)
#   --alt 'FLAGS'    a second dproc contender in the SSH section, with these extra
#                    examples/cluster flags (default '-slots 1 -block 32M', the best
#                    found by --tune here; '' to skip it)
#   --tune           also sweep dproc's -slots and -block over SSH (not in the
#                    default run: it adds a few minutes)
#
# Sections:
#   local  3 local nodes: examples/cluster vs parallel --pipepart -k
#   ssh    3 sshd nodes on 127.0.0.1 started by bench/sshnodes:
#          examples/cluster -nodes node1,node2,node3 -ssh-config CFG, GNU parallel
#          -S node1,node2,node3 --ssh 'ssh -F CFG', the seed's split+scp+ssh+scp+cat
#          script (bench/naive.sh), and one raw stream ssh node1 'tr a-z A-Z' <in >out;
#          also dproc with the --alt flags. "node CPU" is the CPU time the sshd
#          nodes and everything they ran used (the machine's 2 cores run both ends).
#   tiny   N tasks `echo N` over the 3 sshd nodes: bench/tinytasks vs
#          seq N | parallel -M -k -j 8 -S node1,node2,node3 echo
#
# Needs: Go, GNU parallel, GNU time (/usr/bin/time), bc, OpenSSH client and
# server (Debian openssh-client, openssh-server) and libnss-wrapper for the SSH
# sections. CI does not run it. The whole default run takes about 5 minutes on
# a 2-core machine. Every output is compared byte for byte with a local
# `tr a-z A-Z` (or `seq`) reference before any figure is printed.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '7,8p' "$0" | sed 's/^# //; s/^#//' >&2; exit 2; }
size_mib=256 rounds=3 tiny_rounds=2 tasks=300 only=local,ssh,tiny slots= block= tune=0 alt='-slots 1 -block 32M' 
while (($#)); do
	case $1 in
	--size) size_mib=$2; shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	--tiny-rounds) tiny_rounds=$2; shift 2 ;;
	--tasks) tasks=$2; shift 2 ;;
	--only) only=$2; shift 2 ;;
	--slots) slots=$2; shift 2 ;;
	--block) block=$2; shift 2 ;;
	--alt) alt=$2; shift 2 ;;
	--tune) tune=1; shift ;;
	-h | --help) usage ;;
	*) echo "bench: unknown argument $1" >&2; usage ;;
	esac
done
want() { [[ ",$only," == *",$1,"* ]]; }

need=(go parallel /usr/bin/time bc)
if want ssh || want tiny; then need+=(ssh scp /usr/sbin/sshd); fi
for tool in "${need[@]}"; do
	command -v "$tool" >/dev/null || {
		echo "bench: $tool is not installed (apt-get install parallel time bc openssh-client openssh-server libnss-wrapper)" >&2
		exit 1
	}
done

work=$(mktemp -d "${TMPDIR:-/tmp}/dproc-bench.XXXXXX")
nodes_pid=
cleanup() {
	if [[ -n $nodes_pid ]]; then
		exec 9>&- || true
		kill "$nodes_pid" 2>/dev/null || true
		wait "$nodes_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "building ..."
go build -o "$work/cluster" ./examples/cluster
go build -o "$work/sshnodes" ./bench/sshnodes
go build -o "$work/tinytasks" ./bench/tinytasks

dproc_flags=(-metrics "")
[[ -n $slots ]] && dproc_flags+=(-slots "$slots")
[[ -n $block ]] && dproc_flags+=(-block "$block")

now() { date +%s.%N; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
maxof() { printf '%s\n' "$@" | sort -g | tail -1; }
ratio() { echo "scale=4; $1 / $2" | bc -l; }
verdict() { # value op goal
	# Compared at the precision printed, so "1.00" never reads as a miss of 1.0.
	if (($(echo "$(printf '%.2f' "$1") $2 $3" | bc -l))); then echo "goal $2 $3: met"; else echo "goal $2 $3: MISSED"; fi
}
same() { # file reference label
	cmp -s "$1" "$2" || { echo "bench: $3 output differs from the reference ($1 vs $2)" >&2; exit 1; }
}
# timed LABEL CMD...: runs CMD, appends its wall time to the array t_LABEL.
timed() {
	local label=$1 s e
	shift
	s=$(now)
	"$@"
	e=$(now)
	eval "t_$label+=($(echo "$e - $s" | bc))"
}
# node_cpu: CPU time (ticks) used so far by the sshd nodes' finished
# connections and everything they ran: the sum of the listening sshds' own and
# reaped children's times. A connection's share appears once it has closed.
node_cpu() {
	local t=0 pid f
	for f in "${cfg%/*}"/node*/sshd.pid; do
		read -r pid <"$f" || continue
		t=$((t + $(awk '{print $14 + $15 + $16 + $17}' "/proc/$pid/stat" 2>/dev/null || echo 0)))
	done
	echo "$t"
}
# ntimed LABEL CMD...: timed, plus the nodes' CPU seconds into the array n_LABEL.
ntimed() {
	local label=$1 a b
	a=$(node_cpu)
	timed "$@"
	sleep 0.3 # let the connection's sshd exit and be reaped
	b=$(node_cpu)
	eval "n_$label+=($(echo "scale=2; ($b - $a) / $(getconf CLK_TCK)" | bc))"
}
# rss_of FILE: peak RSS in KiB from /usr/bin/time -v output.
rss_of() { awk -F': ' '/Maximum resident set size/ {print $2}' "$1"; }

# make_input MIB FILE: MIB MiB of text lines of 76 characters (base64 of random bytes), mixed case.
make_input() {
	# base64 turns 57 bytes into a 77-byte line (76 characters and a newline).
	head -c $(($1 * 1024 * 1024 / 77 * 57)) /dev/urandom | base64 >"$2"
	tr a-z A-Z <"$2" >"$2.ref"
	printf 'input: %.1f MiB, %s lines\n' "$(echo "$(stat -c %s "$2") / 1048576" | bc -l)" "$(wc -l <"$2")"
}

summary=()
add() { summary+=("$(printf "$@")"); }

# ---------------------------------------------------------------- local
# local_section MIB: 3 local nodes, examples/cluster vs parallel --pipepart.
local_section() {
	local mib=$1 input="$work/local-$1.txt" i
	echo
	echo "== local: 3 local nodes, ${mib} MiB, ordered output, ${rounds} rounds"
	make_input "$mib" "$input"
	t_ldproc=() t_lpar=()
	local rss=()
	for ((i = 1; i <= rounds; i++)); do
		# Outputs removed outside the timings: replacing a big file costs time.
		rm -rf "$work/lnodes" "$work/dproc.out" "$work/parallel.out" && mkdir "$work/lnodes"
		timed ldproc /usr/bin/time -v -o "$work/time.txt" "$work/cluster" -input "$input" -out "$work/dproc.out" \
			-root "$work/lnodes" "${dproc_flags[@]}" >"$work/cluster.log"
		rss+=("$(rss_of "$work/time.txt")")
		same "$work/dproc.out" "$input.ref" dproc
		timed lpar parallel --pipepart -a "$input" --block -1 -k 'tr a-z A-Z' >"$work/parallel.out"
		same "$work/parallel.out" "$input.ref" parallel
		printf '  round %d: dproc %.2fs (peak RSS %d MiB)  parallel %.2fs\n' "$i" "${t_ldproc[-1]}" $((rss[-1] / 1024)) "${t_lpar[-1]}"
	done
	rm -f "$work/dproc.out" "$work/parallel.out" "$input" "$input.ref"
	local md mp r
	md=$(median "${t_ldproc[@]}")
	mp=$(median "${t_lpar[@]}")
	r=$(ratio "$md" "$mp")
	add 'local, %d MiB: dproc %.2fs, GNU parallel --pipepart %.2fs: dproc/parallel %.2f (%s); dproc peak RSS %d MiB (max of %d rounds; %s)' \
		"$mib" "$md" "$mp" "$r" "$(verdict "$r" '<=' 1.0)" $(($(maxof "${rss[@]}") / 1024)) "$rounds" "$(verdict $(($(maxof "${rss[@]}") / 1024)) '<=' 64)"
	echo "  ${summary[-1]}"
}

if want local; then
	((size_mib > 256)) && local_section 256
	local_section "$size_mib"
fi

# ---------------------------------------------------------------- ssh nodes
cfg=
if want ssh || want tiny; then
	echo
	echo "starting 3 sshd nodes ..."
	# The nodes live until fd 9 (their stdin) closes, or SIGTERM.
	coproc_fifo="$work/nodes.in"
	mkfifo "$coproc_fifo"
	"$work/sshnodes" -n 3 -dir "$work" <"$coproc_fifo" >"$work/nodes.out" 2>"$work/nodes.err" &
	nodes_pid=$!
	exec 9>"$coproc_fifo"
	for _ in $(seq 100); do
		[[ -s $work/nodes.out ]] && break
		kill -0 "$nodes_pid" 2>/dev/null || { cat "$work/nodes.err" >&2; exit 1; }
		sleep 0.1
	done
	cfg=$(head -1 "$work/nodes.out")
	[[ -n $cfg ]] || { echo "bench: sshd nodes did not start" >&2; cat "$work/nodes.err" >&2; exit 1; }
	for n in node1 node2 node3; do ssh -F "$cfg" "$n" "mkdir -p processing"; done # the seed's setup_nodes, for naive.sh
	echo "  ssh_config: $cfg"
fi

# ---------------------------------------------------------------- ssh
if want ssh; then
	echo
	echo "== ssh: 3 sshd nodes on 127.0.0.1, ${size_mib} MiB, ordered output, ${rounds} rounds"
	input="$work/ssh.txt"
	make_input "$size_mib" "$input"
	t_dproc=() t_par=() t_naive=() t_raw=() n_dproc=() n_par=() n_naive=() n_raw=() rss=()
	t_alt=() n_alt=() rss_alt=()
	for ((i = 1; i <= rounds; i++)); do
		ntimed dproc /usr/bin/time -v -o "$work/time.txt" "$work/cluster" -input "$input" -out "$work/dproc.out" \
			-nodes node1,node2,node3 -ssh-config "$cfg" "${dproc_flags[@]}" >"$work/cluster.log"
		rss+=("$(rss_of "$work/time.txt")")
		same "$work/dproc.out" "$input.ref" dproc

		if [[ -n $alt ]]; then
			# shellcheck disable=SC2086 # $alt is a list of flags
			ntimed alt /usr/bin/time -v -o "$work/time.txt" "$work/cluster" -input "$input" -out "$work/dproc.out" \
				-nodes node1,node2,node3 -ssh-config "$cfg" -metrics "" $alt >"$work/cluster.log"
			rss_alt+=("$(rss_of "$work/time.txt")")
			same "$work/dproc.out" "$input.ref" "dproc $alt"
		fi

		ntimed par parallel --pipepart -a "$input" --block -1 -k -S node1,node2,node3 --ssh "ssh -F $cfg" \
			'tr a-z A-Z' >"$work/parallel.out"
		same "$work/parallel.out" "$input.ref" "GNU parallel"

		ntimed naive bench/naive.sh "$cfg" "$input" "$work/naive.out" node1 node2 node3
		same "$work/naive.out" "$input.ref" naive

		ntimed raw ssh -F "$cfg" node1 'tr a-z A-Z' <"$input" >"$work/raw.out"
		same "$work/raw.out" "$input.ref" "raw ssh"

		printf '  round %d: dproc %.2fs (peak RSS %d MiB)  parallel %.2fs  naive %.2fs  raw ssh %.2fs\n' "$i" \
			"${t_dproc[-1]}" $((rss[-1] / 1024)) "${t_par[-1]}" "${t_naive[-1]}" "${t_raw[-1]}"
		printf '           node CPU: dproc %.2fs  parallel %.2fs  naive %.2fs  raw ssh %.2fs\n' \
			"${n_dproc[-1]}" "${n_par[-1]}" "${n_naive[-1]}" "${n_raw[-1]}"
		[[ -n $alt ]] && printf '           dproc %s: %.2fs (peak RSS %d MiB, node CPU %.2fs)\n' "$alt" "${t_alt[-1]}" \
			$((rss_alt[-1] / 1024)) "${n_alt[-1]}"
		rm -f "$work"/*.out
	done
	md=$(median "${t_dproc[@]}") mp=$(median "${t_par[@]}") mn=$(median "${t_naive[@]}") mr=$(median "${t_raw[@]}")
	peak=$(($(maxof "${rss[@]}") / 1024))
	add 'ssh, %d MiB, 3 nodes, medians of %d: dproc (defaults) %.2fs, GNU parallel -S %.2fs, seed scp+ssh %.2fs, one raw ssh stream %.2fs' \
		"$size_mib" "$rounds" "$md" "$mp" "$mn" "$mr"
	add '  CPU used on the nodes (sshd + shells + tr), medians: dproc %.2fs, parallel %.2fs, seed %.2fs, raw %.2fs' \
		"$(median "${n_dproc[@]}")" "$(median "${n_par[@]}")" "$(median "${n_naive[@]}")" "$(median "${n_raw[@]}")"
	r=$(ratio "$md" "$mp")
	add '  dproc / GNU parallel   = %.2f (%s)' "$r" "$(verdict "$r" '<=' 0.33)"
	r=$(ratio "$md" "$mr")
	add '  dproc / raw ssh stream = %.2f (%s)' "$r" "$(verdict "$r" '<=' 1.25)"
	add '  dproc / seed scp+ssh   = %.2f' "$(ratio "$md" "$mn")"
	add '  dproc peak RSS         = %d MiB (max of %d rounds; %s)' "$peak" "$rounds" "$(verdict "$peak" '<=' 64)"
	lines=6
	if [[ -n $alt ]]; then
		ma=$(median "${t_alt[@]}")
		add '  dproc %s: %.2fs; / GNU parallel = %.2f, / raw ssh stream = %.2f, peak RSS %d MiB' "$alt" "$ma" \
			"$(ratio "$ma" "$mp")" "$(ratio "$ma" "$mr")" $(($(maxof "${rss_alt[@]}") / 1024))
		lines=7
	fi
	printf '  %s\n' "${summary[@]: -$lines}"

	if ((tune)); then
		echo
		echo "== tune: dproc over ssh, ${size_mib} MiB, one run each; 'slot' = one block per slot (GNU parallel's --block -1)"
		insize=$(stat -c %s "$input")
		for s in 1 2 3 4; do
			for b in 4M 8M 16M 32M slot; do
				bb=$b
				[[ $b == slot ]] && bb=$(((insize + 3 * s - 1) / (3 * s)))
				a=$(node_cpu)
				st=$(now)
				/usr/bin/time -v -o "$work/time.txt" "$work/cluster" -input "$input" -out "$work/dproc.out" \
					-nodes node1,node2,node3 -ssh-config "$cfg" -metrics "" -slots "$s" -block "$bb" >"$work/cluster.log"
				e=$(now)
				sleep 0.3
				same "$work/dproc.out" "$input.ref" dproc
				printf '  -slots %d -block %-4s %.2fs  node CPU %.2fs  peak RSS %d MiB\n' "$s" "$b" "$(echo "$e - $st" | bc)" \
					"$(echo "scale=2; ($(node_cpu) - $a) / $(getconf CLK_TCK)" | bc)" $(($(rss_of "$work/time.txt") / 1024))
			done
		done
		rm -f "$work/dproc.out"
	fi
	rm -f "$input" "$input.ref"
fi

# ---------------------------------------------------------------- tiny
if want tiny; then
	echo
	echo "== tiny: ${tasks} tasks 'echo N' over 3 sshd nodes, ${tiny_rounds} rounds"
	seq "$tasks" >"$work/tiny.ref"
	t_tdproc=() t_tpar=()
	for ((i = 1; i <= tiny_rounds; i++)); do
		timed tdproc "$work/tinytasks" -nodes node1,node2,node3 -ssh-config "$cfg" -n "$tasks" \
			>"$work/tiny-dproc.out" 2>"$work/tiny.log"
		same "$work/tiny-dproc.out" "$work/tiny.ref" "dproc tiny"
		timed tpar parallel -M -k -j 8 -S node1,node2,node3 --ssh "ssh -F $cfg" echo \
			<"$work/tiny.ref" >"$work/tiny-par.out"
		same "$work/tiny-par.out" "$work/tiny.ref" "GNU parallel tiny"
		printf '  round %d: dproc %.2fs  parallel -M %.2fs\n' "$i" "${t_tdproc[-1]}" "${t_tpar[-1]}"
	done
	md=$(median "${t_tdproc[@]}") mp=$(median "${t_tpar[@]}")
	r=$(echo "scale=2; $mp / $md" | bc -l)
	add 'tiny, %d tasks echo N over 3 ssh nodes: dproc %.2fs, GNU parallel -M -j 8 %.2fs: dproc %.1fx faster (%s)' \
		"$tasks" "$md" "$mp" "$r" "$(verdict "$r" '>=' 20)"
	echo "  ${summary[-1]}"
fi

echo
echo "== summary ($(date -u +%Y-%m-%d), $(nproc) cores, $(parallel --version | head -1), $(ssh -V 2>&1 | cut -d, -f1))"
printf '%s\n' "${summary[@]}"
