#!/usr/bin/env bash
# lwt-rs against tokio on the BENCH.md workloads; prints a Markdown table on stdout
# (progress goes to stderr).
#
#   benches/compare.sh                      every workload at the BENCH.md reference sizes
#   benches/compare.sh stream echo          those workloads at their reference sizes
#   benches/compare.sh stream:1000000 echo:5,200    explicit sizes (N or N,M)
#
# Environment:
#   REPS=3          runs per workload and side (fresh processes; median and spread reported)
#   SIZES=small     use the small preset instead of the reference sizes (a quick smoke check)
#   TIMEOUT=900     seconds before one run is stopped (shown as "timeout")
#   LWT_BIN=path    use this program as the lwt-rs side instead of building `bench`
#   TOKIO_BIN=path  use this program as the other side instead of building `bench-tokio`
#                   (any program that follows the BENCH.md contract will do)
set -u -o pipefail

REPS=${REPS:-3}
SIZES=${SIZES:-reference}
TIMEOUT=${TIMEOUT:-900}

die() { echo "compare.sh: $*" >&2; exit 1; }
note() { echo "$*" >&2; }

case "$REPS" in '' | *[!0-9]* | 0) die "REPS must be a positive integer (got '$REPS')" ;; esac
case "$TIMEOUT" in '' | *[!0-9]* | 0) die "TIMEOUT must be a positive integer (got '$TIMEOUT')" ;; esac

# GNU time gives the wall seconds and the peak RSS of each run.
if [ ! -x /usr/bin/time ]; then
    die "/usr/bin/time is missing: install GNU time first (apt-get install time)"
fi
if ! /usr/bin/time -f "%e %M" -o /dev/null true 2>/dev/null; then
    die "/usr/bin/time is not GNU time (it must accept -f \"%e %M\" -o FILE): apt-get install time"
fi
command -v timeout >/dev/null || die "'timeout' (coreutils) is missing"

root=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}

# --- the workloads -------------------------------------------------------------------

reference_sizes="
bind_resolved 100000000
bind_pending 10000 300
bind_pending 10000000 1
pause_loop 5000000
many_sleeps 100000
many_sleeps 1000000
spawn_join 1000000
mutex_pingpong 5000000
stream 20000000
echo 50 2000
echo 1 20000
pipe_throughput 4000000000
lines 10000000
echo_raw 50 2000
echo_raw 1 20000
echo_mio 50 2000
echo_mio 1 20000
react_diamond 20000000
react_diamond_plain 20000000
"

small_sizes="
bind_resolved 1000000
bind_pending 1000 30
bind_pending 50000 1
pause_loop 50000
many_sleeps 1000
many_sleeps 10000
spawn_join 10000
mutex_pingpong 50000
stream 200000
echo 5 200
echo 1 2000
pipe_throughput 40000000
lines 100000
echo_raw 5 200
echo_raw 1 2000
echo_mio 5 200
echo_mio 1 2000
react_diamond 10000
react_diamond_plain 10000
"

all_workloads="bind_resolved bind_pending pause_loop many_sleeps spawn_join mutex_pingpong stream echo pipe_throughput lines echo_raw echo_mio react_diamond react_diamond_plain"

# Variants of a BENCH.md workload that only the lwt-rs side has (see README.md):
# the other side runs the workload they vary, with the same arguments and checksum.
twin() {
    case "$1" in
        echo_raw | echo_mio) echo echo ;;
        *) echo "$1" ;;
    esac
}

case "$SIZES" in
    reference) sizes=$reference_sizes ;;
    small) sizes=$small_sizes ;;
    *) die "SIZES must be 'reference' or 'small' (got '$SIZES')" ;;
esac

is_workload() { case " $all_workloads " in *" $1 "*) return 0 ;; esac; return 1; }
is_number() { case "$1" in '' | *[!0-9]*) return 1 ;; esac; return 0; }

# The runs to do, one "WORKLOAD N [M]" per line.
plan=""
if [ $# -eq 0 ]; then
    plan=$sizes
else
    for spec in "$@"; do
        name=${spec%%:*}
        is_workload "$name" || die "unknown workload '$name' (known: $all_workloads)"
        if [ "$name" = "$spec" ]; then
            plan+=$(printf '%s\n' "$sizes" | awk -v w="$name" '$1 == w')$'\n'
        else
            nm=${spec#*:}
            n=${nm%%,*}
            m=""
            [ "$n" != "$nm" ] && m=${nm#*,}
            is_number "$n" || die "bad N in '$spec'"
            [ -z "$m" ] || is_number "$m" || die "bad M in '$spec'"
            plan+="$name $n${m:+ $m}"$'\n'
        fi
    done
fi

# What one operation is, for the ns/op columns.
ops() { # WORKLOAD N M
    case "$(twin "$1")" in
        bind_pending | echo) echo $(($2 * $3)) ;;
        pipe_throughput) echo $((($2 + 65535) / 65536)) ;;
        *) echo "$2" ;;
    esac
}

# The checksum BENCH.md defines, computed here to check both sides.
expected() { # WORKLOAD N M
    local w n=$2 m=$3
    w=$(twin "$1")
    case "$w" in
        bind_resolved | many_sleeps | spawn_join) echo $((n * (n - 1) / 2)) ;;
        bind_pending) echo $((m * (m + 1) / 2 + m * n)) ;;
        pause_loop | pipe_throughput) echo "$n" ;;
        mutex_pingpong) echo $((n + n / 2)) ;;
        stream) echo $((n * (n + 1) / 2)) ;;
        react_diamond | react_diamond_plain) echo $((55 * n * (n + 1) / 2)) ;;
        echo)
            local c s=0
            for ((c = 0; c < n; c++)); do s=$((s + m * (65 + c % 26))); done
            echo "$s"
            ;;
        lines) # sum over i < n of len("line <i>") = 5 + digits(i)
            local s=0 lo=0 hi=10 d=1 k
            while ((lo < n)); do
                k=$(((hi < n ? hi : n) - lo))
                s=$((s + k * (5 + d)))
                lo=$hi
                hi=$((hi * 10))
                d=$((d + 1))
            done
            echo "$s"
            ;;
    esac
}

# --- building --------------------------------------------------------------------------

build() { # BIN -> prints the path, or nothing if the build failed
    note "building $1 (release)..."
    if (cd "$root" && cargo build --release --quiet -p lwt-bench --bin "$1") >&2; then
        echo "$target/release/$1"
    else
        note "WARNING: building $1 failed; its side shows as \"no build\""
    fi
}

lwt_bin=${LWT_BIN:-$(build bench)}
tokio_bin=${TOKIO_BIN:-$(build bench-tokio)}

# --- running ---------------------------------------------------------------------------

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# One fresh process. Sets r_status (ok / missing / crash / timeout), r_secs, r_rss (KB),
# r_sum (checksum) and r_why (what went wrong).
run_one() { # BIN WORKLOAD N [M]
    local bin=$1
    shift
    local shown=$2${3:+,$3} rc line
    r_secs="" r_rss="" r_sum="" r_why=""
    timeout -k 10 "$TIMEOUT" /usr/bin/time -f "%e %M" -o "$tmp/time" "$bin" "$@" </dev/null >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [ $rc -eq 2 ] && [ ! -s "$tmp/out" ]; then
        r_status=missing
        return
    fi
    if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
        r_status=timeout
        r_why="stopped after ${TIMEOUT}s"
        return
    fi
    if [ $rc -ne 0 ]; then
        r_status=crash
        if grep -q "terminated by signal" "$tmp/time"; then
            r_why="signal $(sed -n 's/.*terminated by signal \([0-9]*\).*/\1/p' "$tmp/time" | head -1)"
        else
            r_why="exit $rc"
        fi
        local last
        last=$(grep -v '^[[:space:]]*$' "$tmp/err" | tail -1 | cut -c1-120)
        [ -n "$last" ] && r_why+=": $last"
        return
    fi
    line=$(cat "$tmp/out")
    if ! [[ $line =~ ^$1\ args=$shown\ checksum=([0-9]+)\ secs=([0-9]+\.[0-9]{6})$ ]]; then
        r_status=crash
        r_why="bad output line: $(head -c 120 "$tmp/out")"
        return
    fi
    r_sum=${BASH_REMATCH[1]}
    r_secs=${BASH_REMATCH[2]}
    r_rss=$(tail -1 "$tmp/time" | awk '{print $2}')
    r_status=ok
}

# Median and spread of a list of numbers: prints "median halfrange%".
stats() {
    printf '%s\n' "$@" | sort -g | awk '
        { v[NR] = $1 }
        END {
            med = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
            spread = (med > 0) ? (v[NR] - v[1]) / 2 / med * 100 : 0
            printf "%.9g %.1f\n", med, spread
        }'
}

fmt_secs() { awk -v s="$1" 'BEGIN {
    if (s < 0.01) printf "%.6f", s; else if (s < 1) printf "%.4f", s; else printf "%.3f", s }'; }
fmt_ns() { awk -v s="$1" -v n="$2" 'BEGIN {
    if (n == 0) { printf "–"; exit }
    x = s * 1e9 / n; if (x < 10) printf "%.2f", x; else if (x < 1000) printf "%.1f", x; else printf "%.0f", x }'; }

rows=""
warnings=""
notes=""
# lwt-rs medians of the two react workloads, by N: they are compared with each other
# (reactive signals against the same computation wired with plain callbacks), not with tokio.
declare -A react_med=()

while read -r w n m; do
    [ -z "${w:-}" ] && continue
    shown=$n${m:+,$m}
    mm=${m:-1}
    nops=$(ops "$w" "$n" "$mm")
    want=$(expected "$w" "$n" "$mm")

    declare -A status=() why=() secs=() rss=() sums=()
    for side in lwt tokio; do
        status[$side]=pending secs[$side]="" rss[$side]="" sums[$side]="" why[$side]=""
    done
    [ -z "$lwt_bin" ] && status[lwt]=nobuild
    [ -z "$tokio_bin" ] && status[tokio]=nobuild

    # Interleave the sides run by run so that drift on a shared machine hits both alike.
    for ((rep = 1; rep <= REPS; rep++)); do
        for side in lwt tokio; do
            case "${status[$side]}" in pending | ok) ;; *) continue ;; esac
            bin=$lwt_bin sw=$w
            [ $side = tokio ] && bin=$tokio_bin sw=$(twin "$w")
            note "running $sw $n${m:+ $m}  [$side $rep/$REPS]"
            run_one "$bin" "$sw" "$n" ${m:+"$m"}
            status[$side]=$r_status
            why[$side]=$r_why
            if [ "$r_status" = ok ]; then
                secs[$side]+="$r_secs "
                rss[$side]+="$r_rss "
                case " ${sums[$side]} " in *" $r_sum "*) ;; *) sums[$side]+="$r_sum " ;; esac
            fi
        done
    done

    declare -A cell_secs=() cell_ns=() cell_rss=() med=()
    for side in lwt tokio; do
        case "${status[$side]}" in
            ok)
                read -r md sp < <(stats ${secs[$side]})
                read -r rmd _ < <(stats ${rss[$side]})
                med[$side]=$md
                cell_secs[$side]="$(fmt_secs "$md") ±${sp}%"
                cell_ns[$side]=$(fmt_ns "$md" "$nops")
                cell_rss[$side]=$(awk -v k="$rmd" 'BEGIN { printf "%.1f", k / 1024 }')
                ;;
            nobuild) cell_secs[$side]="no build" cell_ns[$side]="–" cell_rss[$side]="–" ;;
            *)
                cell_secs[$side]=${status[$side]} cell_ns[$side]="–" cell_rss[$side]="–"
                [ -n "${why[$side]}" ] && notes+="- $w $shown, ${side/lwt/lwt-rs}: ${status[$side]} (${why[$side]})"$'\n'
                ;;
        esac
    done

    case "$w" in react_diamond | react_diamond_plain)
        [ "${status[lwt]}" = ok ] && react_med["$w $shown"]=${med[lwt]} ;;
    esac

    ratio="–"
    if [ "${status[lwt]}" = ok ] && [ "${status[tokio]}" = ok ]; then
        ratio=$(awk -v t="${med[tokio]}" -v l="${med[lwt]}" 'BEGIN { if (l > 0) printf "%.2f", t / l; else printf "–" }')
    fi

    # Checksums: each side must be stable across runs, agree with the other, and match BENCH.md.
    ls=${sums[lwt]% } ts=${sums[tokio]% }
    if [ -n "$ls" ] && [ -n "$ts" ]; then
        if [ "$ls" = "$ts" ] && [ "$ls" = "$want" ]; then
            check="ok"
        else
            check="**MISMATCH**"
            warnings+="WARNING: checksum mismatch for $w $shown: lwt-rs=$ls tokio=$ts (BENCH.md: $want)"$'\n'
        fi
    elif [ -n "$ls$ts" ]; then
        one=$ls$ts
        if [ "$one" = "$want" ]; then
            check="ok (one side)"
        else
            check="**WRONG**"
            warnings+="WARNING: wrong checksum for $w $shown: got $one (BENCH.md: $want)"$'\n'
        fi
    else
        check="–"
    fi

    rows+="| $w | $shown | ${cell_secs[lwt]} | ${cell_secs[tokio]} | $ratio | ${cell_ns[lwt]} | ${cell_ns[tokio]} | ${cell_rss[lwt]} | ${cell_rss[tokio]} | $check |"$'\n'
    unset status why secs rss sums cell_secs cell_ns cell_rss med
done <<<"$plan"

# --- the table -------------------------------------------------------------------------

rev=$(cd "$root" && git rev-parse --short HEAD 2>/dev/null || echo "?")
echo "lwt-rs vs tokio (current_thread + LocalSet) — $(date -u '+%Y-%m-%d %H:%M UTC'), commit $rev, $(nproc) cores, $(rustc --version 2>/dev/null | awk '{print $1, $2}'), $REPS runs each"
echo
echo "| workload | args | lwt-rs secs (median ±spread) | tokio secs (median ±spread) | tokio/lwt-rs (>1: lwt-rs faster) | lwt-rs ns/op | tokio ns/op | lwt-rs peak RSS MB | tokio peak RSS MB | checksum |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---|"
printf '%s' "$rows"
echo
echo "secs: in-process time (runtime set-up included), median of the runs ± half their range as % of the median."
echo "op: one bind (bind_resolved, bind_pending: D×R), pause, sleeper, task, turn, item, round trip (echo: C×M), 64 KiB chunk (pipe_throughput), line, source update (react_diamond)."
for key in "${!react_med[@]}"; do
    case "$key" in react_diamond\ *)
        args=${key#react_diamond }
        plain=${react_med["react_diamond_plain $args"]:-}
        [ -n "$plain" ] && awk -v r="${react_med[$key]}" -v p="$plain" -v a="$args" 'BEGIN {
            printf "\nreact_diamond %s: lwt::react takes %.1fx the time of the same computation with plain callbacks (react_diamond_plain).\n", a, r / p }'
        ;;
    esac
done
if [ -n "$notes" ]; then
    echo
    printf '%s' "$notes"
fi
if [ -n "$warnings" ]; then
    echo
    printf '%s' "$warnings"
    printf '%s' "$warnings" >&2
fi
