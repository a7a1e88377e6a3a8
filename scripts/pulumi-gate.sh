#!/usr/bin/env bash
# The deploy gate: `pulumi preview` or `pulumi up` of one stack with the APPI policy pack, run by CI
# and by people. Usage: scripts/pulumi-gate.sh preview|up STACK [more pulumi flags...]
#
# It refuses a Pulumi CLI other than the one pinned in .pulumi.version (the exit codes below are the
# CLI's documented mapping since v3.226.1; older CLIs exit 255 for every failure), runs the command,
# writes a one-line verdict (and a Markdown line to $GITHUB_STEP_SUMMARY in GitHub Actions), and
# exits with the CLI's own code, so a caller can tell a policy block from an outage:
#   0 passed · 1 generic error · 2 configuration or usage · 3 not authenticated / not authorised ·
#   4 a resource operation failed · 5 blocked by a mandatory policy · 6 stack not found ·
#   7 --expect-no-changes saw changes · 8 cancelled
set -uo pipefail

usage="usage: scripts/pulumi-gate.sh preview|up STACK [pulumi flags...]"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
command="${1:-}"
stack="${2:-}"
case "$command" in
    preview|up) ;;
    -h|--help) echo "$usage"; exit 0 ;;
    *) echo "pulumi-gate: first argument must be preview or up, got '${command}'; ${usage}" >&2; exit 2 ;;
esac
if [[ ! "$stack" =~ ^[A-Za-z0-9._/-]+$ ]]; then
    echo "pulumi-gate: missing or malformed stack name '${stack}'; ${usage}" >&2
    exit 2
fi
shift 2

summary() {
    # Markdown for the job summary when running in GitHub Actions; nothing otherwise.
    if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then printf '%s\n' "$1" >> "$GITHUB_STEP_SUMMARY"; fi
}

if ! command -v pulumi > /dev/null 2>&1; then
    echo "pulumi-gate: the pulumi CLI is not on PATH; install version $(cat "$root/.pulumi.version" 2>/dev/null) (pulumi/actions reads .pulumi.version)" >&2
    exit 2
fi
pinned="$(tr -d ' \r\n' < "$root/.pulumi.version" 2>/dev/null || true)"
if [[ ! "$pinned" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
    echo "pulumi-gate: .pulumi.version must hold one version like 3.248.0, got '${pinned}'" >&2
    exit 2
fi
installed="$(pulumi version 2>/dev/null | tr -d ' \r\n')"
installed="${installed#v}"
if [ "$installed" != "$pinned" ]; then
    echo "pulumi-gate: pulumi CLI ${installed:-unknown} is installed but .pulumi.version pins ${pinned}; install ${pinned} (the exit codes this gate reports are that version's)" >&2
    exit 2
fi

args=("$command" --stack "$stack" --policy-pack "$root/policies" --non-interactive --diff)
if [ "$command" = "up" ]; then args+=(--yes); fi
# The same pack config and exceptions files as npm start / check / audit: APPI_POLICY_CONFIG and
# APPI_EXCEPTIONS (paths) become the CrossGuard --policy-pack-config (each exception in its policy's config).
if [ -n "${APPI_POLICY_CONFIG:-}" ] || [ -n "${APPI_EXCEPTIONS:-}" ]; then
    pack_config="$(mktemp "${TMPDIR:-/tmp}/appi-policy-pack-config.XXXXXX")"
    trap 'rm -f "$pack_config"' EXIT
    generator=(npx --prefix "$root" ts-node --transpile-only "$root/policies/runners/crossguard-config.ts")
    if [ -n "${APPI_POLICY_CONFIG:-}" ]; then generator+=(--config "$APPI_POLICY_CONFIG"); fi
    if [ -n "${APPI_EXCEPTIONS:-}" ]; then generator+=(--exceptions "$APPI_EXCEPTIONS"); fi
    if ! (cd "$root" && "${generator[@]}") > "$pack_config"; then
        echo "pulumi-gate: the policy pack config could not be generated (see above): fix APPI_POLICY_CONFIG / APPI_EXCEPTIONS" >&2
        exit 2
    fi
    args+=(--policy-pack-config "$pack_config")
fi
args+=("$@")

echo "pulumi ${args[*]}"
pulumi "${args[@]}"
status=$?

case "$status" in
    0) verdict="passed: no mandatory APPI policy violation" ;;
    5) verdict="BLOCKED by a mandatory APPI policy (pulumi exit 5): fix the findings above, or record an approved exception" ;;
    1) verdict="failed with a generic error (pulumi exit 1)" ;;
    2) verdict="failed: configuration or usage error (pulumi exit 2)" ;;
    3) verdict="failed: not authenticated or not authorised (pulumi exit 3): check the OIDC role and the state backend login" ;;
    4) verdict="failed: a resource operation failed (pulumi exit 4)" ;;
    6) verdict="failed: stack ${stack} not found (pulumi exit 6): create it with scripts/bootstrap.sh" ;;
    7) verdict="failed: changes found where none were expected (pulumi exit 7)" ;;
    8) verdict="cancelled (pulumi exit 8)" ;;
    *) verdict="failed (pulumi exit ${status})" ;;
esac
echo "pulumi ${command} ${stack}: ${verdict}"
if [ "$status" -eq 0 ]; then
    summary "- \`pulumi ${command}\` **${stack}**: ${verdict}"
else
    # An annotation on the run, so the reason shows without opening the log.
    echo "::error title=pulumi ${command} ${stack}::${verdict}"
    summary "- \`pulumi ${command}\` **${stack}**: :x: ${verdict}"
fi
exit "$status"
