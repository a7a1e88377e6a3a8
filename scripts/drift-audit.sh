#!/usr/bin/env bash
# Nightly drift audit of one deployed stack (the drift-audit workflow runs it per stack):
#   1. `pulumi stack export` of the stack's state (secrets stay encrypted: nothing is decrypted),
#   2. the APPI policy audit of that state (`npm run audit`) as JSON, SARIF and Markdown,
#   3. the number of mandatory findings published as CloudWatch metric APPI/Compliance
#      PolicyViolations (dimension Stack), which Monitoring alarms on,
#   4. the Markdown report appended to $GITHUB_STEP_SUMMARY.
# Usage: scripts/drift-audit.sh STACK   (writes into $DRIFT_OUT_DIR, default ./drift)
# Exit: 0 no mandatory finding · 1 DRIFT: a mandatory finding on deployed state · 2 usage, or the
#       audit could not read the export · 3 the stack could not be exported · 4 the metric could
#       not be published (when there is no drift; drift wins, so it is never hidden)
set -uo pipefail

usage="usage: scripts/drift-audit.sh STACK"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
stack="${1:-}"
if [ "$stack" = "-h" ] || [ "$stack" = "--help" ]; then echo "$usage"; exit 0; fi
if [[ ! "$stack" =~ ^[A-Za-z0-9._-]+$ ]] || [ $# -ne 1 ]; then
    echo "drift-audit: expected one stack name, got '$*'; ${usage}" >&2
    exit 2
fi
namespace="APPI/Compliance"
metric="PolicyViolations"
out="${DRIFT_OUT_DIR:-drift}"
mkdir -p "$out" || exit 2
out="$(cd "$out" && pwd)"
state="$out/state-$stack.json"

summary() {
    if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then printf '%s\n' "$1" >> "$GITHUB_STEP_SUMMARY"; fi
}
fail() { # status, message
    echo "::error title=drift audit ${stack}::$2"
    summary "### APPI drift audit: ${stack}"$'\n\n'":x: $2"
    exit "$1"
}

if ! pulumi stack export --stack "$stack" --file "$state"; then
    fail 3 "pulumi stack export of ${stack} failed: the deployed state was not audited (check the audit role and the state backend)"
fi

audit() { # format -> stdout; keeps the audit's exit code
    (cd "$root" && npm run --silent audit -- "$state" --format "$1")
}

audit json > "$out/audit-$stack.json"
status=$?
if [ "$status" -ne 0 ] && [ "$status" -ne 1 ]; then
    fail 2 "the APPI audit could not read the export of ${stack} (audit exit ${status})"
fi
# The SARIF names its own code-scanning category (upload-sarif keeps an id the log sets).
APPI_SARIF_CATEGORY="appi-drift-${stack}" audit sarif > "$out/appi-drift-$stack.sarif"
audit markdown > "$out/audit-$stack.md"

# Mandatory findings only: they are what the alarm pages for; advisories stay in the reports.
count="$(node -e '
const report = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const violations = Array.isArray(report.violations) ? report.violations : null;
if (!violations) { console.error("no violations list in the audit JSON"); process.exit(1); }
console.log(violations.filter((v) => v.enforcementLevel === "mandatory").length);
' "$out/audit-$stack.json")" || fail 2 "the APPI audit of ${stack} gave no readable JSON report"
if [ "$status" -eq 1 ] && [ "$count" -eq 0 ]; then count=1; fi # the exit code is the audit's verdict; never publish 0 for a failing audit

summary "### APPI drift audit: ${stack}"
summary "$(cat "$out/audit-$stack.md")"

published=0
if aws cloudwatch put-metric-data --namespace "$namespace" --metric-name "$metric" \
    --dimensions "Stack=$stack" --value "$count" --unit Count; then
    published=1
    echo "published ${namespace} ${metric} Stack=${stack} = ${count}"
else
    echo "::error title=drift audit ${stack}::could not publish ${namespace} ${metric} for ${stack}: the drift alarm has no data for tonight"
fi

if [ "$status" -eq 1 ]; then
    fail 1 "DRIFT: ${count} mandatory APPI finding(s) on the deployed state of ${stack}; see the report above and code scanning (category appi-drift-${stack})"
fi
if [ "$published" -eq 0 ]; then exit 4; fi
echo "drift audit ${stack}: no mandatory finding"
summary ":white_check_mark: no mandatory finding on the deployed state of ${stack}"
exit 0
