// Acknowledgements: an exception recorded in code beside the resource (as cdk-nag's
// suppressions), as a tag `appi:ack:<rule-id>` = `expires=YYYY-MM-DD approver=NAME reason=TEXT`
// (components/acknowledge.ts writes it). Key=value words because AWS tag values allow only
// letters, digits, spaces and _ . : / = + - @ (no `|` or `;`). Read by every runner from the
// resource's tags: a valid one exempts that rule's violation on that resource and every report
// says "exempted (acknowledged on the resource)"; an expired or incomplete one exempts nothing
// and makes the violation mandatory, naming the problem.
import { Outcome, ResourceView } from "./core/types";
import { aliasesCovering, canonicalRuleId, deprecationNote, waiverCovers } from "./rules/aliases";

export const ACK_TAG_PREFIX = "appi:ack:";

export interface Acknowledgement {
    rule: string;
    reason: string;
    approver: string;
    /** YYYY-MM-DD (UTC); holds through that day. */
    expires: string;
}

const VALUE = /^expires=(\S+) approver=(\S+) reason=(.+)$/;

/** Parses one tag value; returns the acknowledgement or the problem with it. */
export function parseAcknowledgement(rule: string, value: string, now: Date = new Date()): { ack?: Acknowledgement; problem?: string } {
    const where = `acknowledgement tag ${ACK_TAG_PREFIX}${rule}`;
    const m = VALUE.exec(value.trim());
    if (!m) return { problem: `${where} is malformed (${JSON.stringify(value)}): write "expires=YYYY-MM-DD approver=NAME reason=TEXT" (components/acknowledge.ts does)` };
    const [, expires, approver, reason] = m;
    const day = new Date(`${expires}T00:00:00Z`);
    if (!/^\d{4}-\d{2}-\d{2}$/.test(expires) || Number.isNaN(day.getTime()) || day.toISOString().slice(0, 10) !== expires) return { problem: `${where} has an invalid expiry date "${expires}"` };
    if (reason.trim().length < 10) return { problem: `${where} gives no real reason (at least 10 characters)` };
    if (expires < now.toISOString().slice(0, 10)) return { problem: `${where} expired on ${expires} (approved by ${approver}): renew or remove it` };
    return { ack: { rule, reason: reason.trim(), approver, expires } };
}

function tagsOf(resource: ResourceView): Record<string, unknown> {
    const tags = resource.props.tags;
    return tags && typeof tags === "object" && !Array.isArray(tags) ? (tags as Record<string, unknown>) : {};
}

/** Rule ids a resource carries acknowledgement tags for. */
export function acknowledgedRules(resource: ResourceView): string[] {
    return Object.keys(tagsOf(resource))
        .filter((k) => k.startsWith(ACK_TAG_PREFIX))
        .map((k) => k.slice(ACK_TAG_PREFIX.length));
}

export interface Acknowledged {
    outcome: Outcome;
    exemption?: { reason: string; approver: string; expires: string; source: "resource" };
    /** An unusable acknowledgement: the violation is reported as mandatory whatever the rule's level. */
    mandatory?: boolean;
}

/** Applies the resource's acknowledgement of `ruleId` to a rule's outcome (only a violation can be acknowledged). */
/** Whether any tag is an acknowledgement: almost none are, and every violation asks before looking one up by name. */
function carriesAcknowledgements(resource: ResourceView): boolean {
    for (const key in tagsOf(resource)) if (key.startsWith(ACK_TAG_PREFIX)) return true;
    return false;
}

export function applyAcknowledgement(resource: ResourceView, ruleId: string, outcome: Outcome, now?: Date): Acknowledged {
    if (outcome.kind !== "non-compliant" || !carriesAcknowledgements(resource)) return { outcome };
    now ??= new Date();
    const tags = tagsOf(resource);
    // The rule's own tag, else one under a retired id folded into it (rules/aliases.ts) for this type.
    let filedUnder = ruleId;
    let value = tags[`${ACK_TAG_PREFIX}${ruleId}`];
    if (value === undefined) {
        for (const alias of aliasesCovering(ruleId, resource.type)) {
            value = tags[`${ACK_TAG_PREFIX}${alias.id}`];
            if (value !== undefined) {
                filedUnder = alias.id;
                break;
            }
        }
    }
    if (value === undefined) return { outcome };
    const { ack, problem } = typeof value === "string" ? parseAcknowledgement(filedUnder, value, now) : { ack: undefined, problem: `acknowledgement tag ${ACK_TAG_PREFIX}${filedUnder} is not readable (a secret or unknown value)` };
    const reason = (r: string) => (filedUnder === ruleId ? r : `${r} (${deprecationNote(filedUnder)})`);
    if (ack) return { outcome, exemption: { reason: reason(ack.reason), approver: ack.approver, expires: ack.expires, source: "resource" } };
    return { outcome: { kind: "non-compliant", messages: [...outcome.messages, problem!] }, mandatory: true };
}

/** Acknowledgement tags that exempted nothing (the resource complies, or the rule id names no rule that looked at it). */
export function unusedAcknowledgements(resources: readonly ResourceView[], exempted: ReadonlySet<string>): { rule: string; urn: string; source: "acknowledgement"; message: string }[] {
    const unused: { rule: string; urn: string; source: "acknowledgement"; message: string }[] = [];
    for (const r of resources) {
        for (const rule of acknowledgedRules(r)) {
            if (exempted.has(`${rule}|${r.urn}`)) continue;
            // A tag under a retired rule id exempts the rule it was folded into.
            const folded = canonicalRuleId(rule);
            if (folded !== rule && waiverCovers(rule, folded, r.type) && exempted.has(`${folded}|${r.urn}`)) continue;
            unused.push({ rule, urn: r.urn, source: "acknowledgement", message: `acknowledgement tag ${ACK_TAG_PREFIX}${rule} on ${r.name} (${r.type}) matched no violation: the resource complies or no rule ${rule} checks it; remove the tag` });
        }
    }
    return unused;
}
