#!/usr/bin/env bash
# What each library the service links costs before it serves anything: for
# each package, a program that only imports it (so its init functions run)
# is built with the module's versions, started, and its RSS read, with the
# live heap its init left (what every collection must mark again); "none"
# is an empty program. The figures overlap (gin,
# prometheus and phonenumbers share protobuf), so they do not add up.
#
#   bench/imports.sh
set -euo pipefail
cd "$(dirname "$0")/.."
dir=bench/out/_imports # "_": no part of ./...
mkdir -p "$dir"
for pkg in none github.com/gin-gonic/gin github.com/swaggo/gin-swagger github.com/swaggo/swag \
  github.com/nyaruka/phonenumbers github.com/prometheus/client_golang/prometheus \
  github.com/redis/go-redis/v9 go.opentelemetry.io/otel/sdk/trace github.com/wneessen/go-mail \
  github.com/acme/totp/handlers; do
  import=""
  [ "$pkg" = none ] || import="_ \"$pkg\""
  printf 'package main\n\nimport (\n\t"fmt"\n\t"runtime"\n\t"time"\n\t%s\n)\n\nfunc main() {\n\truntime.GC()\n\tvar m runtime.MemStats\n\truntime.ReadMemStats(&m)\n\tfmt.Printf("%%.2f\\n", float64(m.HeapAlloc)/(1<<20))\n\ttime.Sleep(time.Minute)\n}\n' "$import" >"$dir/main.go"
  go build -o "$dir/prog" "./$dir"
  "$dir/prog" >"$dir/out" &
  pid=$!
  for _ in $(seq 100); do [ -s "$dir/out" ] && break; sleep 0.02; done
  sleep 0.3
  printf '%-50s %6.1f MiB RSS %6.2f MiB live heap\n' "$pkg" "$(awk '/VmRSS/ {print $2 / 1024}' "/proc/$pid/status")" "$(cat "$dir/out")"
  kill "$pid"; wait "$pid" 2>/dev/null || true
  rm -f "$dir/out"
done
