#!/usr/bin/env bash
# npm test: runs every test file with uvu (TypeScript through tsx) and fails when any test did not pass.
# uvu exits 0 when a suite's before() hook throws (its tests count but do not pass), so the totals decide.
set -uo pipefail
cd "$(dirname "$0")/.."
pattern="${1:-.*\.test\.ts$}"
dir="${2:-test}"
log=$(mktemp)
node --import tsx scripts/run-tests.mjs "$dir" "$pattern" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
plain=$(sed 's/\x1b\[[0-9;]*m//g' "$log")
rm -f "$log"
total=$(printf '%s\n' "$plain" | awk '/^ *Total:/ {print $2}' | tail -1)
passed=$(printf '%s\n' "$plain" | awk '/^ *Passed:/ {print $2}' | tail -1)
skipped=$(printf '%s\n' "$plain" | awk '/^ *Skipped:/ {print $2}' | tail -1)
total=${total:-0}; passed=${passed:-0}; skipped=${skipped:-0}
# uvu's Total leaves out tests registered with .skip (counted under Skipped only): failures are Total − Passed.
failed=$((total - passed))
[ "$status" -eq 0 ] || [ "$failed" -gt 0 ] || failed=1
# Each failure again (its file, uvu's FAIL block) just above the totals: a CI record that keeps only the
# tail of a long run still names what failed. HAFNIUM_TEST_FAILURES: a file to append them to as well.
failures=$(printf '%s\n' "$plain" | awk '
  /^[^ ].*\.test\.ts$/ { file = $0 }
  /^ +FAIL / { print "-- " file; left = 12 }
  left > 0 { print; left-- }')
if [ -n "$failures" ]; then
  echo
  echo "== failed:"
  printf '%s\n' "$failures"
  [ -z "${HAFNIUM_TEST_FAILURES:-}" ] || printf '%s\n' "$failures" >>"$HAFNIUM_TEST_FAILURES"
fi
echo
echo "$passed passed, $failed failed, $skipped skipped"
[ "$total" -gt 0 ] && [ "$failed" -eq 0 ]
