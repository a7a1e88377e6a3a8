// Turns the pack config file the other runners read (a partial PackConfig) into
// CrossGuard's per-policy config for `pulumi preview --policy-pack policies
// --policy-pack-config FILE`, so one file per stack drives all three runners.
//
//   npx ts-node --transpile-only policies/runners/crossguard-config.ts --config policy.prod.json --exceptions exceptions.prod.json > crossguard.prod.json
//
// Exceptions go to the config of the policy they name (`exceptions`, the file's shape), where the
// pack applies them exactly as the offline check and the audit do.
import { parseArgs } from "node:util";
import { checkEnforcementKeys, enforcementFor } from "../core/engine";
import { PackConfig, Rule } from "../core/types";
import { PolicyException } from "../exceptions";
import { rules as packRules } from "../rules";
import { loadConfigFile, loadExceptionsFile, runCli } from "./cli-support";
import { InputError } from "./errors";

export type CrossGuardPolicyConfig = Record<string, { enforcementLevel: string; exceptions?: PolicyException[] } & Omit<PackConfig, "enforcement">>;

export function crossGuardPolicyConfig(config: PackConfig, rules: readonly Rule[] = packRules, exceptions: readonly PolicyException[] = []): CrossGuardPolicyConfig {
    checkEnforcementKeys(rules, config);
    const { enforcement: _perRule, ...settings } = config;
    return Object.fromEntries(
        rules.map((rule) => {
            const own = exceptions.filter((e) => e.rule === rule.id);
            return [rule.id, { enforcementLevel: enforcementFor(rule, config), ...settings, ...(own.length ? { exceptions: own } : {}) }];
        }),
    );
}

const USAGE = "usage: crossguard-config [--config FILE] [--exceptions FILE]";

export function main(argv: string[]): number {
    let values;
    try {
        ({ values } = parseArgs({ args: argv, options: { config: { type: "string" }, exceptions: { type: "string" }, help: { type: "boolean", short: "h" } } }));
    } catch (err) {
        throw new InputError(`${(err as Error).message}; ${USAGE}`);
    }
    if (values.help) {
        process.stdout.write(`${USAGE}\n`);
        return 0;
    }
    const exceptions = loadExceptionsFile(values.exceptions, packRules.map((r) => r.id));
    process.stdout.write(`${JSON.stringify(crossGuardPolicyConfig(loadConfigFile(values.config), packRules, exceptions), null, 2)}\n`);
    return 0;
}

if (require.main === module) void runCli("crossguard-config", () => main(process.argv.slice(2)));
