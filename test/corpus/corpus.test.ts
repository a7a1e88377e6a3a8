// The adversarial corpus (test/corpus/mutations.ts) through the three runners: the
// stack-export audit, the offline check and the CrossGuard pack over gRPC (one pack
// process for the whole corpus). Every mutation must be decided as it expects by every
// runner, and the runners must agree, unless known-gaps.ts says why not.
// `CORPUS_REPORT=1` prints a per-rule table.
import assert from "node:assert/strict";
import { exportPlannedStack, StackExport } from "../../plan/export";
import { planStack } from "../../plan/run";
import { rules } from "../../policies/rules";
import { KnownDisagreement, KnownGap, RunnerName, knownDisagreements, knownGaps } from "./known-gaps";
import { Mutation, mutations } from "./mutations";
import { CrossGuardPack, Findings, auditFindings, findingKey, offlineFindings } from "./runners";
import { Stack } from "./stack";

const RUNNERS: RunnerName[] = ["audit", "offline", "crossguard"];
const packRuleIds = new Set(rules.map((r) => r.id));

/** The rule a mutation names: the first of its alternatives that is in the pack. */
export function ruleOf(m: Mutation): string | undefined {
    return m.rule.split("|").find((id) => packRuleIds.has(id));
}

interface Outcome {
    mutation: Mutation;
    rule?: string;
    urn: string;
    findings: Record<RunnerName, Findings>;
    /** Per runner: why the expectation is not met ("" when it is). */
    misses: Record<RunnerName, string>;
    /** Findings where a runner differs from the audit: `rule|urn` -> "audit=x crossguard=y". */
    disagreements: { rule: string; runner: RunnerName; detail: string }[];
}

const clone = (doc: StackExport): StackExport => JSON.parse(JSON.stringify(doc)) as StackExport;
const show = (f: Findings) => [...f].map(([k, v]) => `${k}=${v}`).sort();

function miss(m: Mutation, rule: string | undefined, urn: string, found: Findings, baseline: Findings, runner: RunnerName): string {
    if (!rule) return `none of ${m.rule} is in the pack`;
    const verdict = found.get(findingKey(rule, urn));
    if (m.expect === "fail") return verdict === "fail" ? "" : `${rule} did not flag ${urn} (${verdict ?? "silent"})`;
    if (m.expect === "unchecked") return verdict === "unchecked" ? "" : `${rule} did not report ${urn} as could-not-be-checked (${verdict ?? "silent"})`;
    // A compliant rewrite: the named rule is silent on it, and no rule flags it anew
    // (a rule this runner is known to decide differently aside).
    if (verdict) return `${rule} flagged a compliant rewrite of ${urn} (${verdict})`;
    const added = [...found]
        .filter(([k, v]) => k.endsWith(`|${urn}`) && baseline.get(k) !== v && !disagreementFor(k.split("|")[0], runner))
        .map(([k, v]) => `${k}=${v}`);
    return added.length ? `a compliant rewrite raised new findings: ${added.join(", ")}` : "";
}

function disagreements(findings: Record<RunnerName, Findings>): Outcome["disagreements"] {
    const out: Outcome["disagreements"] = [];
    const reference = findings.audit;
    for (const runner of ["offline", "crossguard"] as const) {
        const other = findings[runner];
        for (const key of new Set([...reference.keys(), ...other.keys()])) {
            if (reference.get(key) === other.get(key)) continue;
            out.push({ rule: key.split("|")[0], runner, detail: `${key}: audit=${reference.get(key) ?? "silent"} ${runner}=${other.get(key) ?? "silent"}` });
        }
    }
    return out;
}

const gapFor = (id: string, runner: RunnerName): KnownGap | undefined => knownGaps.find((g) => g.mutation === id && (!g.runners || g.runners.includes(runner)));
const disagreementFor = (rule: string, runner: RunnerName): KnownDisagreement | undefined => knownDisagreements.find((d) => d.rule === rule && d.runner === runner);

describe("adversarial corpus: mutations of the planned prod stack through audit, offline check and CrossGuard", function () {
    // One pack start (ts-node type-checks it) overlapped with planning the program.
    this.timeout(240_000);
    const pack = new CrossGuardPack();
    let baseline: Record<RunnerName, Findings>;
    let baselineDisagreements: Outcome["disagreements"] = [];
    const outcomes = new Map<string, Outcome>();

    before(async () => {
        const started = pack.start({ stack: "prod", region: "ap-northeast-1" });
        const planned = await planStack("prod");
        const doc = exportPlannedStack(planned, { secrets: "plaintext" });
        const run = async (d: StackExport): Promise<Record<RunnerName, Findings>> => ({ audit: auditFindings(d), offline: offlineFindings(d, planned.config), crossguard: await pack.findings(d) });
        await started;
        baseline = await run(doc);
        baselineDisagreements = disagreements(baseline);
        // Batched: a few stacks in flight at once keep the pack busy without flooding it.
        const queue = [...mutations];
        const worker = async () => {
            for (let m = queue.shift(); m; m = queue.shift()) {
                const stack = new Stack(clone(doc));
                const urn = m.apply(stack);
                const rule = ruleOf(m);
                // Through JSON, as a real export file: no undefined left by a mutation's spread.
                const findings = await run(clone(stack.doc));
                const misses = Object.fromEntries(RUNNERS.map((r) => [r, miss(m!, rule, urn, findings[r], baseline[r], r)])) as Record<RunnerName, string>;
                outcomes.set(m.id, { mutation: m, rule, urn, findings, misses, disagreements: disagreements(findings) });
            }
        };
        const t0 = Date.now();
        await Promise.all([worker(), worker(), worker()]);
        if (process.env.CORPUS_REPORT) process.stdout.write(`corpus: ${mutations.length} mutations in ${Date.now() - t0} ms after the baseline\n`);
        if (process.env.CORPUS_REPORT) printReport([...outcomes.values()]);
    });

    after(() => pack.stop());

    it("the compliant prod export: no mandatory violation in any runner, and the runners agree", () => {
        for (const runner of RUNNERS) {
            const fails = [...baseline[runner]].filter(([k, v]) => v === "fail" && !k.startsWith("resource-types-reviewed|") && !disagreementFor(k.split("|")[0], runner));
            assert.deepEqual(fails, [], `${runner} flags the compliant prod stack`);
        }
        const unexplained = baselineDisagreements.filter((d) => !disagreementFor(d.rule, d.runner));
        assert.deepEqual(unexplained.map((d) => d.detail), []);
    });

    it("has at least 120 mutations, unique ids, and a failing and a passing mutation for every rule of the pack", () => {
        assert.ok(mutations.length >= 120, `${mutations.length} mutations`);
        assert.equal(new Set(mutations.map((m) => m.id)).size, mutations.length, "mutation ids are unique");
        const missing: string[] = [];
        for (const rule of packRuleIds) {
            const mine = mutations.filter((m) => ruleOf(m) === rule);
            if (!mine.some((m) => m.expect === "fail")) missing.push(`${rule}: no failing mutation`);
            if (!mine.some((m) => m.expect === "pass")) missing.push(`${rule}: no passing mutation`);
        }
        assert.deepEqual(missing, []);
        for (const m of mutations) assert.ok(ruleOf(m), `${m.id}: none of ${m.rule} is in the pack`);
    });

    it("known gaps and disagreements name real mutations and rules", () => {
        const ids = new Set(mutations.map((m) => m.id));
        for (const g of knownGaps) assert.ok(ids.has(g.mutation), `known gap names no mutation: ${g.mutation}`);
        for (const d of knownDisagreements) assert.ok(packRuleIds.has(d.rule), `known disagreement names no rule: ${d.rule}`);
        const seen = [...baselineDisagreements, ...[...outcomes.values()].flatMap((o) => o.disagreements)];
        for (const d of knownDisagreements) assert.ok(seen.some((s) => s.rule === d.rule && s.runner === d.runner), `known disagreement no longer happens (delete it): ${d.rule} ${d.runner}`);
    });

    for (const m of mutations) {
        it(`${m.expect.padEnd(9)} ${m.id} (${m.trick})`, () => {
            const o = outcomes.get(m.id);
            assert.ok(o, "not run");
            const problems: string[] = [];
            for (const runner of RUNNERS) {
                const gap = gapFor(m.id, runner);
                if (o.misses[runner] && !gap) problems.push(`${runner}: ${o.misses[runner]}`);
                if (!o.misses[runner] && gap) problems.push(`${runner}: known gap is now decided as expected; remove it from known-gaps.ts (${gap.reason})`);
            }
            // A runner that misses a known gap disagrees with the others there, for the same reason.
            for (const d of o.disagreements) if (!disagreementFor(d.rule, d.runner) && !gapFor(m.id, d.runner) && !gapFor(m.id, "audit")) problems.push(`runners disagree: ${d.detail}`);
            assert.deepEqual(problems, [], `\n${RUNNERS.map((r) => `${r}: ${show(o.findings[r]).join(" ")}`).join("\n")}`);
        });
    }
});

function printReport(outcomes: Outcome[]): void {
    const byRule = new Map<string, Outcome[]>();
    for (const o of outcomes) {
        const rule = o.rule ?? o.mutation.rule;
        byRule.set(rule, [...(byRule.get(rule) ?? []), o]);
    }
    const rows = [["rule", "fail", "pass", "unchecked", ...RUNNERS.map((r) => `${r} ok`), "known gaps"]];
    for (const rule of [...byRule.keys()].sort()) {
        const list = byRule.get(rule)!;
        const count = (e: string) => String(list.filter((o) => o.mutation.expect === e).length);
        const ok = (r: RunnerName) => `${list.filter((o) => !o.misses[r]).length}/${list.length}`;
        rows.push([rule, count("fail"), count("pass"), count("unchecked"), ...RUNNERS.map(ok), String(knownGaps.filter((g) => list.some((o) => o.mutation.id === g.mutation)).length)]);
    }
    const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
    process.stdout.write(`\n${rows.map((r) => r.map((c, i) => c.padEnd(widths[i])).join("  ")).join("\n")}\n${outcomes.length} mutations, ${knownGaps.length} known gaps\n\n`);
}
