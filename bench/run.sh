#!/usr/bin/env bash
# Benchmark: dproc against GNU parallel, pdsh, ClusterShell, the classic
# scp+ssh script and raw OpenSSH streams, in one run, alternating the
# contenders round by round. For every contender it prints the median wall
# time, the user and system CPU of the client and of the nodes, and the peak
# RSS of the client; then the ratios, each beside its goal with met/MISSED.
#
# usage: bench/run.sh [options] [section ...]
#
# Sections (default: all, in this order):
#   local   3 local nodes, SIZE MiB: examples/cluster vs parallel --pipepart -k;
#           also examples/cluster -out - into a file (no fsync, as parallel)
#           (above 256 MiB it runs at 256 MiB too, for the RSS goal at both)
#   ssh     3 sshd nodes, SIZE MiB, ordered: examples/cluster; GNU parallel -S;
#           the classic split+scp+ssh+scp+cat script (bench/naive.sh); one raw
#           `ssh node1 'tr a-z A-Z'` stream with OpenSSH's default cipher and
#           one with -c aes128-gcm@openssh.com (ratios are against the faster);
#           and three raw aes128-gcm streams at once, one per node, a third of
#           the input each, cut beforehand (OpenSSH's own split, no dispatcher)
#   tiny    TASKS tasks `echo N` over the 3 sshd nodes: bench/tinytasks vs
#           seq TASKS | parallel -M -k -j 8 -S node1,node2,node3 echo
#   scale   SCALE sshd nodes, node i on 127.0.1.i: `uptime && df -h && free -m`
#           on every node: dproc exec vs pdsh -R ssh -f 100 vs clush -f 100;
#           every node's answer is checked
#   frozen  3 sshd nodes, SIZE MiB, examples/cluster's defaults: undisturbed
#           runs against runs where node2's sshd and everything under it gets
#           SIGSTOP FREEZE_AFTER s into the run; the frozen/undisturbed ratio and
#           the speculative launches counted in each run
#
# Options:
#   -h, --help          this text
#   --size MIB          input size of local, ssh and frozen (default 256)
#   --rounds N          rounds of every section; medians of N (default 3)
#   --tasks N           tiny tasks (default 300)
#   --scale-nodes N     nodes of the scale section (default 100)
#   --freeze-after S    when node2 freezes in a frozen run (default 0.5)
#   --frozen-timeout S  give up on a frozen run after S seconds (default 300)
#   --slots N, --block SIZE  examples/cluster -slots/-block for every dproc run
#                       (default: examples/cluster's defaults)
#   --alt 'FLAGS'       a second dproc contender in the ssh section with these
#                       extra examples/cluster flags (default none)
#   --tune              also sweep examples/cluster's -slots and -block over ssh
#   --only LIST         sections as a comma-separated list (same as arguments)
#
# Quick check that everything works: bench/run.sh --size 8 --rounds 1
#   --tasks 30 --scale-nodes 5
#
# CPU accounting. Client: /usr/bin/time's user and system time of the command
# and every child it waited for (GNU parallel's ssh processes, naive.sh's scp
# and ssh). Nodes: every sshd listener of a node set is moved into one cpuacct
# cgroup (v1, /sys/fs/cgroup/cpuacct) as soon as it listens, so every
# connection, session, shell and worker it forks is counted, reaped or not,
# orphaned or not; the script reads cpuacct.stat before and after each run
# (after a 0.3 s pause, so the sessions' sshd processes have finished). Where
# the cgroup cannot be made (no cgroup v1 cpuacct, not root), it falls back to
# utime+stime+cutime+cstime of each listener from /proc/PID/stat: that counts
# a connection once sshd has reaped it, and misses processes that outlive their
# session (orphans re-parented to init); DPROC_BENCH_NO_CGROUP=1 forces this
# fallback. Local nodes are the client's own children, so in the local
# section all CPU is the client's. On this lab machine both ends share the
# same cores: the client's CPU is what stays on the critical path on real
# hosts. A median of an even count is the lower of the two middle values.
#
# Nodes: bench/sshnodes (internal/sshtest) with stock sshd settings
# (MaxSessions 10, MaxStartups 10:30:100). The scale nodes get one loopback
# address each (sshnodes -addr-from 127.0.1.1); pdsh reaches them through
# PDSH_SSH_ARGS="... -F SSH_CONFIG ...", clush through -o "-F SSH_CONFIG".
# dproc's contender there is `dproc exec -f 100` running the same command.
#
# Speculative launches: counted from examples/cluster's standard output, a
# line matching /speculative[^0-9]*[0-9]+/ (case-insensitive); "n/a" when the
# program prints none.
#
# Needs: Go, GNU parallel, GNU time (/usr/bin/time), bc, OpenSSH client and
# server, libnss-wrapper (Debian: golang parallel time bc openssh-client
# openssh-server libnss-wrapper), pdsh and clustershell for the scale section.
# CI does not run it. Every output is compared with a reference (local
# `tr a-z A-Z`, `seq`, or every node's answer) before any figure counts. On
# exit, Ctrl-C included, it stops every process it started and removes its
# files and cgroups.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -x /usr/local/go/bin/go ]] && ! command -v go >/dev/null && PATH=/usr/local/go/bin:$PATH

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit "${1:-0}"; }
size_mib=256 rounds=3 tasks=300 scale_nodes=100 freeze_after=0.5 frozen_timeout=300
slots= block= alt= tune=0 sections=()
while (($#)); do
	case $1 in
	--size) size_mib=$2; shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	--tasks) tasks=$2; shift 2 ;;
	--scale-nodes) scale_nodes=$2; shift 2 ;;
	--freeze-after) freeze_after=$2; shift 2 ;;
	--frozen-timeout) frozen_timeout=$2; shift 2 ;;
	--slots) slots=$2; shift 2 ;;
	--block) block=$2; shift 2 ;;
	--alt) alt=$2; shift 2 ;;
	--tune) tune=1; shift ;;
	--only) IFS=, read -ra more <<<"$2"; sections+=("${more[@]}"); shift 2 ;;
	-h | --help) usage 0 ;;
	local | ssh | tiny | scale | frozen) sections+=("$1"); shift ;;
	*) echo "bench: unknown argument $1 (bench/run.sh -h)" >&2; exit 2 ;;
	esac
done
((${#sections[@]})) || sections=(local ssh tiny scale frozen)
want() { [[ " ${sections[*]} " == *" $1 "* ]]; }
((rounds >= 1 && scale_nodes >= 1 && scale_nodes <= 254 && tasks >= 1)) ||
	{ echo "bench: need --rounds >= 1, --tasks >= 1 and 1 <= --scale-nodes <= 254" >&2; exit 2; }

need=(go /usr/bin/time bc)
want local || want ssh || want tiny && need+=(parallel)
want ssh || want tiny || want scale || want frozen && need+=(ssh scp /usr/sbin/sshd)
want scale && need+=(pdsh clush)
for tool in "${need[@]}"; do
	command -v "$tool" >/dev/null || {
		echo "bench: $tool is not installed (apt-get install golang parallel time bc openssh-client openssh-server libnss-wrapper pdsh clustershell)" >&2
		exit 1
	}
done

# ---------------------------------------------------------------- processes
# The script's own stdout and stderr, for progress lines and errors printed
# while a contender's output is redirected.
exec 3>&1 4>&2
# Everything started here is in these lists; cleanup stops it on any exit.
work=$(mktemp -d "${TMPDIR:-/tmp}/dproc-bench.XXXXXX")
declare -A NODES_PID=() NODES_FD=() NODES_CFG=() NODES_DIR=() NODES_CG=() NODES_PIDS=()
bg_pids=()
cgroot=/sys/fs/cgroup/cpuacct

# kill_tree PID: SIGTERM to PID's children, then to PID.
kill_tree() {
	local c
	for c in $(cat "/proc/$1/task/$1/children" 2>/dev/null); do kill_tree "$c"; done
	kill "$1" 2>/dev/null || true
}

# stop_nodes SET: closes the node set's standard input (sshnodes then kills
# every node process and removes the nodes' files), waits, removes its cgroup.
stop_nodes() {
	local set=$1 fd pid i
	[[ -n ${NODES_PID[$set]:-} ]] || return 0
	fd=${NODES_FD[$set]} pid=${NODES_PID[$set]}
	exec {fd}>&- || true
	for ((i = 0; i < 300; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	if [[ -n ${NODES_CG[$set]:-} ]]; then
		for ((i = 0; i < 50; i++)); do rmdir "${NODES_CG[$set]}" 2>/dev/null && break; sleep 0.1; done
	fi
	unset "NODES_PID[$set]" "NODES_FD[$set]" "NODES_CFG[$set]" "NODES_CG[$set]" "NODES_PIDS[$set]"
}

cleanup() {
	local p s
	trap '' INT TERM
	for p in "${bg_pids[@]}"; do kill_tree "$p"; wait "$p" 2>/dev/null || true; done
	for s in "${!NODES_PID[@]}"; do stop_nodes "$s"; done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'echo "bench: interrupted" >&4; exit 130' INT
trap 'exit 143' TERM HUP

# start_nodes SET N [sshnodes flags]: starts N sshd nodes as node set SET.
start_nodes() {
	local set=$1 n=$2 d="$work/$1" fd pid i
	shift 2
	mkdir -p "$d"
	mkfifo "$d/in"
	# The nodes live until their standard input closes (stop_nodes), or SIGTERM.
	"$work/sshnodes" -n "$n" -dir "$d" "$@" <"$d/in" >"$d/out" 2>"$d/err" &
	pid=$!
	NODES_PID[$set]=$pid NODES_DIR[$set]=$d
	exec {fd}>"$d/in"
	NODES_FD[$set]=$fd
	for ((i = 0; i < 1200; i++)); do
		[[ -s $d/out ]] && break
		kill -0 "$pid" 2>/dev/null || { echo "bench: sshd nodes did not start:" >&2; cat "$d/err" >&2; exit 1; }
		sleep 0.1
	done
	NODES_CFG[$set]=$(head -1 "$d/out")
	[[ -n ${NODES_CFG[$set]} ]] || { echo "bench: sshd nodes did not start in 120 s" >&2; cat "$d/err" >&2; exit 1; }
	local pids
	pids=$(node_cmd "$set" pids)
	NODES_PIDS[$set]=${pids#pids }
	local cg="$cgroot/dproc-bench-$$-$set"
	if [[ ${DPROC_BENCH_NO_CGROUP:-} != 1 && -w $cgroot ]] && mkdir "$cg" 2>/dev/null; then
		NODES_CG[$set]=$cg
		for p in ${NODES_PIDS[$set]}; do
			echo "$p" >"$cg/cgroup.procs" || { echo "bench: cannot move sshd $p into $cg" >&2; exit 1; }
		done
		echo "  $n nodes up (ssh_config $(basename "${NODES_CFG[$set]}")); node CPU from cgroup $cg"
	else
		echo "  $n nodes up; no cpuacct cgroup here: node CPU from the listeners' /proc stat (counts reaped sessions only)"
	fi
}

# node_cmd SET LINE: sends a command to the node set's sshnodes and prints its answer.
node_cmd() {
	local set=$1 out="${NODES_DIR[$1]}/out" n i fd=${NODES_FD[$1]}
	n=$(wc -l <"$out")
	echo "$2" >&"$fd"
	for ((i = 0; i < 600; i++)); do
		(($(wc -l <"$out") > n)) && { sed -n "$((n + 1))p" "$out"; return; }
		sleep 0.05
	done
	echo "bench: sshnodes did not answer '$2'" >&2
	exit 1
}

# node_cpu SET: "USER SYSTEM" CPU ticks used so far by the node set.
node_cpu() {
	local set=$1 p
	if [[ -n ${NODES_CG[$set]:-} ]]; then
		awk '$1 == "user" {u = $2} $1 == "system" {s = $2} END {print u + 0, s + 0}' "${NODES_CG[$set]}/cpuacct.stat"
		return
	fi
	for p in ${NODES_PIDS[$set]}; do cat "/proc/$p/stat" 2>/dev/null || true; done |
		awk '{sub(/.*\) /, ""); u += $12 + $14; s += $13 + $15} END {print u + 0, s + 0}'
}

# ---------------------------------------------------------------- measuring
hz=$(getconf CLK_TCK)
now() { date +%s.%N; }
# median: the middle value (for an even count, the lower of the two middle ones).
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR] = $1} END {if (NR) print a[int((NR + 1) / 2)]; else print "nan"}'; }
maxof() { printf '%s\n' "$@" | sort -g | tail -1; }
minof() { printf '%s\n' "$@" | sort -g | head -1; }
calc() { echo "scale=4; $1" | bc -l; }
ratio() { if [[ $2 =~ ^[0.]*$ || $1 == n/a || $2 == n/a ]]; then echo n/a; else calc "$1 / $2"; fi; }
verdict() { # value op goal; compared at the precision printed, so "0.90" never reads as a miss of 0.9
	[[ $1 == n/a ]] && { echo "goal $2 $3: n/a"; return; }
	if (($(echo "$(printf '%.2f' "$1") $2 $3" | bc -l))); then echo "goal $2 $3: met"; else echo "goal $2 $3: MISSED"; fi
}
fmt2() { if [[ $1 == n/a ]]; then echo n/a; else printf '%.2f' "$1"; fi; }
same() { # file reference label
	cmp -s "$1" "$2" || { echo "bench: $3: output differs from the reference ($1 vs $2)" >&2; exit 1; }
}
# rotate K ITEM...: the items, starting with the K-th (0-based, modulo their count).
rotate() { local k=$1; shift; local a=("$@") n=$# i; for ((i = 0; i < n; i++)); do echo "${a[(i + k) % n]}"; done; }

# Per contender (LABEL): space-separated lists, one entry per round.
declare -A W=() CU=() CS=() NU=() NS=() RSS=()
declare -A NAME=()
reset() { local l; for l in "$@"; do W[$l]= CU[$l]= CS[$l]= NU[$l]= NS[$l]= RSS[$l]=; done; }

# measure LABEL SET CMD...: runs CMD under /usr/bin/time and records its wall
# time, the client's user/system CPU and peak RSS and, unless SET is "-",
# the CPU node set SET used meanwhile. Stops the benchmark if CMD fails.
measure() {
	local label=$1 set=$2 a=(0 0) b s e
	shift 2
	[[ $set != - ]] && read -ra a <<<"$(node_cpu "$set")"
	s=$(now)
	if ! /usr/bin/time -f '%U %S %M' -o "$work/time.txt" "$@"; then
		echo "bench: ${NAME[$label]:-$label} failed: $*" >&4
		[[ -s $work/err.txt ]] && tail -20 "$work/err.txt" >&4
		exit 1
	fi
	e=$(now)
	record "$label" "$set" "$s" "$e" "${a[@]}"
}

# record LABEL SET START END NODE_USER0 NODE_SYS0: stores one round's figures.
record() {
	local label=$1 set=$2 wall u sy rss b=(0 0)
	wall=$(calc "$4 - $3")
	read -r u sy rss < <(tail -1 "$work/time.txt")
	W[$label]+=" $wall" CU[$label]+=" $u" CS[$label]+=" $sy" RSS[$label]+=" $rss"
	if [[ $set != - ]]; then
		sleep 0.3 # let the sessions' sshd processes finish
		read -ra b <<<"$(node_cpu "$set")"
		NU[$label]+=" $(calc "($b - $5) / $hz")" NS[$label]+=" $(calc "(${b[1]} - $6) / $hz")"
		printf '    %-30s %7.2fs  client u %5.2f s %5.2f  nodes u %5.2f s %5.2f  RSS %4d MiB\n' "${NAME[$label]}" \
			"$wall" "$u" "$sy" "$(calc "($b - $5) / $hz")" "$(calc "(${b[1]} - $6) / $hz")" $((rss / 1024)) >&3
	else
		printf '    %-30s %7.2fs  client u %5.2f s %5.2f  RSS %4d MiB\n' "${NAME[$label]}" "$wall" "$u" "$sy" $((rss / 1024)) >&3
	fi
}

# med LABEL FIELD: median of W, CU, CS, NU, NS (n/a when not measured), or the max of RSS in MiB.
med() {
	local -n arr=$2
	local v=${arr[$1]:-}
	[[ -z ${v// /} ]] && { echo n/a; return; }
	# shellcheck disable=SC2086 # a list of numbers
	if [[ $2 == RSS ]]; then echo $(($(maxof $v) / 1024)); else median $v; fi
}
cpu() { # LABEL client|nodes: median user + median system
	local u s
	if [[ $2 == client ]]; then u=$(med "$1" CU) s=$(med "$1" CS); else u=$(med "$1" NU) s=$(med "$1" NS); fi
	[[ $u == n/a ]] && { echo n/a; return; }
	calc "$u + $s"
}

summary=()
add() { summary+=("$(printf "$@")"); echo "  ${summary[-1]}"; }
# table LABEL...: the medians of the contenders, one line each, into the summary.
table() {
	local l
	add '%-30s %8s  %-17s  %-17s  %s' "medians of $rounds" wall "client CPU u+s" "nodes CPU u+s" "peak RSS"
	for l in "$@"; do
		add '%-30s %7.2fs  %5s+%-5s=%5s  %5s+%-5s=%5s  %4s MiB' "${NAME[$l]}" "$(med "$l" W)" \
			"$(fmt2 "$(med "$l" CU)")" "$(fmt2 "$(med "$l" CS)")" "$(fmt2 "$(cpu "$l" client)")" \
			"$(fmt2 "$(med "$l" NU)")" "$(fmt2 "$(med "$l" NS)")" "$(fmt2 "$(cpu "$l" nodes)")" "$(med "$l" RSS)"
	done
}
# goal TEXT VALUE OP LIMIT: one ratio beside its goal.
goal() {
	local v
	v=$(fmt2 "$2")
	[[ $1 == *MiB* ]] && v=$2 # a size, printed whole
	add '  %-52s %6s  (%s)' "$1" "$v" "$(verdict "$2" "$3" "$4")"
}

# make_input MIB FILE: MIB MiB of text lines of 76 characters (base64 of random bytes), mixed case.
make_input() {
	# base64 turns 57 bytes into a 77-byte line (76 characters and a newline).
	head -c $(($1 * 1024 * 1024 / 77 * 57)) /dev/urandom | base64 >"$2"
	tr a-z A-Z <"$2" >"$2.ref"
	# The new files' dirty pages reach the disk now, not during the first
	# contender's run (at 2 GiB that writeback tripled its system time).
	sync
	printf '  input: %.1f MiB, %s lines\n' "$(calc "$(stat -c %s "$2") / 1048576")" "$(wc -l <"$2")"
}

# ---------------------------------------------------------------- machine
version() { "$@" 2>&1 | head -1 || true; }
machine=(
	"cores: $(nproc); CPU: $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1); kernel: $(uname -sr)"
	"Go: $(go env GOVERSION); $(version ssh -V); $(version parallel --version)"
	"pdsh: $(command -v pdsh >/dev/null && version pdsh -V || echo 'not installed'); clush: $(command -v clush >/dev/null && version clush --version || echo 'not installed')"
	"load average at start: $(cut -d' ' -f1-3 /proc/loadavg); $(date -u '+%Y-%m-%d %H:%M UTC'); sections: ${sections[*]}"
)
echo "== machine"
printf '  %s\n' "${machine[@]}"

echo "building ..."
go build -o "$work/cluster" ./examples/cluster
go build -o "$work/sshnodes" ./bench/sshnodes
want tiny && go build -o "$work/tinytasks" ./bench/tinytasks
want scale && go build -o "$work/dproc" ./cmd/dproc

dproc_flags=(-metrics "")
[[ -n $slots ]] && dproc_flags+=(-slots "$slots")
[[ -n $block ]] && dproc_flags+=(-block "$block")
dproc_desc="examples/cluster${slots:+ -slots $slots}${block:+ -block $block}"

# ---------------------------------------------------------------- local
# local_section MIB: 3 local nodes, examples/cluster vs parallel --pipepart -k.
local_section() {
	local mib=$1 input="$work/local-$1.txt" i c
	echo
	echo "== local: 3 local nodes, ${mib} MiB, ordered output, ${rounds} rounds"
	make_input "$mib" "$input"
	reset ldproc lstdout lpar
	NAME[ldproc]="dproc ($dproc_desc)" NAME[lpar]="parallel --pipepart -k"
	NAME[lstdout]="dproc -out - >file (no fsync)"
	for ((i = 1; i <= rounds; i++)); do
		echo "  round $i"
		for c in $(rotate $((i - 1)) ldproc lstdout lpar); do
			# Outputs removed outside the timings: replacing a big file costs time.
			rm -rf "$work/lnodes" "$work/out.txt" && mkdir "$work/lnodes"
			case $c in
			ldproc) measure ldproc - "$work/cluster" -input "$input" -out "$work/out.txt" -root "$work/lnodes" \
				"${dproc_flags[@]}" >"$work/cluster.log" 2>"$work/err.txt" ;;
			# The result on standard output into a file, as GNU parallel
			# writes it: no fsync before it counts as written.
			lstdout) measure lstdout - "$work/cluster" -input "$input" -out - -root "$work/lnodes" \
				"${dproc_flags[@]}" >"$work/out.txt" 2>"$work/err.txt" ;;
			lpar) measure lpar - parallel --pipepart -a "$input" --block -1 -k 'tr a-z A-Z' >"$work/out.txt" 2>"$work/err.txt" ;;
			esac
			same "$work/out.txt" "$input.ref" "${NAME[$c]}"
		done
	done
	rm -rf "$work/out.txt" "$work/lnodes" "$input" "$input.ref"
	echo
	add 'local, %d MiB, 3 local nodes, ordered output:' "$mib"
	table ldproc lstdout lpar
	goal "dproc / parallel --pipepart -k" "$(ratio "$(med ldproc W)" "$(med lpar W)")" '<=' 0.8
	add '  without the fsync (dproc -out - >file / parallel): %s' "$(fmt2 "$(ratio "$(med lstdout W)" "$(med lpar W)")")"
	goal "dproc peak RSS, MiB (max of $rounds)" "$(med ldproc RSS)" '<=' 32
}

if want local; then
	((size_mib > 256)) && local_section 256
	local_section "$size_mib"
fi

# The 3-node set of the ssh, tiny and frozen sections, on 127.0.0.1.
cfg=
if want ssh || want tiny || want frozen; then
	echo
	echo "starting 3 sshd nodes ..."
	start_nodes s3 3
	cfg=${NODES_CFG[s3]}
	for n in node1 node2 node3; do ssh -F "$cfg" "$n" "mkdir -p processing"; done # the nodes' working directory, for naive.sh
fi

# ---------------------------------------------------------------- ssh
if want ssh; then
	echo
	echo "== ssh: 3 sshd nodes on 127.0.0.1, ${size_mib} MiB, ordered output, ${rounds} rounds"
	input="$work/ssh.txt"
	make_input "$size_mib" "$input"
	# raw3's input: the file cut into three byte ranges beforehand (tr works
	# byte by byte, so any cut gives the reference), one per node.
	split -n 3 -d -a 1 "$input" "$input.part"
	contenders=(dproc par naive raw rawgcm raw3)
	[[ -n $alt ]] && contenders=(dproc alt par naive raw rawgcm raw3)
	reset "${contenders[@]}"
	NAME[dproc]="dproc ($dproc_desc)" NAME[alt]="dproc ($alt)" NAME[par]="parallel --pipepart -k -S" NAME[naive]="split+scp+ssh script (naive.sh)"
	NAME[raw]="raw ssh node1, default cipher" NAME[rawgcm]="raw ssh node1, aes128-gcm"
	NAME[raw3]="raw ssh x3 at once, aes128-gcm"
	for ((i = 1; i <= rounds; i++)); do
		echo "  round $i"
		for c in $(rotate $((i - 1)) "${contenders[@]}"); do
			rm -f "$work/out.txt"
			case $c in
			dproc) measure dproc s3 "$work/cluster" -input "$input" -out "$work/out.txt" \
				-nodes node1,node2,node3 -ssh-config "$cfg" "${dproc_flags[@]}" >"$work/cluster.log" 2>"$work/err.txt" ;;
			# shellcheck disable=SC2086 # $alt is a list of flags
			alt) measure alt s3 "$work/cluster" -input "$input" -out "$work/out.txt" \
				-nodes node1,node2,node3 -ssh-config "$cfg" -metrics "" $alt >"$work/cluster.log" 2>"$work/err.txt" ;;
			par) measure par s3 parallel --pipepart -a "$input" --block -1 -k -S node1,node2,node3 --ssh "ssh -F $cfg" \
				'tr a-z A-Z' >"$work/out.txt" 2>"$work/err.txt" ;;
			naive) measure naive s3 bench/naive.sh "$cfg" "$input" "$work/out.txt" node1 node2 node3 2>"$work/err.txt" ;;
			raw) measure raw s3 ssh -F "$cfg" node1 'tr a-z A-Z' <"$input" >"$work/out.txt" 2>"$work/err.txt" ;;
			rawgcm) measure rawgcm s3 ssh -F "$cfg" -c aes128-gcm@openssh.com node1 'tr a-z A-Z' \
				<"$input" >"$work/out.txt" 2>"$work/err.txt" ;;
			# One raw stream per node at once, a third of the input each,
			# outputs joined in order: OpenSSH's own split over the three
			# nodes, with no dispatcher at all.
			raw3) measure raw3 s3 bash -c 'pids=()
				for i in 0 1 2; do
					ssh -F "$1" -c aes128-gcm@openssh.com node$((i + 1)) "tr a-z A-Z" <"$2.part$i" >"$3.$i" &
					pids+=($!)
				done
				for p in "${pids[@]}"; do wait "$p" || exit 1; done
				cat "$3.0" "$3.1" "$3.2" >"$3" && rm -f "$3.0" "$3.1" "$3.2"' raw3 "$cfg" "$input" "$work/out.txt" 2>"$work/err.txt" ;;
			esac
			same "$work/out.txt" "$input.ref" "${NAME[$c]}"
		done
	done
	rm -f "$work/out.txt" "$input".part?
	fast=raw
	(($(echo "$(med rawgcm W) < $(med raw W)" | bc -l))) && fast=rawgcm
	echo
	add 'ssh, %d MiB, 3 sshd nodes, ordered output; the faster raw stream is "%s":' "$size_mib" "${NAME[$fast]}"
	table "${contenders[@]}"
	goal "dproc / faster raw stream, wall" "$(ratio "$(med dproc W)" "$(med $fast W)")" '<=' 0.9
	goal "dproc / GNU parallel -S, wall" "$(ratio "$(med dproc W)" "$(med par W)")" '<=' 0.4
	goal "dproc / faster raw stream, client CPU" "$(ratio "$(cpu dproc client)" "$(cpu $fast client)")" '<=' 1.0
	goal "dproc / faster raw stream, nodes CPU" "$(ratio "$(cpu dproc nodes)" "$(cpu $fast nodes)")" '<=' 1.1
	add '  OpenSSH alone over the three nodes (raw ssh x3 / faster raw stream): wall %s, client CPU %s, nodes CPU %s' \
		"$(fmt2 "$(ratio "$(med raw3 W)" "$(med $fast W)")")" "$(fmt2 "$(ratio "$(cpu raw3 client)" "$(cpu $fast client)")")" \
		"$(fmt2 "$(ratio "$(cpu raw3 nodes)" "$(cpu $fast nodes)")")"
	add '  dproc / raw ssh x3: wall %s, client CPU %s, nodes CPU %s' "$(fmt2 "$(ratio "$(med dproc W)" "$(med raw3 W)")")" \
		"$(fmt2 "$(ratio "$(cpu dproc client)" "$(cpu raw3 client)")")" "$(fmt2 "$(ratio "$(cpu dproc nodes)" "$(cpu raw3 nodes)")")"
	goal "dproc peak RSS, MiB (max of $rounds)" "$(med dproc RSS)" '<=' 32
	add '  %-52s %6s' "dproc / scp+ssh script, wall" "$(fmt2 "$(ratio "$(med dproc W)" "$(med naive W)")")"
	add '  %-52s %6s' "raw default cipher / raw aes128-gcm, wall" "$(fmt2 "$(ratio "$(med raw W)" "$(med rawgcm W)")")"
	if [[ -n $alt ]]; then
		add '  %-52s %6s' "dproc ($alt) / faster raw stream, wall" "$(fmt2 "$(ratio "$(med alt W)" "$(med $fast W)")")"
		add '  %-52s %6s' "dproc ($alt) / GNU parallel -S, wall" "$(fmt2 "$(ratio "$(med alt W)" "$(med par W)")")"
	fi

	if ((tune)); then
		echo
		echo "== tune: examples/cluster over ssh, ${size_mib} MiB, one run each; 'slot' = one block per slot"
		insize=$(stat -c %s "$input")
		for s in 1 2 3 4; do
			for b in 4M 8M 16M 32M slot; do
				bb=$b
				[[ $b == slot ]] && bb=$(((insize + 3 * s - 1) / (3 * s)))
				NAME[tune]="-slots $s -block $b" W[tune]= CU[tune]= CS[tune]= NU[tune]= NS[tune]= RSS[tune]=
				measure tune s3 "$work/cluster" -input "$input" -out "$work/out.txt" -nodes node1,node2,node3 \
					-ssh-config "$cfg" -metrics "" -slots "$s" -block "$bb" >"$work/cluster.log" 2>"$work/err.txt"
				same "$work/out.txt" "$input.ref" "dproc -slots $s -block $b"
			done
		done
		rm -f "$work/out.txt"
	fi
	rm -f "$input" "$input.ref"
fi

# ---------------------------------------------------------------- tiny
if want tiny; then
	echo
	echo "== tiny: ${tasks} tasks 'echo N' over 3 sshd nodes, ${rounds} rounds"
	seq "$tasks" >"$work/tiny.ref"
	reset tdproc tpar
	NAME[tdproc]="dproc (bench/tinytasks)" NAME[tpar]="parallel -M -k -j 8 -S"
	for ((i = 1; i <= rounds; i++)); do
		echo "  round $i"
		for c in $(rotate $((i - 1)) tdproc tpar); do
			case $c in
			tdproc) measure tdproc s3 "$work/tinytasks" -nodes node1,node2,node3 -ssh-config "$cfg" -n "$tasks" \
				>"$work/out.txt" 2>"$work/err.txt" ;;
			tpar) measure tpar s3 parallel -M -k -j 8 -S node1,node2,node3 --ssh "ssh -F $cfg" echo \
				<"$work/tiny.ref" >"$work/out.txt" 2>"$work/err.txt" ;;
			esac
			same "$work/out.txt" "$work/tiny.ref" "${NAME[$c]}"
		done
	done
	echo
	add 'tiny, %d tasks echo N over 3 sshd nodes:' "$tasks"
	table tdproc tpar
	goal "GNU parallel -M / dproc, wall (dproc N× faster)" "$(ratio "$(med tpar W)" "$(med tdproc W)")" '>=' 40
fi

# ---------------------------------------------------------------- scale
# check_answers FILE N LABEL: every node1 … nodeN printed uptime's load
# average, df's header and free's Mem: line, as "nodeI: LINE" (dproc exec, pdsh, clush).
check_answers() {
	local got
	got=$(awk -v n="$2" '
		{ i = index($0, ": "); if (!i) next; h = substr($0, 1, i - 1); l = substr($0, i + 2) }
		l ~ /load average/ { la[h] = 1 }
		l ~ /^Filesystem/ { fs[h] = 1 }
		l ~ /^Mem:/ { mem[h] = 1 }
		END { c = 0; for (k = 1; k <= n; k++) if (la["node" k] && fs["node" k] && mem["node" k]) c++; print c }' "$1")
	((got == $2)) || { echo "bench: $3: $got of $2 nodes answered in full ($1)" >&2; exit 1; }
}

if want scale; then
	echo
	echo "== scale: ${scale_nodes} sshd nodes on 127.0.1.1 to 127.0.1.${scale_nodes}, 'uptime && df -h && free -m' on each, ${rounds} rounds"
	echo "starting ${scale_nodes} sshd nodes ..."
	start_nodes s100 "$scale_nodes" -addr-from 127.0.1.1
	scfg=${NODES_CFG[s100]}
	check='uptime && df -h && free -m'
	hosts=$(seq -s, -f 'node%g' "$scale_nodes")
	reset dexec pdsh clush
	NAME[dexec]="dproc exec -f 100" NAME[pdsh]="pdsh -R ssh -f 100" NAME[clush]="clush -f 100"
	for ((i = 1; i <= rounds; i++)); do
		echo "  round $i"
		for c in $(rotate $((i - 1)) dexec pdsh clush); do
			case $c in
			dexec)
				measure dexec s100 "$work/dproc" exec -f 100 -w "node[1-$scale_nodes]" --ssh-config "$scfg" \
					"$check" >"$work/out.txt" 2>"$work/err.txt"
				check_answers "$work/out.txt" "$scale_nodes" "dproc exec" ;;
			pdsh)
				PDSH_SSH_ARGS="-2 -a -x -F $scfg -l%u %h" measure pdsh s100 pdsh -R ssh -f 100 -w "node[1-$scale_nodes]" \
					"$check" >"$work/out.txt" 2>"$work/err.txt"
				check_answers "$work/out.txt" "$scale_nodes" pdsh ;;
			clush)
				measure clush s100 clush -f 100 -o "-F $scfg" -w "node[1-$scale_nodes]" "$check" \
					>"$work/out.txt" 2>"$work/err.txt"
				check_answers "$work/out.txt" "$scale_nodes" clush ;;
			esac
		done
	done
	rm -f "$work/out.txt"
	stop_nodes s100
	echo
	add 'scale, %d sshd nodes (one address each), uptime && df -h && free -m on every node:' "$scale_nodes"
	table dexec pdsh clush
	goal "dproc / pdsh, wall" "$(ratio "$(med dexec W)" "$(med pdsh W)")" '<=' 0.15
	add '  %-52s %6s' "dproc / clush, wall" "$(fmt2 "$(ratio "$(med dexec W)" "$(med clush W)")")"
fi

# ---------------------------------------------------------------- frozen
# speculative FILE: the speculative launches examples/cluster reported, or n/a.
speculative() {
	local n
	n=$(grep -ioE 'speculative[^0-9]*[0-9]+' "$1" | grep -oE '[0-9]+$' | tail -1 || true)
	echo "${n:-n/a}"
}

if want frozen; then
	echo
	echo "== frozen: 3 sshd nodes, ${size_mib} MiB, ${dproc_desc}; node2 frozen ${freeze_after}s into every frozen run, ${rounds} rounds"
	input="$work/frozen.txt"
	make_input "$size_mib" "$input"
	reset undisturbed frozen
	NAME[undisturbed]="dproc, undisturbed" NAME[frozen]="dproc, node2 frozen"
	spec_u=() spec_f=() timed_out=0
	for ((i = 1; i <= rounds; i++)); do
		echo "  round $i"
		for c in $(rotate $((i - 1)) undisturbed frozen); do
			rm -f "$work/out.txt"
			args=("$work/cluster" -input "$input" -out "$work/out.txt" -nodes node1,node2,node3 -ssh-config "$cfg" "${dproc_flags[@]}")
			if [[ $c == undisturbed ]]; then
				measure undisturbed s3 "${args[@]}" >"$work/cluster.log" 2>"$work/err.txt"
				spec_u+=("$(speculative "$work/cluster.log")")
			else
				read -ra a0 <<<"$(node_cpu s3)"
				s=$(now)
				/usr/bin/time -f '%U %S %M' -o "$work/time.txt" "${args[@]}" >"$work/cluster.log" 2>"$work/err.txt" &
				run_pid=$!
				bg_pids+=("$run_pid")
				sleep "$freeze_after"
				kill -0 "$run_pid" 2>/dev/null || echo "    warning: the run ended before node2 froze (input too small for --freeze-after $freeze_after)"
				node_cmd s3 "freeze 2" >/dev/null
				while kill -0 "$run_pid" 2>/dev/null && (($(echo "$(now) - $s < $frozen_timeout" | bc))); do sleep 0.05; done
				to=0
				if kill -0 "$run_pid" 2>/dev/null; then
					to=1 timed_out=1
					kill_tree "$run_pid"
				fi
				rc=0
				wait "$run_pid" || rc=$?
				e=$(now)
				unset 'bg_pids[-1]'
				node_cmd s3 "thaw 2" >/dev/null
				if ((to)); then
					echo "    frozen run timed out after ${frozen_timeout}s; counted as ${frozen_timeout}s"
					e=$(calc "$s + $frozen_timeout")
					echo "0 0 0" >"$work/time.txt"
				elif ((rc)); then
					echo "bench: the frozen run failed (exit $rc):" >&2
					tail -20 "$work/err.txt" >&2
					exit 1
				fi
				record frozen s3 "$s" "$e" "${a0[@]}"
				((to)) || same "$work/out.txt" "$input.ref" "${NAME[frozen]}"
				spec_f+=("$(speculative "$work/cluster.log")")
				continue
			fi
			same "$work/out.txt" "$input.ref" "${NAME[$c]}"
		done
	done
	rm -f "$work/out.txt" "$input" "$input.ref"
	echo
	add 'frozen, %d MiB, 3 sshd nodes, %s, node2 SIGSTOPped %ss into the frozen runs:' "$size_mib" "$dproc_desc" "$freeze_after"
	table undisturbed frozen
	r=$(ratio "$(med frozen W)" "$(med undisturbed W)")
	((timed_out)) && add '  (a frozen run timed out: the ratio is a lower bound)'
	goal "frozen / undisturbed, wall" "$r" '<=' 1.5
	add '  %-52s %s' "speculative launches, undisturbed runs (goal 0)" "${spec_u[*]}"
	add '  %-52s %s' "speculative launches, frozen runs" "${spec_f[*]}"
fi

stop_nodes s3 2>/dev/null || true
echo
echo "== summary"
printf '%s\n' "${machine[@]}" "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" "${summary[@]}"
