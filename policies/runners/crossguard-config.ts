// Turns the pack config file the other runners read (a partial PackConfig) into
// CrossGuard's per-policy config for `pulumi preview --policy-pack policies
// --policy-pack-config FILE`, so one file per stack drives all three runners.
//
//   npx ts-node --transpile-only policies/runners/crossguard-config.ts --config policy.prod.json --exceptions exceptions.prod.json > crossguard.prod.json
//
// Exceptions go to the config of the policy they name (`exceptions`, the file's shape), where the
// pack applies them exactly as the offline check and the audit do.
import { checkEnforcementKeys, enforcementFor } from "../core/engine";
import { PackConfig, Rule } from "../core/types";
import { PolicyException } from "../exceptions";
import { rules as packRules } from "../rules";
import { canonicalRuleId } from "../rules/aliases";
import { CommandSpec, loadConfigFile, loadExceptionsFile, parseCommandLine, printHelp, runCli } from "./cli-support";

export type CrossGuardPolicyConfig = Record<string, { enforcementLevel: string; exceptions?: PolicyException[] } & Omit<PackConfig, "enforcement">>;

export function crossGuardPolicyConfig(config: PackConfig, rules: readonly Rule[] = packRules, exceptions: readonly PolicyException[] = []): CrossGuardPolicyConfig {
    checkEnforcementKeys(rules, config);
    const { enforcement: _perRule, ...settings } = config;
    return Object.fromEntries(
        rules.map((rule) => {
            // An exception under a retired rule id goes to the rule it was folded into (rules/aliases.ts).
            const own = exceptions.filter((e) => canonicalRuleId(e.rule) === rule.id);
            return [rule.id, { enforcementLevel: enforcementFor(rule, config), ...settings, ...(own.length ? { exceptions: own } : {}) }];
        }),
    );
}

export const CROSSGUARD_CONFIG_COMMAND = {
    invocation: "npx ts-node --transpile-only policies/runners/crossguard-config.ts",
    summary: "Prints the --policy-pack-config JSON for `pulumi preview --policy-pack policies` from the pack config and exceptions files the other runners read.",
    options: {
        config: { type: "string", value: "FILE", description: "pack config JSON (thresholds, allowed regions, enforcement overrides)" },
        exceptions: { type: "string", value: "FILE", description: "approved exceptions, filed under the policy each names" },
    },
    epilogue: ["Exit codes: 0 printed, 2 bad input or usage, 70 internal error."],
} satisfies CommandSpec;

export function main(argv: string[]): number {
    const line = parseCommandLine(CROSSGUARD_CONFIG_COMMAND, argv);
    if (line.help) return printHelp(line.usage);
    const { values } = line;
    const exceptions = loadExceptionsFile(values.exceptions, packRules.map((r) => r.id));
    process.stdout.write(`${JSON.stringify(crossGuardPolicyConfig(loadConfigFile(values.config), packRules, exceptions), null, 2)}\n`);
    return 0;
}

if (require.main === module) void runCli("crossguard-config", () => main(process.argv.slice(2)));
