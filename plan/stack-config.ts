// Builds a stack's effective configuration the way the Pulumi CLI would: defaults from
// the `config:` schema of Pulumi.yaml, overlaid with Pulumi.<stack>.yaml. As strict as the
// CLI, and stricter where YAML would silently change a value: a key the project does not
// declare, a plain-text value for a key declared `secret: true`, and a version string YAML
// reads as a number (16.10 -> 16.1, 7.0 -> 7) are errors that name the key and the fix.
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

export class StackConfigError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "StackConfigError";
    }
}

interface YamlFile {
    name: string;
    text: string;
    doc: YAML.Document.Parsed;
}

function readYaml(file: string): YamlFile {
    const name = path.basename(file);
    if (!fs.existsSync(file)) throw new StackConfigError(`${name} not found in ${path.dirname(file)}`);
    const text = fs.readFileSync(file, "utf8").replace(/^\uFEFF/, "");
    const doc = YAML.parseDocument(text);
    if (doc.errors.length) throw new StackConfigError(`${name} is not valid YAML: ${doc.errors[0].message}`);
    return { name, text, doc };
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

/** The `config:` map of a file as (key, value node) pairs, in file order. */
function configEntries(file: YamlFile): { key: string; node: unknown }[] {
    const config = file.doc.get("config", true);
    if (config === undefined || config === null) return [];
    if (!YAML.isMap(config)) throw new StackConfigError(`${file.name}: config must be a map of keys to values`);
    return config.items.map((pair) => ({ key: String(YAML.isScalar(pair.key) ? pair.key.value : pair.key), node: pair.value }));
}

/** The text as written in the file, e.g. `16.10` for a value YAML read as 16.1. */
function sourceText(file: YamlFile, node: unknown): string {
    const range = YAML.isNode(node) ? node.range : undefined;
    return range ? file.text.slice(range[0], range[1]).trim() : String(YAML.isScalar(node) ? node.value : node);
}

/**
 * A key declared `type: string` whose value YAML read as a number or boolean: `16.10` would
 * reach the program as "16.1", `7.0` as "7". Quote it.
 */
function checkStringScalar(file: YamlFile, key: string, node: unknown, declaredType: unknown, fixCommand: string): void {
    if (declaredType !== "string" || !YAML.isScalar(node)) return;
    const value = node.value;
    if (typeof value === "string" || value === null) return;
    const written = sourceText(file, node);
    throw new StackConfigError(
        `${file.name}: ${key} is a string in Pulumi.yaml, but YAML reads ${written} as the ${typeof value} ${JSON.stringify(value)}` +
            `${String(value) !== written ? ` (the program would get "${String(value)}")` : ""}. Fix: quote it, ${key}: "${written}"${fixCommand ? `, or run ${fixCommand.replace("VALUE", `'${written}'`)}` : ""}`,
    );
}

export function loadStackConfig(stack: string, projectDir: string = path.resolve(__dirname, "..")): StackConfig {
    const projectFile = readYaml(path.join(projectDir, "Pulumi.yaml"));
    const project = (projectFile.doc.toJS() ?? {}) as { name?: unknown; config?: Record<string, unknown> };
    if (typeof project.name !== "string") throw new StackConfigError("Pulumi.yaml has no project name");
    const projectName = project.name;
    const qualify = (key: string) => (key.includes(":") ? key : `${projectName}:${key}`);
    const bare = (key: string) => (key.startsWith(`${projectName}:`) ? key.slice(projectName.length + 1) : key);

    // The project's schema: what each key is, whether it is secret.
    const schema = new Map<string, { type?: unknown; secret: boolean }>();
    const values: Record<string, string> = {};
    const secretKeys: string[] = [];
    for (const { key, node } of configEntries(projectFile)) {
        const spec = YAML.isNode(node) ? node.toJSON() : node;
        const isSpec = spec !== null && typeof spec === "object" && !Array.isArray(spec);
        const qualified = qualify(key);
        schema.set(qualified, { type: isSpec ? (spec as { type?: unknown }).type : undefined, secret: isSpec && (spec as { secret?: unknown }).secret === true });
        if (isSpec && YAML.isMap(node)) {
            for (const field of ["default", "value"]) checkStringScalar(projectFile, `${qualified} (${field})`, node.get(field, true), (spec as { type?: unknown }).type, "");
        }
        const value = isSpec ? ((spec as { value?: unknown }).value ?? (spec as { default?: unknown }).default) : spec;
        if (value !== undefined) values[qualified] = asConfigString(value);
    }

    const stackFile = readYaml(path.join(projectDir, `Pulumi.${stack}.yaml`));
    for (const { key, node } of configEntries(stackFile)) {
        const qualified = qualify(key);
        const declared = schema.get(qualified);
        const inProject = qualified.startsWith(`${projectName}:`);
        if (inProject && !declared) {
            const known = [...schema.keys()].filter((k) => k.startsWith(`${projectName}:`)).map(bare);
            const close = known.find((k) => k.toLowerCase() === bare(qualified).toLowerCase()) ?? known.find((k) => editDistance(k.toLowerCase(), bare(qualified).toLowerCase()) <= 2);
            throw new StackConfigError(
                `${stackFile.name}: ${qualified} is not a configuration key of project ${projectName} (Pulumi.yaml declares none by that name).` +
                    ` Fix: ${close ? `did you mean ${projectName}:${close}? ` : ""}rename it, or declare it under config: in Pulumi.yaml, or remove it with pulumi config rm ${bare(qualified)} -s ${stack}`,
            );
        }
        const value = YAML.isNode(node) ? node.toJSON() : node;
        if (value && typeof value === "object" && !Array.isArray(value) && "secure" in value) {
            values[qualified] = ENCRYPTED_PLACEHOLDER;
            secretKeys.push(qualified);
            continue;
        }
        if (declared?.secret) {
            throw new StackConfigError(
                `${stackFile.name}: ${qualified} is declared secret: true in Pulumi.yaml, but this file holds it in plain text.` +
                    ` Fix: pulumi config set --secret ${bare(qualified)} <value> -s ${stack} (it replaces the plain value with an encrypted one), and rotate the value: it is in git history`,
            );
        }
        checkStringScalar(stackFile, qualified, node, declared?.type, `pulumi config set ${bare(qualified)} VALUE -s ${stack}`);
        values[qualified] = asConfigString(value);
    }
    return { project: projectName, values, secretKeys };
}

/** Levenshtein distance, for "did you mean" on a misspelled key. */
function editDistance(a: string, b: string): number {
    const row = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
        let diagonal = row[0];
        row[0] = i;
        for (let j = 1; j <= b.length; j++) {
            const above = row[j];
            row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
            diagonal = above;
        }
    }
    return row[b.length];
}
