// Turns the pack config file the other runners read (a partial PackConfig) into
// CrossGuard's per-policy config for `pulumi preview --policy-pack policies
// --policy-pack-config FILE`, so one file per stack drives all three runners.
//
//   npx ts-node --transpile-only policies/runners/crossguard-config.ts --config policy.prod.json > crossguard.prod.json
import { parseArgs } from "node:util";
import { checkEnforcementKeys, enforcementFor } from "../core/engine";
import { PackConfig, Rule } from "../core/types";
import { rules as packRules } from "../rules";
import { loadConfigFile, runCli } from "./cli-support";
import { InputError } from "./errors";

export type CrossGuardPolicyConfig = Record<string, { enforcementLevel: string } & Omit<PackConfig, "enforcement">>;

export function crossGuardPolicyConfig(config: PackConfig, rules: readonly Rule[] = packRules): CrossGuardPolicyConfig {
    checkEnforcementKeys(rules, config);
    const { enforcement: _perRule, ...settings } = config;
    return Object.fromEntries(rules.map((rule) => [rule.id, { enforcementLevel: enforcementFor(rule, config), ...settings }]));
}

export function main(argv: string[]): number {
    let values;
    try {
        ({ values } = parseArgs({ args: argv, options: { config: { type: "string" } } }));
    } catch (err) {
        throw new InputError(`${(err as Error).message}; usage: crossguard-config [--config FILE]`);
    }
    process.stdout.write(`${JSON.stringify(crossGuardPolicyConfig(loadConfigFile(values.config)), null, 2)}\n`);
    return 0;
}

if (require.main === module) void runCli("crossguard-config", () => main(process.argv.slice(2)));
