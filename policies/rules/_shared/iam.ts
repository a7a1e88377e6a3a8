// IAM policy documents as Pulumi programs write them: a JSON string (from
// JSON.stringify / pulumi.jsonStringify) or an object, with the usual
// single-item-or-list shapes normalised.
import { known } from "../../core/props";
import { PropValue } from "../../core/types";

export interface PolicyStatement {
    effect: string;
    actions: string[];
    /** Principal type (AWS, Federated, Service, *) to values; unknown values stay as the UNKNOWN marker. */
    principals: Record<string, PropValue[]>;
    /** Operator (e.g. StringEquals) to condition key (lower-cased) to values. */
    conditions: Record<string, Record<string, PropValue[]>>;
}

function list(value: PropValue): PropValue[] {
    if (value === undefined || value === null) return [];
    return Array.isArray(value) ? value : [value];
}

/** Parses a policy document; throws CannotCheckError when it is unknown/secret and a clear error when it is not a policy. */
export function parsePolicyDocument(value: PropValue, path: string): PolicyStatement[] {
    let doc = known(value, path);
    if (doc === undefined || doc === null || doc === "") return [];
    if (typeof doc === "string") {
        try {
            doc = known(JSON.parse(doc) as PropValue, path);
        } catch (err) {
            throw new TypeError(`${path} is not valid JSON: ${(err as Error).message}`);
        }
    }
    if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw new TypeError(`${path} is not an IAM policy document (expected an object with Statement)`);
    const statements = list(known((doc as { [k: string]: PropValue }).Statement, `${path}.Statement`));
    return statements.map((raw, i) => {
        const s = known(raw, `${path}.Statement[${i}]`);
        if (typeof s !== "object" || s === null || Array.isArray(s)) throw new TypeError(`${path}.Statement[${i}] is not an object`);
        const st = s as { [k: string]: PropValue };
        const principals: Record<string, PropValue[]> = {};
        const principal = st.Principal;
        if (principal === "*") principals["*"] = ["*"];
        else if (principal !== undefined) {
            const p = known(principal, `${path}.Statement[${i}].Principal`);
            if (typeof p === "object" && p !== null && !Array.isArray(p)) {
                for (const [type, values] of Object.entries(p)) principals[type] = list(values);
            }
        }
        const conditions: Record<string, Record<string, PropValue[]>> = {};
        const condition = st.Condition === undefined ? undefined : known(st.Condition, `${path}.Statement[${i}].Condition`);
        if (condition && typeof condition === "object" && !Array.isArray(condition)) {
            for (const [operator, block] of Object.entries(condition)) {
                const b = known(block, `${path}.Statement[${i}].Condition.${operator}`);
                if (!b || typeof b !== "object" || Array.isArray(b)) continue;
                const keys: Record<string, PropValue[]> = {};
                for (const [key, values] of Object.entries(b)) keys[key.toLowerCase()] = list(values);
                conditions[operator] = keys;
            }
        }
        const actions = list(st.Action).map((a, j) => {
            const v = known(a, `${path}.Statement[${i}].Action[${j}]`);
            return typeof v === "string" ? v : String(v);
        });
        const effect = known(st.Effect, `${path}.Statement[${i}].Effect`);
        return { effect: typeof effect === "string" ? effect : "Allow", actions, principals, conditions };
    });
}

/** Values of one condition key across the given operators (key compared case-insensitively). */
export function conditionValues(statement: PolicyStatement, key: string, operators: readonly string[]): { operator: string; values: PropValue[] }[] {
    const out: { operator: string; values: PropValue[] }[] = [];
    for (const [operator, keys] of Object.entries(statement.conditions)) {
        if (!operators.includes(operator)) continue;
        const values = keys[key.toLowerCase()];
        if (values) out.push({ operator, values });
    }
    return out;
}

