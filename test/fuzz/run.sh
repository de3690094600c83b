#!/usr/bin/env bash
# Runs every fuzz target of the module (or those whose "package target" matches FUZZONLY, a
# regular expression) for FUZZTIME each, FUZZJOBS targets at a time, each with FUZZPARALLEL
# fuzzing workers (default: the CPUs shared among the jobs), and appends one line per target to
# FUZZLOG:
#   <date> <package> <target> time=<fuzztime> workers=<n> elapsed=<s> execs=<n> corpus=<n> result=<PASS|FAIL>
# A failing input is written by go test to the package's testdata/fuzz/<target>/; each target's
# whole output is kept in FUZZOUT/<package>-<target>.log. With FUZZKEEP=1 the corpus a target
# has built up (in go's cache) is copied into its testdata/fuzz/<target>/ as well, so that every
# plain `go test` runs it as seeds. Exits non-zero when any target failed.
set -euo pipefail
FUZZTIME=${FUZZTIME:-10s}
FUZZJOBS=${FUZZJOBS:-1}
FUZZPARALLEL=${FUZZPARALLEL:-$(( $(nproc) / FUZZJOBS > 0 ? $(nproc) / FUZZJOBS : 1 ))}
FUZZLOG=${FUZZLOG:-fuzz-results.txt}
FUZZOUT=${FUZZOUT:-$(mktemp -d)}
FUZZONLY=${FUZZONLY:-.}
FUZZKEEP=${FUZZKEEP:-0}
GO=${GO:-go}
FUZZLOG=$(realpath -m "$FUZZLOG")
GOCACHE_DIR=$($GO env GOCACHE)

cd "$(dirname "$0")/../.."
targets=()
for pkg in $($GO list ./...); do
  for f in $($GO test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
    if [[ "$pkg $f" =~ $FUZZONLY ]]; then targets+=("$pkg $f"); fi
  done
done
echo "fuzzing ${#targets[@]} targets for $FUZZTIME each, $FUZZJOBS at a time, $FUZZPARALLEL workers each; logs in $FUZZOUT"

one() {
  local pkg=$1 f=$2 log rc=0 last elapsed execs corpus result=PASS
  log="$FUZZOUT/$(basename "$pkg")-$f.log"
  $GO test -run '^$' -fuzz "^$f\$" -fuzztime "$FUZZTIME" -parallel "$FUZZPARALLEL" "$pkg" >"$log" 2>&1 || rc=$?
  last=$(grep -E '^fuzz: elapsed' "$log" | tail -1 || true)
  elapsed=$(sed -E 's/.*elapsed: ([^,]+),.*/\1/' <<<"$last")
  execs=$(sed -E 's/.*execs: ([0-9]+).*/\1/' <<<"$last")
  corpus=$(sed -E 's/.*total: ([0-9]+)\).*/\1/' <<<"$last")
  [[ $rc -eq 0 ]] || result=FAIL
  local cached="$GOCACHE_DIR/fuzz/$pkg/$f" keep
  if [[ $FUZZKEEP == 1 && -d "$cached" ]]; then
    keep="$($GO list -f '{{.Dir}}' "$pkg")/testdata/fuzz/$f"
    mkdir -p "$keep" && cp -n "$cached"/* "$keep/"
  fi
  printf '%s %s %s time=%s workers=%s elapsed=%s execs=%s corpus=%s result=%s\n' \
    "$(date -u +%FT%TZ)" "$pkg" "$f" "$FUZZTIME" "$FUZZPARALLEL" "${elapsed:-?}" "${execs:-?}" "${corpus:-?}" "$result" | tee -a "$FUZZLOG"
  return $rc
}
export -f one
export GO FUZZTIME FUZZPARALLEL FUZZLOG FUZZOUT FUZZKEEP GOCACHE_DIR
((${#targets[@]} > 0)) || { echo "no fuzz target matches $FUZZONLY" >&2; exit 1; }
printf '%s\n' "${targets[@]}" | xargs -r -P "$FUZZJOBS" -L 1 bash -c 'one $0 $1'
