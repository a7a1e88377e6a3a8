// Exceptions: a reviewer-approved waiver of one rule for one resource (or a URN
// pattern), with a reason, an approver and an expiry date. An exempted finding
// stays in every report as "exempted"; an expired or malformed exception is an
// error, never a silent pass.
import Ajv from "ajv";
import * as fs from "node:fs";
import { Finding } from "./core/types";
import { aliasOf, deprecationNote, waiverCovers } from "./rules/aliases";

export interface PolicyException {
    rule: string;
    /** An exact URN, or a pattern where `*` matches any run of characters and `?` one character. */
    urn: string;
    reason: string;
    approver: string;
    /** ISO date (YYYY-MM-DD): the exception holds through the end of that day (UTC). */
    expires: string;
}

export class ExceptionsError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "ExceptionsError";
    }
}

/** One exception; also the item schema of each CrossGuard policy's `exceptions` config. */
export const EXCEPTION_SCHEMA = {
    type: "object",
    required: ["rule", "urn", "reason", "approver", "expires"],
    additionalProperties: false,
    properties: {
        rule: { type: "string", pattern: "^[a-z0-9]+(-[a-z0-9]+)*$" },
        urn: { type: "string", minLength: 1 },
        reason: { type: "string", minLength: 10 },
        approver: { type: "string", minLength: 1 },
        expires: { type: "string", pattern: "^\\d{4}-\\d{2}-\\d{2}$" },
    },
} as const;

const FILE_SCHEMA = {
    type: "object",
    required: ["exceptions"],
    additionalProperties: false,
    properties: { $schema: { type: "string" }, exceptions: { type: "array", items: EXCEPTION_SCHEMA } },
} as const;

const validateFile = new Ajv({ allErrors: false }).compile(FILE_SCHEMA);

function describe(e: Partial<PolicyException>, index: number): string {
    return `exception #${index + 1}${e.rule ? ` (rule ${e.rule}${e.urn ? `, urn ${e.urn}` : ""})` : ""}`;
}

/** Names an exception by what it says, not by its place in a list: the same words from every runner. */
export function describeException(e: Pick<PolicyException, "rule" | "urn">): string {
    return `exception for rule ${e.rule} on ${e.urn}`;
}

/** The error for an exception past its date: identical in the offline check, the audit and CrossGuard. */
export function expiredMessage(e: PolicyException): string {
    return `${describeException(e)} expired on ${e.expires} (approved by ${e.approver}): renew or remove it`;
}

/** The note for an exception that covers no violation (the resource was fixed, or the URN pattern is wrong). */
export function unusedExceptionMessage(e: PolicyException): string {
    return `${describeException(e)} (approved by ${e.approver}, expires ${e.expires}) matched no violation: the resource complies now or the URN pattern is wrong; remove it or correct the URN`;
}

/** Today as YYYY-MM-DD in UTC (the calendar an expiry date is read in). */
function isoDay(now: Date): string {
    return now.toISOString().slice(0, 10);
}

/**
 * Validates an exceptions document (`{"exceptions": [...]}`, or a bare array).
 * `knownRules` catches typos that would otherwise exempt nothing.
 */
export function parseExceptions(doc: unknown, options: { knownRules?: readonly string[]; now?: Date } = {}): PolicyException[] {
    const wrapped = Array.isArray(doc) ? { exceptions: doc } : doc;
    if (!validateFile(wrapped)) {
        const err = validateFile.errors?.[0];
        const where = err?.instancePath
            ? err.instancePath.replace(/^\/exceptions\/(\d+)/, (_m, i) => `exception #${Number(i) + 1}`).replace(/\/([^/]+)/g, " field $1").trim()
            : "file";
        const detail = err?.keyword === "additionalProperties" ? `has unknown field "${(err.params as { additionalProperty: string }).additionalProperty}"` : (err?.message ?? "is invalid");
        throw new ExceptionsError(`malformed exceptions: ${where} ${detail}`);
    }
    const list = (wrapped as { exceptions: PolicyException[] }).exceptions;
    const today = isoDay(options.now ?? new Date());
    list.forEach((e, i) => {
        const date = new Date(`${e.expires}T00:00:00Z`);
        if (Number.isNaN(date.getTime()) || isoDay(date) !== e.expires) {
            throw new ExceptionsError(`malformed exceptions: ${describe(e, i)} has an invalid expiry date "${e.expires}"`);
        }
        if (e.expires < today) {
            throw new ExceptionsError(expiredMessage(e));
        }
        // A retired rule id (rules/aliases.ts) is known while the rule it was folded into is.
        const alias = aliasOf(e.rule);
        if (options.knownRules && !options.knownRules.includes(e.rule) && !(alias && options.knownRules.includes(alias.foldedInto))) {
            throw new ExceptionsError(`malformed exceptions: ${describe(e, i)} names an unknown rule "${e.rule}"`);
        }
    });
    return list;
}

export function loadExceptions(file: string, options: { knownRules?: readonly string[]; now?: Date } = {}): PolicyException[] {
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch (err) {
        throw new ExceptionsError(`cannot read exceptions file ${file}: ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (err as Error).message}`);
    }
    let doc: unknown;
    try {
        doc = JSON.parse(text);
    } catch (err) {
        throw new ExceptionsError(`exceptions file ${file} is not JSON: ${(err as Error).message}`);
    }
    try {
        return parseExceptions(doc, options);
    } catch (err) {
        throw new ExceptionsError(`${file}: ${(err as Error).message}`);
    }
}

/** `*` and `?` wildcards only: URNs contain `/`, `:` and `$`, which path globs would treat specially. */
function urnPattern(pattern: string): RegExp {
    const body = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
    return new RegExp(`^${body}$`);
}

/** Finds the exception covering a (rule, URN) pair; compiled once per list. */
export class ExceptionMatcher {
    private readonly compiled: { e: PolicyException; re: RegExp }[];
    private readonly used = new Set<PolicyException>();

    constructor(readonly exceptions: readonly PolicyException[]) {
        this.compiled = exceptions.map((e) => ({ e, re: urnPattern(e.urn) }));
    }

    /**
     * The exception covering a non-compliant (rule, URN), remembered as used. An exception filed under a
     * retired rule id covers the rule it was folded into on the types the old rule judged (`resourceType`).
     */
    match(ruleId: string, urn: string, resourceType?: string): PolicyException | undefined {
        const hit = this.compiled.find(({ e, re }) => e.rule === ruleId && re.test(urn))?.e ?? this.compiled.find(({ e, re }) => e.rule !== ruleId && waiverCovers(e.rule, ruleId, resourceType) && re.test(urn))?.e;
        if (hit) this.used.add(hit);
        return hit;
    }

    /** Exceptions no violation has matched so far. */
    unused(): PolicyException[] {
        return this.exceptions.filter((e) => !this.used.has(e));
    }
}

/** The reason a report shows for an exemption: the exception's, with a deprecation note when it names a retired rule id. */
export function exemptionReason(e: Pick<PolicyException, "rule" | "reason">, ruleId: string): string {
    return e.rule === ruleId ? e.reason : `${e.reason} (${deprecationNote(e.rule)})`;
}

/** Marks the non-compliant findings an exception covers as exempted; everything else passes through unchanged. */
export function applyExceptions(findings: readonly Finding[], exceptions: readonly PolicyException[]): Finding[] {
    return applyExceptionsReportingUnused(findings, exceptions).findings;
}

/** As applyExceptions, and lists the exceptions that covered nothing (every report shows them). */
export function applyExceptionsReportingUnused(findings: readonly Finding[], exceptions: readonly PolicyException[]): { findings: Finding[]; unused: PolicyException[] } {
    if (exceptions.length === 0) return { findings: [...findings], unused: [] };
    const matcher = new ExceptionMatcher(exceptions);
    const out = findings.map((f) => {
        if (f.outcome.kind !== "non-compliant" || f.exemption) return f;
        const hit = matcher.match(f.ruleId, f.urn, f.resourceType);
        return hit ? { ...f, exemption: { reason: exemptionReason(hit, f.ruleId), approver: hit.approver, expires: hit.expires } } : f;
    });
    return { findings: out, unused: matcher.unused() };
}
