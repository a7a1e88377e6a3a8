// The stack view's shortcuts must answer exactly what the plain index answers:
// `resolveOfType` (which indexes only the types asked for) against
// `resolveAll(ref).find(type)`, and `resolve` against `resolveAll(ref)[0]`, on
// stacks where handles and logical names are shared across resources and types.
import assert from "node:assert/strict";
import { CannotCheckError, read } from "../../../policies/core/props";
import { buildStackView, resolveOfType } from "../../../policies/core/stack-view";
import { PropValue, ResourceView, SecretValue, StackView, UNKNOWN } from "../../../policies/core/types";

const TYPES = ["aws:ec2/subnet:Subnet", "aws:ec2/routeTable:RouteTable", "aws:kms/alias:Alias", "aws:kms/key:Key"];
const HANDLES = ["h1", "h2", "h3", "shared", "x"];

function randomStack(seed: number): { views: ResourceView[]; refs: PropValue[] } {
    let s = seed;
    const rnd = (n: number) => ((s = (s * 1103515245 + 12345) & 0x7fffffff) % n);
    const pick = <T>(xs: readonly T[]) => xs[rnd(xs.length)];
    const views: ResourceView[] = [];
    for (let i = 0; i < 12; i++) {
        const type = pick(TYPES);
        const props: Record<string, PropValue> = {};
        for (const key of ["id", "arn", "name", "keyId"]) if (rnd(3) === 0) props[key] = pick(HANDLES);
        if (rnd(5) === 0) props.name = new SecretValue("h1", rnd(2) === 0);
        const view: ResourceView = { urn: `urn:pulumi:dev::p::${type}::${pick(HANDLES)}${i}`, type, name: pick(HANDLES), props, region: "ap-northeast-1", isProvider: false };
        if (rnd(2) === 0) view.id = pick(HANDLES);
        views.push(view);
        // the same view twice in the list: indexed once, at its first place
        if (rnd(10) === 0) views.push(view);
    }
    const refs: PropValue[] = [...HANDLES, "", "nothing", UNKNOWN, 3, null, new SecretValue("shared", true), new SecretValue("shared", false), views[0].urn];
    return { views, refs };
}

describe("policy core: stack view shortcuts", () => {
    it("resolveOfType and resolve answer what resolveAll answers, whatever is shared", () => {
        const typeSets = [[TYPES[0]], [TYPES[1], TYPES[0]], [TYPES[2], TYPES[3]], TYPES, [TYPES[3], TYPES[3]], ["aws:none:None"], []];
        let compared = 0;
        for (let seed = 1; seed <= 300; seed++) {
            const { views, refs } = randomStack(seed);
            for (const ref of refs) {
                // A fresh view per question: the per-type indexes are built on demand, in any order.
                for (const types of typeSets) {
                    const stack = buildStackView(views, "dev");
                    const expected = stack.resolveAll(ref).find((r) => types.includes(r.type));
                    assert.equal(resolveOfType(buildStackView(views, "dev"), ref, types), expected, `seed ${seed}, ref ${String(ref)}, types ${types}`);
                    assert.equal(resolveOfType(stack, ref, types), expected);
                    compared++;
                }
                const stack = buildStackView(views, "dev");
                assert.equal(stack.resolve(ref), stack.resolveAll(ref)[0]);
            }
        }
        assert.ok(compared > 10_000);
    });

    it("a stack view without the shortcut still resolves by type", () => {
        const a: ResourceView = { urn: "urn:pulumi:dev::p::aws:kms/key:Key::a", type: "aws:kms/key:Key", name: "a", props: { id: "k" }, region: "ap-northeast-1", isProvider: false };
        const plain: StackView = { resources: [a], ofType: () => [a], resolve: (ref) => (ref === "k" ? a : undefined) };
        assert.equal(resolveOfType(plain, "k", ["aws:kms/key:Key"]), a);
        assert.equal(resolveOfType(plain, "k", ["aws:kms/alias:Alias"]), undefined);
    });
});

describe("policy core: reading one top-level property", () => {
    it("answers and fails exactly as the general path does", () => {
        const values: PropValue[] = ["s", 0, false, null, undefined, UNKNOWN, new SecretValue("p", true), new SecretValue(undefined, true), new SecretValue("p", false), [1], { b: 1 }];
        const outcome = (f: () => PropValue) => {
            try {
                return { value: f() };
            } catch (err) {
                return { error: err instanceof CannotCheckError ? `cannot-check: ${err.message}` : String(err) };
            }
        };
        const holders: PropValue[] = [...values, ...values.map((v): PropValue => ({ a: v })), ...values.map((v): PropValue => ({ "": v }))];
        for (const holder of holders) {
            for (const path of ["a", ""]) {
                assert.deepEqual(
                    outcome(() => read(holder, path)),
                    outcome(() => read(holder, [path])),
                    `${path} of ${JSON.stringify(holder)}`,
                );
            }
        }
    });
});
