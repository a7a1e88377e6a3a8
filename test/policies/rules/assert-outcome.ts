// Assertions on rule outcomes that show the whole outcome when they fail.
import assert from "node:assert/strict";
import { Outcome } from "../../../policies/core/types";

export function assertCompliant(outcome: Outcome): void {
    assert.equal(outcome.kind, "compliant", `expected compliant, got ${JSON.stringify(outcome)}`);
}

export function assertNotApplicable(outcome: Outcome): void {
    assert.equal(outcome.kind, "not-applicable", `expected not-applicable, got ${JSON.stringify(outcome)}`);
}

/** Non-compliant, and some message matches each pattern. */
export function assertViolation(outcome: Outcome, ...patterns: RegExp[]): void {
    assert.equal(outcome.kind, "non-compliant", `expected non-compliant, got ${JSON.stringify(outcome)}`);
    if (outcome.kind !== "non-compliant") return;
    for (const pattern of patterns) {
        assert.ok(outcome.messages.some((m) => pattern.test(m)), `no message matches ${pattern}: ${JSON.stringify(outcome.messages)}`);
    }
}

export function assertCannotCheck(outcome: Outcome, pattern: RegExp = /could not be checked/): void {
    assert.equal(outcome.kind, "cannot-check", `expected cannot-check, got ${JSON.stringify(outcome)}`);
    if (outcome.kind === "cannot-check") assert.match(outcome.message, pattern);
}
