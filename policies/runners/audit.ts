// State audit: evaluates the rule set on a `pulumi stack export` file
// (deployment version 3). Props are inputs overlaid on outputs: outputs are what
// the engine recorded, inputs what the program asked for.
import Ajv from "ajv";
import { isAscii } from "node:buffer";
import * as fs from "node:fs";
import { buildStackView } from "../core/stack-view";
import { PackConfig, Rule } from "../core/types";
import { coverageOf } from "../core/coverage";
import { evaluate } from "../core/engine";
import { unusedAcknowledgements } from "../acknowledgements";
import { PolicyException, applyExceptionsReportingUnused, unusedExceptionMessage } from "../exceptions";
import { Report, SourceLocation, toSourceLocation } from "../report/model";
import { InputError } from "./errors";
import { RawResource, buildResourceViews, defaultProviderRegion, stackFromUrn } from "./views";

export const SUPPORTED_EXPORT_VERSION = 3;

const RESOURCE_SCHEMA = {
    type: "object",
    required: ["urn", "type"],
    properties: {
        urn: { type: "string", pattern: "^urn:pulumi:" },
        type: { type: "string", minLength: 1 },
        inputs: { type: "object" },
        outputs: { type: "object" },
        provider: { type: "string" },
        parent: { type: "string" },
        protect: { type: "boolean" },
        delete: { type: "boolean" },
    },
} as const;

const DEPLOYMENT_SCHEMA = {
    type: "object",
    properties: { resources: { type: "array", items: RESOURCE_SCHEMA } },
} as const;

const validateDeployment = new Ajv({ allErrors: false }).compile(DEPLOYMENT_SCHEMA);

function isObject(value: unknown): boolean {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * True only for a deployment DEPLOYMENT_SCHEMA accepts, checked by hand: the compiled
 * validator costs as much again for 10,000 resources. Anything this does not accept goes
 * to the validator, which decides and words the error.
 */
function plainlyValid(deployment: unknown): boolean {
    if (!isObject(deployment)) return false;
    const resources = (deployment as { resources?: unknown }).resources;
    if (resources === undefined) return true;
    if (!Array.isArray(resources)) return false;
    for (let i = 0; i < resources.length; i++) {
        const r = resources[i] as Record<string, unknown>;
        if (!isObject(r)) return false;
        const { urn, type, inputs, outputs, provider, parent, protect } = r;
        if (typeof urn !== "string" || !urn.startsWith("urn:pulumi:")) return false;
        if (typeof type !== "string" || type.length === 0) return false;
        if (inputs !== undefined && !isObject(inputs)) return false;
        if (outputs !== undefined && !isObject(outputs)) return false;
        if (provider !== undefined && typeof provider !== "string") return false;
        if (parent !== undefined && typeof parent !== "string") return false;
        if (protect !== undefined && typeof protect !== "boolean") return false;
        if (r.delete !== undefined && typeof r.delete !== "boolean") return false;
    }
    return true;
}

interface ExportedResource extends RawResource {
    /** Set on the old copy of a replaced resource awaiting deletion. */
    delete?: boolean;
    /** Where the program declared it, e.g. `project:///index.ts#12,5` (newer Pulumi CLIs record it). */
    sourcePosition?: string;
}

export interface ParsedExport {
    stack?: string;
    resources: RawResource[];
    /** True when the records were parsed for this audit alone (their values may be normalised in place). */
    owned?: boolean;
}

function describeValue(value: unknown): string {
    return value === null ? "null" : Array.isArray(value) ? "an array" : typeof value;
}

/** Validates the shape of a parsed export document; `source` names it in errors. */
export function readStackExport(doc: unknown, source: string): ParsedExport {
    if (doc === null || typeof doc !== "object" || Array.isArray(doc) || !("deployment" in doc)) {
        throw new InputError(`${source} is not a Pulumi stack export: expected an object with "version" and "deployment", got ${doc !== null && typeof doc === "object" && !Array.isArray(doc) ? `keys ${Object.keys(doc).slice(0, 5).join(", ") || "(none)"}` : describeValue(doc)}`);
    }
    const { version, deployment } = doc as { version?: unknown; deployment?: unknown };
    if (version !== SUPPORTED_EXPORT_VERSION) {
        throw new InputError(`${source}: unsupported stack export version ${JSON.stringify(version)} (this audit reads deployment version ${SUPPORTED_EXPORT_VERSION}; re-export with a current Pulumi CLI)`);
    }
    if (!plainlyValid(deployment) && !validateDeployment(deployment)) {
        const err = validateDeployment.errors![0];
        throw new InputError(`${source} is not a valid Pulumi stack export: deployment${err.instancePath.replace(/\//g, ".")} ${err.message}`);
    }
    const all = ((deployment as { resources?: ExportedResource[] }).resources ?? []).filter((r) => !r.delete);
    return { stack: all.length ? stackFromUrn(all[0].urn) : undefined, resources: all };
}

export function parseStackExport(text: string, source: string): ParsedExport {
    let doc: unknown;
    try {
        doc = JSON.parse(text);
    } catch (err) {
        throw new InputError(`${source} is not JSON: ${(err as Error).message}`);
    }
    return { ...readStackExport(doc, source), owned: true };
}

export interface AuditOptions {
    rules: readonly Rule[];
    config: PackConfig;
    exceptions?: readonly PolicyException[];
}

export function auditParsedExport(parsed: ParsedExport, options: AuditOptions, source?: string): Report {
    // The stack's region is the default provider's: that is where `aws:region` lands in state.
    const views = buildResourceViews(parsed.resources, defaultProviderRegion(parsed.resources), { owned: parsed.owned });
    const findings = evaluate(options.rules, buildStackView(views, parsed.stack), options.config);
    const exempted = applyExceptionsReportingUnused(findings, options.exceptions ?? []);
    const locations = new Map<string, SourceLocation>();
    for (const r of parsed.resources as ExportedResource[]) {
        if (typeof r.sourcePosition !== "string") continue;
        const at = toSourceLocation(r.sourcePosition, process.cwd());
        if (at) locations.set(r.urn, at);
    }
    return {
        stack: parsed.stack,
        source,
        rules: options.rules,
        findings: exempted.findings,
        resources: views.length,
        unusedExemptions: [
            ...exempted.unused.map((e) => ({ rule: e.rule, urn: e.urn, source: "exception" as const, message: unusedExceptionMessage(e) })),
            ...unusedAcknowledgements(views, new Set(exempted.findings.filter((f) => f.exemption?.source === "resource").map((f) => `${f.ruleId}|${f.urn}`))),
        ],
        coverage: coverageOf(options.rules, views, options.config),
        ...(locations.size ? { locations } : {}),
    };
}

/** Bytes of an export as text: UTF-8 with any byte-order mark dropped (PowerShell's `>` writes one). */
export function decodeExport(bytes: Buffer): string {
    // Exports are almost always ASCII: a one-byte string is a copy, not a UTF-8 decode of megabytes.
    if (isAscii(bytes)) return bytes.toString("latin1");
    const text = bytes.toString("utf8");
    return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** Read + parse + evaluate one export file (`-`: standard input). Throws InputError for anything that is not a readable v3 export. */
export function auditFile(file: string, options: AuditOptions): Report {
    let bytes: Buffer;
    try {
        bytes = fs.readFileSync(file === "-" ? 0 : file);
    } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        throw new InputError(`cannot read ${file === "-" ? "standard input" : file}: ${code === "ENOENT" ? "no such file" : code === "EISDIR" ? "it is a directory" : (err as Error).message}`);
    }
    const source = file === "-" ? "standard input" : file;
    return auditParsedExport(parseStackExport(decodeExport(bytes), source), options, file === "-" ? undefined : file);
}
