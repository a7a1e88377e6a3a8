// Plans a stack with no cloud and no CLI: runs index.ts in-process under Pulumi's mocks
// with the stack's configuration and returns every resource it would create.
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { resolve, runUnderMocks } from "./mocks";
import { loadStackConfig } from "./stack-config";
import { PlannedStack } from "./types";

const PROGRAM = path.resolve(__dirname, "..", "index.ts");

export interface PlanOptions {
    /** Extra or replaced config values, `project:key` -> string (tests use this for bad values). */
    configOverrides?: Record<string, string>;
    projectDir?: string;
}

async function resolveOutputs(exports: Record<string, unknown>): Promise<Record<string, unknown>> {
    const outputs: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(exports)) {
        const resolved = await resolve(value as pulumi.Input<unknown>);
        outputs[key] = pulumi.Output.isInstance(value) && (await pulumi.isSecret(value)) ? "[secret]" : resolved;
    }
    return outputs;
}

export async function planStack(stack: string, options: PlanOptions = {}): Promise<PlannedStack> {
    const config = loadStackConfig(stack, options.projectDir);
    const values = { ...config.values, ...options.configOverrides };
    const { value: outputs, resources } = await runUnderMocks(
        async () => {
            // A fresh copy of the program per stack: index.ts runs top to bottom on require.
            delete require.cache[require.resolve(PROGRAM)];
            return resolveOutputs(require(PROGRAM));
        },
        { project: config.project, stack, config: values, secretKeys: config.secretKeys, defaultRegion: values["aws:region"] },
    );
    const visibleConfig = Object.fromEntries(Object.entries(values).map(([k, v]) => [k, config.secretKeys.includes(k) ? "[secret]" : v]));
    return { project: config.project, stack, config: visibleConfig, resources, outputs };
}
