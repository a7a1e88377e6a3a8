// Mocha's spec reporter, plus a machine-readable summary for .ci/run when CI_SUMMARY_FILE is set.
"use strict";
const fs = require("fs");
const Mocha = require("mocha");
const { EVENT_RUN_END } = Mocha.Runner.constants;

class CiReporter extends Mocha.reporters.Spec {
    constructor(runner, options) {
        super(runner, options);
        runner.once(EVENT_RUN_END, () => {
            const file = process.env.CI_SUMMARY_FILE;
            if (!file) return;
            const { passes, failures, pending } = runner.stats ?? this.stats;
            fs.appendFileSync(file, JSON.stringify({ passed: passes, failed: failures, skipped: pending }) + "\n");
        });
    }
}
module.exports = CiReporter;
