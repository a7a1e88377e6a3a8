// Every figure `npm run bench` prints sits beside a reference measured in the same run
// (or a fixed target from the spec), so the ratio is what is compared, not the raw time.

export interface BenchRow {
    /** What was measured, e.g. "audit 10,000-resource export". */
    name: string;
    value: number;
    unit: string;
    /** The reference it is compared with, e.g. "JSON.parse of the same file" or "spec target". */
    referenceLabel: string;
    reference: number;
    /** The goal for value / reference, e.g. 3 for "within 3x"; absent when the reference is itself the goal. */
    goalRatio?: number;
    /** A figure shown for comparison only: it has no goal, so no verdict (e.g. an older way of doing the same). */
    informational?: true;
}

export interface BenchOptions {
    /** 1 = the full sizes the issues name; smaller for quick runs. */
    scale: number;
}

export interface BenchSection {
    title: string;
    run(options: BenchOptions): Promise<BenchRow[]>;
}
