#!/usr/bin/env bash
# Load test of POST /verify/token (wrong code, skew 1, 100,000 distinct
# secrets so none is throttled) on the service as `go run .` starts it
# (guard on in memory, access lines and metrics on), against three references
# built here from bench/reference: a bare Gin endpoint (ShouldBindJSON into
# a struct, c.JSON of a struct), the same endpoint calling pquerna's
# totp.ValidateCustom, and that one built with -tags libs, which links every
# library the service links and runs their init but calls none of them
# (what linking them costs, apart from what the service's code does). The
# four run in turn, ROUNDS times, on loopback with
# the server pinned to CPU 0 and wrk (-t1 -c32, keep-alive) to CPU 1. Each
# of the service's figures is printed as a ratio of each reference's from
# the same round, then the median of each ratio over the rounds.
# Needs wrk (apt-get install wrk).
#
#   bench/load.sh
#   DURATION=10s ROUNDS=3 bench/load.sh
#   SERVICE_ENV="LOG_LEVEL=warn GUARD=off" bench/load.sh   # what a setting costs
#   BASELINE=../other-checkout bench/load.sh   # a further reference: the service built from another tree
#   VARIANTS='headers:-headers;records:-records 100000' bench/load.sh
#       # more references: the pquerna one with flags, NAME:FLAGS each;
#       # FLAGS starting with the word libs run the libs build
#   VARIANTS='all:libs -headers -timeouts -records 100000' bench/load.sh
#       # the libraries and the promises together: what is left is the
#       # service's own code
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-5s}
ROUNDS=${ROUNDS:-5}
CONNS=${CONNS:-32}
PORT=${PORT:-18181}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
server_cpu=() client_cpu=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
  server_cpu=(taskset -c 0) client_cpu=(taskset -c 1)
fi

out=bench/out
mkdir -p "$out"
go build -trimpath -o "$out/totp" .
go build -trimpath -o "$out/reference" ./bench/reference
go build -trimpath -tags libs -o "$out/reference-libs" ./bench/reference
refs="gin pquerna libs"
IFS=';' read -ra variants <<<"${VARIANTS:-}"
for v in "${variants[@]}"; do
  refs="$refs ${v%%:*}"
done
if [ -n "${BASELINE:-}" ]; then
  (cd "$BASELINE" && go build -trimpath -o "$OLDPWD/$out/baseline" .)
  refs="$refs baseline"
fi

# run NAME CMD...: start the server, load it, print one result line:
# name, requests/s, p50 ms, p99 ms, peak RSS MiB, non-2xx, CPU us/request.
run() {
  local name=$1; shift
  "${server_cpu[@]}" "$@" >"$out/$name.log" 2>&1 &
  local pid=$!
  for _ in $(seq 100); do
    curl -s -o /dev/null "http://127.0.0.1:$PORT/verify/token" -X POST -d '{}' && break
    sleep 0.05
  done
  # A short warm-up, then the measured run, with the server's CPU time
  # (user + system ticks) around it: CPU per request is steadier than
  # requests/s on a shared machine.
  "${client_cpu[@]}" wrk -t1 -c"$CONNS" -d1s -s bench/verify.lua "http://127.0.0.1:$PORT" >/dev/null
  local t0 t1 rss
  t0=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  "${client_cpu[@]}" wrk -t1 -c"$CONNS" -d"$DURATION" --latency -s bench/verify.lua "http://127.0.0.1:$PORT" >"$out/$name.wrk"
  t1=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  rss=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
  kill "$pid"; wait "$pid" 2>/dev/null || true
  awk -v name="$name" -v rss="$rss" -v ticks=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" '
    function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
    /requests in/ { n = $1 }
    /Requests\/sec/ { rps = $2 }
    $1 == "50%" { p50 = ms($2) }
    $1 == "99%" { p99 = ms($2) }
    /Non-2xx/ { bad = $NF }
    END { printf "%s %.0f %.3f %.3f %.1f %d %.2f\n", name, rps, p50, p99, rss/1024, bad+0, (n ? ticks / hz * 1e6 / n : 0) }' "$out/$name.wrk"
}

results=$out/results.txt
: >"$results"
for round in $(seq "$ROUNDS"); do
  run "gin.$round" "$out/reference" -addr "127.0.0.1:$PORT" >>"$results"
  run "pquerna.$round" "$out/reference" -validate -addr "127.0.0.1:$PORT" >>"$results"
  run "libs.$round" "$out/reference-libs" -validate -addr "127.0.0.1:$PORT" >>"$results"
  for v in "${variants[@]}"; do
    flags=${v#*:} bin=$out/reference
    if [ "${flags%% *}" = libs ]; then
      flags=${flags#libs} bin=$out/reference-libs
    fi
    # shellcheck disable=SC2086 # a variant's flags are a list of words
    run "${v%%:*}.$round" "$bin" -validate $flags -addr "127.0.0.1:$PORT" >>"$results"
  done
  # shellcheck disable=SC2086 # SERVICE_ENV is a list of NAME=VALUE words
  run "service.$round" env ${SERVICE_ENV:-} "$out/totp" -addr "127.0.0.1:$PORT" >>"$results"
  if [ -n "${BASELINE:-}" ]; then
    # shellcheck disable=SC2086
    run "baseline.$round" env ${SERVICE_ENV:-} "$out/baseline" -addr "127.0.0.1:$PORT" >>"$results"
  fi
done

# Each service run is compared with the reference runs of its round.
ratios=$out/ratios.txt
awk -v ratios="$ratios" -v refs="$refs" '
  { split($1, a, "."); kind = a[1]; round = a[2]; line[round, kind] = $0 }
  END {
    for (round = 1; (round, "service") in line; round++) {
      split(line[round, "service"], s, " ")
      printf "round %d  service %6.0f req/s  p50 %5.3f ms  p99 %5.3f ms  CPU %5.1f us/req  RSS %5.1f MiB\n", round, s[2], s[3], s[4], s[7], s[5]
      nrefs = split(refs, names, " ")
      for (k = 1; k <= nrefs; k++) {
        ref = names[k]
        split(line[round, ref], b, " ")
        printf "         %-8s %6.0f req/s  p50 %5.3f ms  p99 %5.3f ms  CPU %5.1f us/req  RSS %5.1f MiB  -> service %.2fx req/s, %.2fx p99\n", ref, b[2], b[3], b[4], b[7], b[5], s[2] / b[2], s[4] / b[4]
        printf "%s|%.3f|%.3f|%.3f|%.3f|%.1f\n", ref, s[2] / b[2], s[3] / b[3], s[4] / b[4], s[7] / b[7], s[5] > ratios
        if (ref != "gin" && ref != "pquerna") {
          # What the additions of a further reference cost it, against pquerna.
          split(line[round, "pquerna"], p, " ")
          printf "+%s|%.3f|%.3f|%.3f|%.3f|%.1f\n", ref, b[2] / p[2], b[3] / p[3], b[4] / p[4], b[7] / p[7], b[5] > ratios
        }
      }
    }
  }' <(sed 's/ \+/ /g' "$results")

# median COLUMN REF: the median of one ratio column over the rounds.
median() {
  grep "^$2|" "$ratios" | cut -d'|' -f"$1" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
echo "service as ratios of each reference, median of $ROUNDS rounds:"
for ref in $refs; do
  printf "vs %-8s req/s %.2fx  p50 %.2fx  p99 %.2fx  CPU/req %.2fx\n" "$ref" \
    "$(median 2 "$ref")" "$(median 3 "$ref")" "$(median 4 "$ref")" "$(median 5 "$ref")"
done
echo "each further reference as ratios of pquerna, median of $ROUNDS rounds:"
for ref in $refs; do
  [ "$ref" = gin ] || [ "$ref" = pquerna ] && continue
  printf "%-11s req/s %.2fx  p50 %.2fx  p99 %.2fx  CPU/req %.2fx\n" "$ref" \
    "$(median 2 "+$ref")" "$(median 3 "+$ref")" "$(median 4 "+$ref")" "$(median 5 "+$ref")"
done
printf "peak RSS:"
for name in service $refs; do
  printf " %s %s MiB" "$name" "$(grep "^$name\." "$results" | awk '{print $5}' | sort -n | tail -1)"
done
echo
echo "(raw: $results; wrk output: $out/*.wrk; the service's log: $out/service.*.log)"

# A run that answered anything but 200, or nothing, measured nothing.
if ! awk '$6 > 0 || $2 == 0 { bad = 1 } END { exit bad }' <(sed 's/ \+/ /g' "$results"); then
  echo "some runs answered errors or nothing: see $out/*.log and $out/*.wrk" >&2
  exit 1
fi
