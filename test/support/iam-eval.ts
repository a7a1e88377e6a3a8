// A small IAM policy evaluator for tests: explicit Deny wins, then any Allow, else denied. It
// supports what our policies use: Action/NotAction, Resource/NotResource (with * and ? wildcards),
// and the condition operators StringEquals, StringNotEquals(IfExists), StringLike, ArnLike, Bool and Null
// (Principal is not evaluated: pass the statements that apply to the caller). It lets a
// test ask "may this role do X?" for the passing, failing and attacker's cases instead of
// comparing JSON. An operator it does not know throws, so a policy it cannot judge never passes.

export type Context = Record<string, string | undefined>;
type Statement = Record<string, any>;

const list = (v: unknown): string[] => (v === undefined ? [] : [v].flat().map(String));
const glob = (pattern: string, value: string, caseInsensitive = false) =>
    new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`, caseInsensitive ? "i" : "").test(value);

function conditionHolds(condition: Record<string, Record<string, unknown>> | undefined, context: Context): boolean {
    for (const [operator, entries] of Object.entries(condition ?? {})) {
        for (const [key, expected] of Object.entries(entries)) {
            const actual = context[key];
            const values = list(expected);
            switch (operator) {
                case "StringEquals":
                    if (actual === undefined || !values.includes(actual)) return false;
                    break;
                case "StringNotEquals":
                case "StringNotEqualsIfExists":
                    if (actual !== undefined && values.includes(actual)) return false;
                    break;
                case "Bool":
                    if (actual === undefined || !values.includes(actual)) return false;
                    break;
                case "StringLike":
                case "ArnLike":
                    if (actual === undefined || !values.some((v) => glob(v, actual))) return false;
                    break;
                case "Null":
                    // "true": the key must be absent; "false": it must be present.
                    if ((actual === undefined) !== (values[0] === "true")) return false;
                    break;
                default:
                    throw new Error(`iam-eval: condition operator ${operator} is not supported`);
            }
        }
    }
    return true;
}

function matches(statement: Statement, action: string, resource: string, context: Context): boolean {
    const actionHit = statement.Action !== undefined ? list(statement.Action).some((a) => glob(a, action, true)) : !list(statement.NotAction).some((a) => glob(a, action, true));
    if (!actionHit) return false;
    if (statement.Resource !== undefined || statement.NotResource !== undefined) {
        const resourceHit = statement.Resource !== undefined ? list(statement.Resource).some((r) => glob(r, resource)) : !list(statement.NotResource).some((r) => glob(r, resource));
        if (!resourceHit) return false;
    }
    return conditionHolds(statement.Condition, context);
}

/** Whether a caller holding `policy` may call `action` on `resource` with this request context. */
export function isAllowed(policy: string | { Statement: Statement[] }, action: string, resource = "*", context: Context = {}): boolean {
    const doc = typeof policy === "string" ? JSON.parse(policy) : policy;
    const statements: Statement[] = [doc.Statement].flat().filter(Boolean);
    if (statements.some((s) => s.Effect === "Deny" && matches(s, action, resource, context))) return false;
    return statements.some((s) => s.Effect === "Allow" && matches(s, action, resource, context));
}

/** Whether a trust policy lets a web-identity token with these claims assume the role. */
export function trustAllows(trustPolicy: string, providerArn: string, claims: Context): boolean {
    const doc = JSON.parse(trustPolicy);
    return [doc.Statement].flat().some((s: Statement) =>
        s.Effect === "Allow" && list(s.Action).includes("sts:AssumeRoleWithWebIdentity") && s.Principal?.Federated === providerArn && conditionHolds(s.Condition, claims));
}
