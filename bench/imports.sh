#!/usr/bin/env bash
# What each library the service links costs in resident memory before it
# serves anything: for each package, a program that only imports it (so
# its init functions run) is built with the module's versions, started,
# and its RSS read; "none" is an empty program. The figures overlap (gin,
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
  printf 'package main\n\nimport (\n\t"os"\n\t"time"\n\t%s\n)\n\nfunc main() { os.Stdout.WriteString("up\\n"); time.Sleep(time.Minute) }\n' "$import" >"$dir/main.go"
  go build -o "$dir/prog" "./$dir"
  "$dir/prog" >"$dir/out" &
  pid=$!
  for _ in $(seq 100); do [ -s "$dir/out" ] && break; sleep 0.02; done
  sleep 0.3
  printf '%-50s %6.1f MiB RSS\n' "$pkg" "$(awk '/VmRSS/ {print $2 / 1024}' "/proc/$pid/status")"
  kill "$pid"; wait "$pid" 2>/dev/null || true
  rm -f "$dir/out"
done
