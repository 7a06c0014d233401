#!/usr/bin/env bash
# User-space instructions of a dry-run daemon taking N job files in and sending them, counted
# by callgrind: the same to about 0.5 % from run to run however busy the machine is, unlike
# CPU seconds. For comparing two builds of a change that works in user space.
#
#   benches/callgrind-dry-run.sh [BINARY] [N]     (default: target/release/msgspool, 2000)
#
# Needs valgrind and sqlite3. Loops are bounded (start 5 min, sends 10 min).
set -euo pipefail
bin=$(realpath "${1:-target/release/msgspool}")
n=${2:-2000}
work=$(mktemp -d)
trap 'kill -9 "${pid:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/spool" "$work/staging"
for i in $(seq -w 1 "$n"); do
  printf '[[receiver.contacts]]\nidentifierKey = "phonenumber"\nidentifierValue = "+31612345678"\n\n[body]\ntype = "text"\ntext.text = "Hello from a test"\n' \
    >"$work/staging/job-$i.toml"
done
cd "$work"
valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" --dump-instr=no \
  "$bin" run --dry-run --spool ./spool --database ./db.sqlite >/dev/null 2>err &
pid=$!
for _ in $(seq 600); do grep -q "msgspool started" err 2>/dev/null && break; sleep 0.5; done
callgrind_control -z "$pid" >/dev/null 2>&1
mv staging/* spool/
sent=0
for _ in $(seq 1200); do
  sent=$(sqlite3 db.sqlite "SELECT count(*) FROM sends WHERE state = 'sent'" 2>/dev/null || echo 0)
  [ "$sent" = "$n" ] && break
  sleep 0.5
done
callgrind_control -d "$pid" >/dev/null 2>&1
sleep 5
total=$(grep -h '^summary:' "$work"/cg.out* | awk '{s += $2} END {print s}')
echo "callgrind: $sent of $n sends, $total user-space instructions from the first file in, $((total / n)) per send"
