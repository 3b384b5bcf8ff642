#!/usr/bin/env bash
# The first /health with details after a start (README, "Health and metrics"): starts the Release server on a state
# directory, waits until its port accepts a connection (no request, so no check is made before the timed one), waits
# DELAY seconds (0.3 unless given), then times one GET /health with the API key, and a second one.
#
#     dotnet run -c Release --project bench/StateFill -- /tmp/fill100k 100000
#     dotnet build -c Release src/StatePersistence.Server
#     bash bench/first-health.sh /tmp/fill100k [SERVER_DLL]
set -euo pipefail
directory=${1:?usage: first-health.sh STATE_DIRECTORY [SERVER_DLL]}
server=${2:-src/StatePersistence.Server/bin/Release/net10.0/StatePersistence.Server.dll}
port=${PORT:-5291}
key=first-health-bench-key-0123456789abcdef
STATE_API_KEY=$key StatePersistence__StatePath=$directory dotnet "$server" --urls "http://127.0.0.1:$port" > /dev/null 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do sleep 0.05; done
sleep "${DELAY:-0.3}"
first=$(curl -s -o /dev/null -w "%{time_total}" -H "Authorization: Bearer $key" "http://127.0.0.1:$port/health")
next=$(curl -s -o /dev/null -w "%{time_total}" -H "Authorization: Bearer $key" "http://127.0.0.1:$port/health")
echo "first /health ${first} s, the next ${next} s (${DELAY:-0.3} s after the port opened)"
