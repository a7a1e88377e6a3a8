// Editing a stack export the way a mutation needs: find a resource of the program by
// type and name, change a property where the engine would record it (inputs and
// outputs, outputs only, inputs only), add resources shaped like the program's own.
import { ExportedResource, SECRET_SIG, SIG_KEY, StackExport } from "../../plan/export";

export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
/** A secret as the engine hands it to CrossGuard and the mocks record it (the audit sees it sealed). */
export const secret = (value: unknown) => ({ [SIG_KEY]: SECRET_SIG, value });

type Where = "both" | "inputs" | "outputs";

function setPath(bag: Record<string, unknown>, path: string, value: unknown): void {
    const keys = path.split(".");
    let at: Record<string, unknown> = bag;
    for (const key of keys.slice(0, -1)) {
        const next = at[key];
        if (typeof next !== "object" || next === null) at[key] = /^\d+$/.test(key) ? [] : {};
        at = at[key] as Record<string, unknown>;
    }
    const last = keys[keys.length - 1];
    if (value === undefined) delete at[last];
    else at[last] = value;
}

export class Res {
    constructor(readonly record: ExportedResource) {}
    get urn(): string {
        return this.record.urn;
    }
    get id(): string {
        return this.record.id ?? "";
    }
    /** A value as the program declared it (inputs), else as recorded. */
    get(path: string): unknown {
        for (const bag of [this.record.inputs, this.record.outputs]) {
            let at: unknown = bag;
            for (const key of path.split(".")) at = at && typeof at === "object" ? (at as Record<string, unknown>)[key] : undefined;
            if (at !== undefined) return at;
        }
        return undefined;
    }
    /** Sets (undefined: removes) a property where the engine records it; `both` is what a program change does. */
    set(path: string, value: unknown, where: Where = "both"): this {
        if (where !== "outputs") setPath((this.record.inputs ??= {}), path, value);
        if (where !== "inputs") setPath((this.record.outputs ??= {}), path, value);
        return this;
    }
    unset(path: string, where: Where = "both"): this {
        return this.set(path, undefined, where);
    }
}

export class Stack {
    readonly stack: string;
    readonly project: string;
    constructor(readonly doc: StackExport) {
        const [, stack, project] = /^urn:pulumi:([^:]+)::([^:]+)::/.exec(doc.deployment.resources[0].urn)!;
        this.stack = stack;
        this.project = project;
    }
    get resources(): ExportedResource[] {
        return this.doc.deployment.resources;
    }
    /** The program's resource of `type` named `name` (the first of the type without a name). */
    find(type: string, name?: string): Res {
        const found = this.resources.find((r) => r.type === type && (name === undefined || r.urn.endsWith(`::${name}`)));
        if (!found) throw new Error(`corpus: the planned stack has no ${type}${name ? ` named ${name}` : ""}: regenerate the mutation from the program`);
        return new Res(found);
    }
    all(type: string): Res[] {
        return this.resources.filter((r) => r.type === type).map((r) => new Res(r));
    }
    /** The program's explicit AWS provider (every resource of the program uses it). */
    get provider(): Res {
        return this.find("pulumi:providers:aws");
    }
    providerRef(p: Res = this.provider): string {
        return `${p.urn}::${p.id}`;
    }
    /** The ARN of one of the program's KMS keys (`appi-data`, `appi-logs`, `appi-pii`, `appi-pii-l3`). */
    keyArn(name = "appi-data"): string {
        return String(this.find("aws:kms/key:Key", name).get("arn"));
    }
    subnetId(name: string): string {
        return this.find("aws:ec2/subnet:Subnet", name).id;
    }
    /** Adds a resource beside the program's own, under `parentType` (a component of the program), with the program's provider. */
    add(type: string, name: string, inputs: Record<string, unknown>, options: { outputs?: Record<string, unknown>; parentType?: string; provider?: Res | null; id?: string; region?: string } = {}): Res {
        const parent = options.parentType ? this.resources.find((r) => r.type === options.parentType) : undefined;
        const chain = parent ? `${parent.type}$${type}` : type;
        const urn = `urn:pulumi:${this.stack}::${this.project}::${chain}::${name}`;
        const id = options.id ?? name;
        const region = options.region ?? String(this.provider.get("region"));
        const [, module = "", kind = ""] = type.split(":");
        const arn = `arn:aws:${module.split("/")[0]}:${region}:123456789012:${kind.toLowerCase()}/${id}`;
        const isProvider = type.startsWith("pulumi:providers:");
        const record: ExportedResource = {
            urn,
            custom: true,
            id,
            type,
            inputs,
            outputs: { ...(isProvider ? {} : { id, arn }), ...inputs, ...(options.outputs ?? {}) },
            parent: parent?.urn ?? this.resources[0].urn,
        };
        if (!isProvider && options.provider !== null) record.provider = this.providerRef(options.provider ?? this.provider);
        this.resources.push(record);
        return new Res(record);
    }
    /** An explicit AWS provider for another region, as `new aws.Provider(name, { region })` records it. */
    addProvider(name: string, region: string): Res {
        const tags = this.provider.get("defaultTags");
        return this.add("pulumi:providers:aws", name, { region, skipCredentialsValidation: "false", skipRegionValidation: "true", ...(tags ? { defaultTags: tags } : {}) }, { id: `${name}-provider-id` });
    }
    remove(res: Res): void {
        const i = this.resources.indexOf(res.record);
        if (i >= 0) this.resources.splice(i, 1);
    }
}
