// The adversarial corpus (test/corpus/mutations.ts) through the three runners: the
// stack-export audit, the offline check and the CrossGuard pack over gRPC (one pack
// process for the whole corpus). Every mutation must be decided as it expects by every
// runner, and the runners must agree, unless known-gaps.ts says why not.
// `CORPUS_REPORT=1` prints a per-rule table.
import assert from "node:assert/strict";
import { exportPlannedStack, StackExport } from "../../plan/export";
import { planStack } from "../../plan/run";
import { rules } from "../../policies/rules";
import { KnownDisagreement, KnownGap, RunnerName, knownDisagreements, knownGaps, knownProgramFindings } from "./known-gaps";
import { Mutation, mutations } from "./mutations";
import { CrossGuardPack, Findings, auditFindings, findingKey, offlineFindings } from "./runners";
import { Stack } from "./stack";

const RUNNERS: RunnerName[] = ["audit", "offline", "crossguard"];
/** Mutations per shared CrossGuard stack. */
const BATCH = 24;

const urnOfKey = (key: string) => key.slice(key.indexOf("|") + 1);

/** The resources a mutation added or changed (and its target); local when it removed none and left providers and the stack alone. */
function touchedBy(before: StackExport, after: StackExport, target: string): { urns: Set<string>; local: boolean } {
    const was = new Map(before.deployment.resources.map((r) => [r.urn, JSON.stringify(r)]));
    const urns = new Set<string>([target]);
    for (const r of after.deployment.resources) if (was.get(r.urn) !== JSON.stringify(r)) urns.add(r.urn);
    const kept = new Set(after.deployment.resources.map((r) => r.urn));
    const removed = [...was.keys()].some((u) => !kept.has(u));
    const global = [...urns].some((u) => /::pulumi:(providers:|pulumi:Stack)/.test(u));
    return { urns, local: !removed && !global };
}

/** Copies a mutation's resources into a shared stack (replacing the originals, appending the new). */
function mergeInto(combined: StackExport, mutated: StackExport, urns: Set<string>): void {
    const list = combined.deployment.resources;
    for (const r of mutated.deployment.resources) {
        if (!urns.has(r.urn)) continue;
        const at = list.findIndex((x) => x.urn === r.urn);
        if (at >= 0) list[at] = r;
        else list.push(r);
    }
}

const restrict = (f: Findings, keep: (urn: string) => boolean) => new Map([...f].filter(([k]) => keep(urnOfKey(k))));
const same = (a: Findings, b: Findings) => a.size === b.size && [...a].every(([k, v]) => b.get(k) === v);
const sameOutside = (a: Findings, b: Findings, urns: Set<string>) => same(restrict(a, (u) => !urns.has(u)), restrict(b, (u) => !urns.has(u)));
const sameWithin = (a: Findings, b: Findings, urns: Set<string>) => same(restrict(a, (u) => urns.has(u)), restrict(b, (u) => urns.has(u)));
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
        await started;
        const t0 = Date.now();
        baseline = { audit: auditFindings(doc), offline: offlineFindings(doc, planned.config), crossguard: await pack.findings(doc) };
        baselineDisagreements = disagreements(baseline);
        // Every mutation through the audit and the offline check on its own (a few ms each).
        const runs = mutations.filter((m) => ruleOf(m) || !m.awaits).map((m) => {
            const stack = new Stack(clone(doc));
            const urn = m.apply(stack);
            // Through JSON, as a real export file: no undefined left by a mutation's spread.
            const mutated = clone(stack.doc);
            return { m, urn, doc: mutated, touched: touchedBy(doc, mutated, urn), audit: auditFindings(mutated), offline: offlineFindings(mutated, planned.config) };
        });
        // CrossGuard is the costly runner (the policy SDK deserialises the whole stack once per
        // policy): mutations that edit disjoint resources share one AnalyzeStack. A shared answer
        // is kept only where it cannot have mixed mutations up: nothing outside the batch's
        // resources changed, and on its own resources CrossGuard says what the audit said for
        // the mutation alone; anything else is asked again with the mutation alone.
        const crossguard = new Map<Mutation, Findings>();
        const alone = async (run: (typeof runs)[number]) => crossguard.set(run.m, await pack.findings(run.doc));
        // Local: the mutation's effects (as the audit sees them alone) stay on the resources it touched.
        const local = runs.filter((r) => r.touched.local && sameOutside(r.audit, baseline.audit, r.touched.urns));
        const batches: (typeof runs)[] = [];
        for (const run of local) {
            const batch = batches.find((b) => b.length < BATCH && b.every((other) => ![...run.touched.urns].some((u) => other.touched.urns.has(u))));
            if (batch) batch.push(run);
            else batches.push([run]);
        }
        const retry: (typeof runs)[number][] = runs.filter((r) => !local.includes(r));
        await Promise.all(
            batches.map(async (batch) => {
                const combined = clone(doc);
                for (const run of batch) mergeInto(combined, run.doc, run.touched.urns);
                const found = await pack.findings(combined);
                const inBatch = new Set(batch.flatMap((r) => [...r.touched.urns]));
                if (!sameOutside(found, baseline.crossguard, inBatch)) return void retry.push(...batch);
                for (const run of batch) {
                    const mine = new Map([...baseline.crossguard].filter(([k]) => !run.touched.urns.has(urnOfKey(k))));
                    for (const [k, v] of found) if (run.touched.urns.has(urnOfKey(k))) mine.set(k, v);
                    // Rules CrossGuard is known to decide differently aside (the comparison is for mix-ups, not for them).
                    const comparable = (f: Findings) => new Map([...f].filter(([k]) => !disagreementFor(k.split("|")[0], "crossguard")));
                    if (sameWithin(comparable(mine), comparable(run.audit), run.touched.urns)) crossguard.set(run.m, mine);
                    else retry.push(run);
                }
            }),
        );
        await Promise.all(retry.map(alone));
        for (const run of runs) {
            const rule = ruleOf(run.m);
            const findings = { audit: run.audit, offline: run.offline, crossguard: crossguard.get(run.m)! };
            const misses = Object.fromEntries(RUNNERS.map((r) => [r, miss(run.m, rule, run.urn, findings[r], baseline[r], r)])) as Record<RunnerName, string>;
            outcomes.set(run.m.id, { mutation: run.m, rule, urn: run.urn, findings, misses, disagreements: disagreements(findings) });
        }
        if (process.env.CORPUS_REPORT) {
            process.stdout.write(`corpus: ${runs.length} mutations run (${mutations.length - runs.length} awaiting their rule) in ${Date.now() - t0} ms after the pack started; CrossGuard: ${batches.length} shared stacks, ${retry.length} mutations asked alone\n`);
            printReport([...outcomes.values()]);
        }
    });

    after(() => pack.stop());

    it("the compliant prod export: no mandatory violation in any runner, and the runners agree", () => {
        for (const runner of RUNNERS) {
            const known = new Set(knownProgramFindings.map((f) => f.finding));
            const fails = [...baseline[runner]].filter(([k, v]) => v === "fail" && !k.startsWith("resource-types-reviewed|") && !known.has(k) && !disagreementFor(k.split("|")[0], runner));
            assert.deepEqual(fails, [], `${runner} flags the compliant prod stack`);
            for (const f of knownProgramFindings) assert.equal(baseline[runner].get(f.finding), "fail", `${runner}: known program finding no longer happens; remove it from known-gaps.ts: ${f.finding}`);
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
        for (const m of mutations) assert.ok(ruleOf(m) || m.awaits, `${m.id}: none of ${m.rule} is in the pack`);
    });

    it("known gaps and disagreements name real mutations and rules", () => {
        const ids = new Set(mutations.map((m) => m.id));
        for (const g of knownGaps) assert.ok(ids.has(g.mutation), `known gap names no mutation: ${g.mutation}`);
        for (const d of knownDisagreements) assert.ok(packRuleIds.has(d.rule), `known disagreement names no rule: ${d.rule}`);
        const seen = [...baselineDisagreements, ...[...outcomes.values()].flatMap((o) => o.disagreements)];
        for (const d of knownDisagreements) assert.ok(seen.some((s) => s.rule === d.rule && s.runner === d.runner), `known disagreement no longer happens (delete it): ${d.rule} ${d.runner}`);
    });

    for (const m of mutations) {
        it(`${m.expect.padEnd(9)} ${m.id} (${m.trick})`, function () {
            // Written for a rule another helper is landing: it runs from the moment the rule is in the pack.
            if (!ruleOf(m) && m.awaits) this.skip();
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
