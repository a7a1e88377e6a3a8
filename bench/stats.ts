// Order statistics shared by the bench sections.

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: number[], p: number): number {
    return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** Median (nearest rank) of unsorted samples. */
export function median(values: number[]): number {
    return percentile([...values].sort((a, b) => a - b), 50);
}
