// Records an approved exception beside the resource, as cdk-nag's suppressions do:
//
//   tags: { ...config.tags, ...acknowledge("rds-multi-az", { reason: "dev runs single-AZ to save cost",
//           approver: "yamada@example.co.jp", expires: "2027-03-31" }) }
//
// The pack (policies/acknowledgements.ts) reads the tag in every runner and reports the
// violation as "exempted (acknowledged on the resource)". For resources without tags, use the
// exceptions file instead.
import { ACK_TAG_PREFIX } from "../policies/acknowledgements";

export interface AcknowledgementArgs {
    reason: string;
    approver: string;
    /** YYYY-MM-DD: the acknowledgement holds through that day (UTC), then fails the gate. */
    expires: string;
}

/** AWS tag values: letters, digits, spaces and _ . : / = + - @, at most 256 characters. */
const TAG_VALUE = /^[\p{L}\p{N}\p{Zs}_.:/=+\-@]*$/u;

export function acknowledge(ruleId: string, args: AcknowledgementArgs): Record<string, string> {
    const problem = (what: string) => new Error(`acknowledge("${ruleId}"): ${what}`);
    if (!/^[a-z0-9]+(-[a-z0-9]+)*$/.test(ruleId)) throw problem("the rule id must be a pack rule id such as rds-multi-az");
    if (!/^\d{4}-\d{2}-\d{2}$/.test(args.expires) || new Date(`${args.expires}T00:00:00Z`).toISOString?.().slice(0, 10) !== args.expires) throw problem(`expires must be a date YYYY-MM-DD, got ${JSON.stringify(args.expires)}`);
    if (!/^\S+$/.test(args.approver)) throw problem("approver must be one word (an e-mail address or a user name)");
    if (args.reason.trim().length < 10) throw problem("reason must say why, in at least 10 characters");
    const value = `expires=${args.expires} approver=${args.approver} reason=${args.reason.trim()}`;
    if (!TAG_VALUE.test(value)) throw problem("reason and approver may hold only letters, digits, spaces and _ . : / = + - @ (AWS tag values)");
    if (value.length > 256) throw problem(`the tag value is ${value.length} characters; AWS allows 256: shorten the reason`);
    return { [`${ACK_TAG_PREFIX}${ruleId}`]: value };
}
