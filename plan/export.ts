// Turns a stack planned under mocks (plan/run.ts) into what `pulumi stack export`
// prints for that stack once deployed: a version 3 deployment with the stack root,
// the default providers the engine would have created, and every resource with its
// urn, custom flag, id, type, inputs, outputs, parent, provider and dependencies.
//
// Secrets: the engine writes them as `{sig, ciphertext}`; `secrets: "plaintext"` keeps
// the `{sig, value}` envelope the mocks recorded instead (the form CrossGuard and the
// offline check see), so a test can derive both from one document (`sealSecrets`).
import * as crypto from "node:crypto";
import { PlannedResource, PlannedStack } from "./types";

export const SIG_KEY = "4dabf18193072939515e22adb298388d";
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

export interface ExportedResource {
    urn: string;
    custom: boolean;
    id?: string;
    type: string;
    inputs?: Record<string, unknown>;
    outputs?: Record<string, unknown>;
    parent?: string;
    provider?: string;
    protect?: boolean;
    dependencies?: string[];
    created?: string;
    modified?: string;
}

export interface StackExport {
    version: 3;
    deployment: {
        manifest: { time: string; magic: string; version: string };
        secrets_providers: { type: string; state: Record<string, unknown> };
        resources: ExportedResource[];
    };
}

export interface ExportOptions {
    /** `ciphertext` (default) as a real export; `plaintext` keeps the mocks' secret envelopes. */
    secrets?: "ciphertext" | "plaintext";
    /** Timestamp written as created/modified and in the manifest (fixed by default, so exports are reproducible). */
    time?: string;
}

const FIXED_TIME = "2026-11-20T01:02:03.000Z";
const PULUMI_VERSION = "v3.248.0";

/** Provider plugin versions the engine records for default providers. */
const PACKAGE_VERSIONS: Record<string, string> = { aws: "7.48.0", random: "4.21.2" };

function isSecretEnvelope(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null && !Array.isArray(value) && (value as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;
}

/** A stable stand-in for the passphrase provider's ciphertext: unreadable, and the same for the same plaintext. */
function ciphertextOf(value: unknown): string {
    return `v1:${crypto.createHash("sha256").update(JSON.stringify(value ?? null)).digest("base64").slice(0, 16)}:${crypto.createHash("sha1").update(`appi:${JSON.stringify(value ?? null)}`).digest("base64")}`;
}

/** A copy of `value` with every `{sig, value}` secret envelope written as the engine stores it, `{sig, ciphertext}`. */
export function sealSecrets<T>(value: T): T {
    if (Array.isArray(value)) return value.map((v) => sealSecrets(v)) as T;
    if (typeof value !== "object" || value === null) return value;
    if (isSecretEnvelope(value)) return ("ciphertext" in value ? { ...value } : { [SIG_KEY]: SECRET_SIG, ciphertext: ciphertextOf(value.value) }) as T;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = sealSecrets(v);
    return out as T;
}

const deepCopy = <T>(value: T): T => (value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T));

function stackUrn(planned: PlannedStack): string {
    return `urn:pulumi:${planned.stack}::${planned.project}::pulumi:pulumi:Stack::${planned.project}-${planned.stack}`;
}

/** The package of a type token: `aws:rds/instance:Instance` -> `aws`. */
const packageOf = (type: string) => type.split(":")[0];

/** The default provider the engine creates for a package: `urn:...::pulumi:providers:aws::default_7_48_0`. */
function defaultProvider(planned: PlannedStack, pkg: string, parent: string): { resource: ExportedResource; ref: string } {
    const version = PACKAGE_VERSIONS[pkg] ?? "0.0.0";
    const name = `default_${version.replace(/\./g, "_")}`;
    const urn = `urn:pulumi:${planned.stack}::${planned.project}::pulumi:providers:${pkg}::${name}`;
    const id = crypto.createHash("sha256").update(urn).digest("hex").replace(/^(.{8})(.{4})(.{3})(.{3})(.{12}).*$/, "$1-$2-4$3-8$4-$5");
    const inputs: Record<string, unknown> = { version };
    if (pkg === "aws") {
        inputs.region = planned.config["aws:region"];
        inputs.skipCredentialsValidation = "false";
        inputs.skipRegionValidation = "true";
    }
    return { resource: { urn, custom: true, id, type: `pulumi:providers:${pkg}`, inputs, outputs: { ...inputs }, parent, created: undefined, modified: undefined }, ref: `${urn}::${id}` };
}

function exportedResource(r: PlannedResource, root: string, provider: string | undefined, time: string): ExportedResource {
    const out: ExportedResource = { urn: r.urn, custom: r.custom, type: r.type };
    if (r.custom) out.id = r.id;
    if (r.custom) out.inputs = deepCopy(r.inputs);
    // A component's state records its registered outputs only; the mocks echo none.
    out.outputs = r.custom ? deepCopy(r.state) : {};
    out.parent = r.parent ?? root;
    if (provider) out.provider = provider;
    if (r.dependencies?.length) out.dependencies = [...r.dependencies];
    out.created = time;
    out.modified = time;
    return out;
}

/** The `pulumi stack export` of a planned stack (see the file comment). */
export function exportPlannedStack(planned: PlannedStack, options: ExportOptions = {}): StackExport {
    const time = options.time ?? FIXED_TIME;
    const root = stackUrn(planned);
    const resources: ExportedResource[] = [{ urn: root, custom: false, type: "pulumi:pulumi:Stack", outputs: deepCopy(planned.outputs), created: time, modified: time }];
    // Default providers come first in state, before the first resource that uses one.
    const defaults = new Map<string, { resource: ExportedResource; ref: string }>();
    for (const r of planned.resources) {
        if (!r.custom || r.provider || r.type.startsWith("pulumi:providers:")) continue;
        const pkg = packageOf(r.type);
        if (!defaults.has(pkg)) {
            const made = defaultProvider(planned, pkg, root);
            made.resource.created = made.resource.modified = time;
            defaults.set(pkg, made);
            resources.push(made.resource);
        }
    }
    for (const r of planned.resources) {
        const provider = r.provider ?? (r.custom && !r.type.startsWith("pulumi:providers:") ? defaults.get(packageOf(r.type))?.ref : undefined);
        resources.push(exportedResource(r, root, provider, time));
    }
    const doc: StackExport = {
        version: 3,
        deployment: {
            manifest: { time, magic: crypto.createHash("sha256").update(`${planned.project}/${planned.stack}`).digest("hex"), version: PULUMI_VERSION },
            secrets_providers: { type: "passphrase", state: { salt: "v1:c2FsdHNhbHQ=:v1:ZGV0ZXJtaW5pc3RpYw==:cGxhbm5lZCBzdGFjayBleHBvcnQ=" } },
            resources,
        },
    };
    return options.secrets === "plaintext" ? doc : sealSecrets(doc);
}

/** The planned stack a stack export describes (what the offline check evaluates): the inverse of `exportPlannedStack`. */
export function plannedStackOfExport(doc: StackExport, config: Record<string, string>): PlannedStack {
    const resources = doc.deployment.resources;
    const root = resources.find((r) => r.type === "pulumi:pulumi:Stack");
    const [, stack = "", project = ""] = /^urn:pulumi:([^:]+)::([^:]+)::/.exec(resources[0]?.urn ?? "") ?? [];
    return {
        project,
        stack,
        config,
        outputs: root?.outputs ?? {},
        resources: resources.map((r) => ({
            urn: r.urn,
            type: r.type,
            name: r.urn.split("::").slice(3).join("::"),
            id: r.id ?? "",
            custom: r.custom,
            inputs: r.inputs ?? {},
            state: r.outputs ?? {},
            provider: r.provider,
            parent: r.parent,
            dependencies: r.dependencies,
        })),
    };
}
