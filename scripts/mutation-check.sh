#!/usr/bin/env bash
# Mutation check of the write path (issue 9): applies, one at a time, single-line mutations of durability-critical
# code, runs the crash suite (test/StatePersistence.CrashTests, stopping at its first failure) on each, and writes
# the table of which test killed which mutant to artifacts/mutation-table.md. A mutant that survives is a hole in
# the proof. Not part of the README's test command: it rebuilds and runs the crash suite once per mutant.
#
#   bash scripts/mutation-check.sh            # every mutant
#   bash scripts/mutation-check.sh 3 7        # only mutants 3 and 7
#
# Each mutation names a file, a line pattern (a substring that must occur), which occurrence of it (1 = first), and
# what replaces the matched substring on that line. The working tree is restored after each mutant, also on Ctrl-C.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p artifacts
table=artifacts/mutation-table.md
mutations=scripts/mutations.tsv

if [ -n "$(git status --porcelain -- src)" ]; then
  echo "src/ has uncommitted changes; commit or stash them first (each mutant is undone with git checkout)." >&2
  exit 2
fi

restore() { git checkout -q -- src; }
trap restore EXIT INT TERM

wanted=" $* "
printf '| # | mutation | killed by | time |\n|---|---|---|---|\n' > "$table"
survivors=0
n=0
while IFS=$'\t' read -r file pattern occurrence replacement description; do
  case "$file" in ''|'#'*) continue ;; esac
  n=$((n + 1))
  if [ $# -gt 0 ] && [[ "$wanted" != *" $n "* ]]; then continue; fi

  if ! python3 - "$file" "$pattern" "$occurrence" "$replacement" <<'PY'
import sys
path, pattern, occurrence, replacement = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
lines = open(path).read().split('\n')
hits = [i for i, line in enumerate(lines) if pattern in line]
if len(hits) < occurrence:
    sys.exit(f"{path}: pattern {pattern!r} occurs {len(hits)} time(s), wanted occurrence {occurrence}")
i = hits[occurrence - 1]
lines[i] = lines[i].replace(pattern, replacement, 1)
open(path, 'w').write('\n'.join(lines))
print(f"  {path}:{i + 1}: {lines[i].strip()}")
PY
  then
    echo "mutant $n ($description): could not be applied; the table marks it" >&2
    printf '| %s | %s | NOT APPLIED (pattern missing) | |\n' "$n" "$description" >> "$table"
    survivors=$((survivors + 1))
    continue
  fi

  echo "mutant $n: $description"
  started=$(date +%s)
  if ! dotnet build test/StatePersistence.CrashTests -c Release -nologo -v quiet > artifacts/mutant-build.log 2>&1; then
    killed="does not compile"
  else
    out=artifacts/mutant-$n.log
    test/StatePersistence.CrashTests/bin/Release/net10.0/StatePersistence.CrashTests -stopOnFail -noColor -noLogo > "$out" 2>&1
    killed=$(grep -m1 -oE '\[FAIL\] [^ ]+' "$out" | sed 's/\[FAIL\] //; s/^StatePersistence\.CrashTests\.//')
  fi
  elapsed=$(( $(date +%s) - started ))
  if [ -z "$killed" ]; then
    killed="SURVIVED"
    survivors=$((survivors + 1))
  fi

  echo "  -> $killed (${elapsed}s)"
  printf '| %s | %s | %s | %ss |\n' "$n" "$description" "$killed" "$elapsed" >> "$table"
  restore
done < "$mutations"

dotnet build test/StatePersistence.CrashTests -c Release -nologo -v quiet > /dev/null 2>&1
cat "$table"
echo "$survivors mutant(s) survived"
[ "$survivors" -eq 0 ]
