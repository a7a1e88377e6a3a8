// Builds a stack's effective configuration the way the Pulumi CLI would: defaults from
// the `config:` schema of Pulumi.yaml, overlaid with Pulumi.<stack>.yaml.
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";

export interface StackConfig {
    project: string;
    /** `namespace:key` -> string value, as `pulumi.runtime.setAllConfig` expects (JSON for lists and objects). */
    values: Record<string, string>;
    /** Keys holding secrets (`secure:` in the stack file). */
    secretKeys: string[];
}

export class StackConfigError extends Error {}

function readYaml(file: string): any {
    if (!fs.existsSync(file)) throw new StackConfigError(`${path.basename(file)} not found in ${path.dirname(file)}`);
    try {
        return YAML.parse(fs.readFileSync(file, "utf8")) ?? {};
    } catch (err) {
        throw new StackConfigError(`${path.basename(file)} is not valid YAML: ${(err as Error).message}`);
    }
}

/** The project's stacks: one `Pulumi.<stack>.yaml` per stack, as the CLI sees them (dev, then prod). */
export function listStacks(projectDir: string = path.resolve(__dirname, "..")): string[] {
    return fs
        .readdirSync(projectDir)
        .map((file) => /^Pulumi\.([A-Za-z0-9_.-]+)\.yaml$/.exec(file)?.[1])
        .filter((stack): stack is string => stack !== undefined)
        .sort();
}

const asConfigString = (value: unknown) => (typeof value === "string" ? value : JSON.stringify(value));

/** Placeholder for values encrypted by the stack's secrets provider, which only the CLI can decrypt. */
export const ENCRYPTED_PLACEHOLDER = "[encrypted secret: planned offline]";

export function loadStackConfig(stack: string, projectDir: string = path.resolve(__dirname, "..")): StackConfig {
    const project = readYaml(path.join(projectDir, "Pulumi.yaml"));
    if (typeof project.name !== "string") throw new StackConfigError("Pulumi.yaml has no project name");
    const qualify = (key: string) => (key.includes(":") ? key : `${project.name}:${key}`);

    const values: Record<string, string> = {};
    const secretKeys: string[] = [];
    for (const [key, spec] of Object.entries<any>(project.config ?? {})) {
        const value = spec && typeof spec === "object" && !Array.isArray(spec) ? (spec.value ?? spec.default) : spec;
        if (value !== undefined) values[qualify(key)] = asConfigString(value);
    }

    const stackFile = readYaml(path.join(projectDir, `Pulumi.${stack}.yaml`));
    for (const [key, value] of Object.entries<any>(stackFile.config ?? {})) {
        if (value && typeof value === "object" && "secure" in value) {
            values[qualify(key)] = ENCRYPTED_PLACEHOLDER;
            secretKeys.push(qualify(key));
        } else {
            values[qualify(key)] = asConfigString(value);
        }
    }
    return { project: project.name, values, secretKeys };
}
