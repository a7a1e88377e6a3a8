// The bench's table: each figure's verdict comes from its ratio to the reference measured in the same run.
import { strict as assert } from "node:assert";
import { formatRows } from "../../bench/index";
import { BenchRow } from "../../bench/types";

const row = (over: Partial<BenchRow>): BenchRow => ({ name: "figure", value: 1, unit: "ms", referenceLabel: "reference", reference: 1, ...over });
const verdicts = (rows: BenchRow[]) => formatRows(rows).split("\n").slice(2).map((line) => line.trim().split(/\s{2,}/).pop());

describe("bench: verdicts", function () {
    it("a goal ratio is met or MISSED by the ratio; a spec target is within or OVER; an informational figure has no verdict", function () {
        assert.deepEqual(
            verdicts([
                row({ value: 1.4, goalRatio: 1.5 }),
                row({ value: 1.6, goalRatio: 1.5 }),
                row({ value: 50, reference: 100 }),
                row({ value: 150, reference: 100 }),
                // Slower than its reference, but shown for comparison only: never "OVER target".
                row({ value: 4.5, informational: true }),
            ]),
            ["goal ≤1.5x met", "goal ≤1.5x MISSED", "within target", "OVER target", "informational"],
        );
    });
});
