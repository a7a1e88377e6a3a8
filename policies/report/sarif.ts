// SARIF 2.1.0 for GitHub code scanning: every rule in tool.driver.rules with
// help text and a link; each finding located at its URN (a logical location) and at
// the program line that declared the resource when the SDK or the state recorded it
// (else the file that was checked, line 1), so code scanning annotates the diff.
// One automationDetails id per stack keeps each stack's alerts apart; the invocation
// and the commit checked travel with the results.
import type * as Sarif from "sarif";
import { EnforcementLevel, RuleMetadata } from "../core/types";
import { Report, coverageSummary, exemptionLabel, findingMessage, isBaselined, isViolation, ruleHelpUri, urnParts, violationLevel } from "./model";
import { SourceControl } from "./provenance";

export const SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json";

/** GitHub orders alerts by `security-severity` (0-10). */
const SECURITY_SEVERITY: Record<RuleMetadata["severity"], string> = { critical: "9.5", high: "8.0", medium: "5.5", low: "3.0" };

function defaultLevel(level: EnforcementLevel): Sarif.ReportingConfiguration["level"] {
    return level === "mandatory" ? "error" : level === "advisory" ? "warning" : "none";
}

function pascal(id: string): string {
    return id.replace(/(^|-)([a-z0-9])/g, (_m, _d, c: string) => c.toUpperCase());
}

export interface SarifOptions {
    /** The artifact results point at (the stack export, Pulumi.<stack>.yaml, ...). */
    artifactUri?: string;
    toolVersion?: string;
    /** The command line as run, and the exit code it ends with. */
    commandLine?: string;
    exitCode?: number;
    /**
     * Code-scanning category (automationDetails.id without the trailing slash). Code scanning keys
     * alerts by it, and upload-sarif's `category` input does not replace one the log sets: the offline
     * check is `appi-plan-<stack>`, the audit of deployed state `appi-state-<stack>`.
     */
    category?: string;
    /** Commit, branch and repository checked (versionControlProvenance). */
    sourceControl?: SourceControl;
}

export function toSarif(report: Report, options: SarifOptions = {}): Sarif.Log {
    const artifactUri = options.artifactUri ?? report.source ?? "Pulumi.yaml";
    const indexOf = new Map(report.rules.map((r, i) => [r.id, i]));
    const physicalLocation = (urn: string): Sarif.PhysicalLocation => {
        const at = report.locations?.get(urn);
        return at
            ? { artifactLocation: { uri: at.uri, uriBaseId: "%SRCROOT%" }, region: { startLine: at.line, ...(at.column ? { startColumn: at.column } : {}) } }
            : { artifactLocation: { uri: artifactUri }, region: { startLine: 1 } };
    };
    const rules: Sarif.ReportingDescriptor[] = report.rules.map((r) => ({
        id: r.id,
        name: pascal(r.id),
        shortDescription: { text: r.title },
        fullDescription: { text: r.description },
        help: {
            text: `${r.description}\n\nAPPI: ${r.appi}${r.securityHub.length ? `\nAWS Security Hub: ${r.securityHub.join(", ")}` : ""}\n\nRemediation: ${r.remediation}`,
            markdown: `${r.description}\n\n**APPI**: ${r.appi}${r.securityHub.length ? `  \n**AWS Security Hub**: ${r.securityHub.join(", ")}` : ""}\n\n**Remediation**: ${r.remediation}`,
        },
        helpUri: ruleHelpUri(r),
        defaultConfiguration: { level: defaultLevel(r.defaultEnforcement), enabled: r.defaultEnforcement !== "disabled" },
        properties: { tags: ["security", "appi", ...r.securityHub.map((c) => `security-hub/${c}`)], "security-severity": SECURITY_SEVERITY[r.severity], appi: r.appi, severity: r.severity },
    }));
    const results: Sarif.Result[] = report.findings
        .filter((f) => isViolation(f) || f.exemption)
        .map((f) => {
            const { type, name } = urnParts(f.urn);
            const result: Sarif.Result = {
                ruleId: f.ruleId,
                level: f.exemption ? "note" : violationLevel(f) === "mandatory" ? "error" : "warning",
                message: { text: findingMessage(f) || `${f.ruleId}: non-compliant` },
                locations: [
                    {
                        physicalLocation: physicalLocation(f.urn),
                        logicalLocations: [{ fullyQualifiedName: f.urn, name, kind: "resource", decoratedName: type }],
                    },
                ],
                // Lets code scanning tell two findings of one rule apart across runs.
                partialFingerprints: { "appiUrn/v1": `${f.ruleId}|${f.urn}` },
                properties: { enforcementLevel: f.enforcementLevel, resourceType: f.resourceType, outcome: f.outcome.kind },
            };
            const i = indexOf.get(f.ruleId);
            if (i !== undefined) result.ruleIndex = i;
            if (!f.exemption && isBaselined(report, f)) result.baselineState = "unchanged";
            // An acknowledgement lives beside the resource in code ("inSource"); an exception in a separate file ("external").
            if (f.exemption) result.suppressions = [{ kind: f.exemption.source === "resource" ? "inSource" : "external", status: "accepted", justification: `${exemptionLabel(f)}: ${f.exemption.reason} (approved by ${f.exemption.approver}, expires ${f.exemption.expires})` }];
            return result;
        });
    const p = report.provenance;
    const invocation: Sarif.Invocation = {
        executionSuccessful: true,
        ...(options.commandLine ? { commandLine: options.commandLine } : {}),
        ...(options.exitCode !== undefined ? { exitCode: options.exitCode } : {}),
        ...(p ? { endTimeUtc: p.time } : {}),
        properties: { failOn: report.failOn ?? "mandatory", ...(report.config ? { thresholds: { ...report.config } } : {}) },
        // Stale exceptions and acknowledgements are configuration problems, not findings on a resource.
        ...(report.unusedExemptions?.length
            ? { toolConfigurationNotifications: report.unusedExemptions.map((u) => ({ level: "warning" as const, message: { text: u.message }, descriptor: { id: u.rule }, locations: [{ logicalLocations: [{ fullyQualifiedName: u.urn, kind: "resource" }] }] })) }
            : {}),
    };
    const vcs = options.sourceControl;
    const run: Sarif.Run = {
        tool: { driver: { name: "appi-policy-pack", version: options.toolVersion ?? p?.packVersion ?? "0.0.0", semanticVersion: options.toolVersion ?? p?.packVersion, informationUri: "https://www.ppc.go.jp/en/legal/", rules } },
        // Code scanning keys alerts by category: one per stack and runner, so dev and prod, plan and state never close each other's.
        automationDetails: { id: `${(options.category ?? `appi-plan-${report.stack ?? "stack"}`).replace(/\/+$/, "")}/` },
        invocations: [invocation],
        originalUriBaseIds: { "%SRCROOT%": { description: { text: "The Pulumi project root (where Pulumi.yaml is)." } } },
        ...(vcs?.repositoryUri && vcs.commit ? { versionControlProvenance: [{ repositoryUri: vcs.repositoryUri, revisionId: vcs.commit, ...(vcs.branch ? { branch: vcs.branch } : {}) }] } : {}),
        results,
        ...runProperties(report),
    };
    return { $schema: SARIF_SCHEMA, version: "2.1.0", runs: [run] };
}

/** The run's stack and coverage (the unreviewed types are also a result of resource-types-reviewed). */
function runProperties(report: Report): { properties?: Sarif.PropertyBag } {
    const coverage = coverageSummary(report);
    if (!report.stack && !coverage) return {};
    return { properties: { ...(report.stack ? { stack: report.stack } : {}), ...(coverage ? { coverage } : {}) } };
}

export function formatSarif(report: Report, options: SarifOptions = {}): string {
    return JSON.stringify(toSarif(report, options), null, 2);
}
