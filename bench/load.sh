#!/usr/bin/env bash
# Load test: the service's POST /verify/token (wrong code, skew 1) against a
# constant-answer Gin floor, both built here, run alternately ROUNDS times on
# loopback with the server pinned to CPU 0 and wrk on CPU 1. Prints
# requests/s, p50, p99, CPU per request and peak RSS, each as a ratio of
# the floor's figure from the same round, and the medians of the ratios.
# Needs wrk (apt-get install wrk).
#
#   bench/load.sh                 # guard off, then guard on over 100,000 secrets
#   DURATION=10s ROUNDS=3 bench/load.sh
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
go build -trimpath -o "$out/floor" ./bench/floor

# run NAME DISTINCT CMD...: start the server, load it, print one result line.
run() {
  local name=$1 distinct=$2; shift 2
  "${server_cpu[@]}" "$@" >"$out/$name.log" 2>&1 &
  local pid=$!
  for _ in $(seq 100); do
    curl -s -o /dev/null "http://127.0.0.1:$PORT/verify/token" -X POST -d '{}' && break
    sleep 0.05
  done
  # A short warm-up, then the measured run, with the server's CPU time
  # (user + system ticks) around it: CPU per request is steadier than
  # requests/s on a shared machine.
  DISTINCT=$distinct "${client_cpu[@]}" wrk -t1 -c"$CONNS" -d2s -s bench/verify.lua "http://127.0.0.1:$PORT" >/dev/null
  local t0 t1 rss
  t0=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  DISTINCT=$distinct "${client_cpu[@]}" wrk -t1 -c"$CONNS" -d"$DURATION" --latency -s bench/verify.lua "http://127.0.0.1:$PORT" >"$out/$name.wrk"
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
    END { printf "%s %.0f %.3f %.3f %.1f %d %.2f\n", name, rps, p50, p99, rss/1024, bad+0, ticks / hz * 1e6 / n }' "$out/$name.wrk"
}

results=$out/results.txt
: >"$results"
for round in $(seq "$ROUNDS"); do
  run "floor.$round" 0 "$out/floor" -addr "127.0.0.1:$PORT" >>"$results"
  run "off.$round" 0 env GUARD=off LOG_LEVEL=info "$out/totp" -addr "127.0.0.1:$PORT" >>"$results"
  run "floor2.$round" 100000 "$out/floor" -addr "127.0.0.1:$PORT" >>"$results"
  run "on.$round" 100000 env GUARD=on LOG_LEVEL=info "$out/totp" -addr "127.0.0.1:$PORT" >>"$results"
done

# Each service run is compared with the floor run just before it; the
# median over rounds is the figure to quote, as one round can land on a
# moment when the machine is busy elsewhere.
ratios=$out/ratios.txt
awk -v ratios="$ratios" '
  { split($1, a, "."); kind = a[1]; round = a[2] }
  kind == "floor" || kind == "floor2" { f[round, kind] = $0; next }
  {
    split(f[round, kind == "off" ? "floor" : "floor2"], b, " ")
    if ($6 > 0) bad = " NON-2xx: " $6; else bad = ""
    label = (kind == "off" ? "guard off" : "guard on, 100k secrets")
    printf "%-24s #%d %6.0f req/s (%.2fx)  p50 %5.3f ms (%.2fx)  p99 %5.3f ms (%.2fx)  CPU %5.1f us/req (%.2fx)  RSS %4.1f MiB (floor %4.1f)%s\n",
      label, round, $2, $2 / b[2], $3, $3 / b[3], $4, $4 / b[4], $7, $7 / b[7], $5, b[5], bad
    printf "%s|%.3f|%.3f|%.3f|%.3f|%.1f\n", label, $2 / b[2], $3 / b[3], $4 / b[4], $7 / b[7], $5 > ratios
  }' <(sed 's/ \+/ /g' "$results")

# median COLUMN LABEL: the median of one ratio column over the rounds.
median() {
  grep -F "$2|" "$ratios" | cut -d'|' -f"$1" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
echo "median of $ROUNDS rounds, as ratios of the floor:"
for label in "guard off" "guard on, 100k secrets"; do
  printf "%-24s req/s %.2fx  p50 %.2fx  p99 %.2fx  CPU/req %.2fx  peak RSS %s MiB\n" "$label" \
    "$(median 2 "$label")" "$(median 3 "$label")" "$(median 4 "$label")" "$(median 5 "$label")" \
    "$(cut -d'|' -f1,6 "$ratios" | grep -F "$label|" | cut -d'|' -f2 | sort -n | tail -1)"
done
echo "(raw: $results; wrk output: $out/*.wrk)"

# A run that answered anything but 200, or nothing, measured nothing.
if ! awk '$6 > 0 || $2 == 0 { bad = 1 } END { exit bad }' <(sed 's/ \+/ /g' "$results"); then
  echo "some runs answered errors or nothing: see $out/*.log and $out/*.wrk" >&2
  exit 1
fi
