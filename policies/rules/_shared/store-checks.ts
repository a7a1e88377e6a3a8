// The three general store checks (key, backups, placement) over the stores catalogue.
// Each reads the catalogue entry of the resource's type (one map lookup), walks the
// pre-parsed paths, and never copies the resource's props.
import { CannotCheckError, read, readNumber } from "../../core/props";
import { cannotCheck, combine, compliant, failIf, notApplicable } from "../../core/rule";
import { resolveOfType } from "../../core/stack-view";
import { Outcome, PackConfig, PropValue, Props, ResourceRule, ResourceView, RuleContext, SecretValue, StackView, UNKNOWN } from "../../core/types";
import { proveKey, provenByDependency } from "./kms";
import { referrersOf } from "./references";
import { BackupMethod, Delegate, KeyLocation, KeyMode, NO_PERSONAL_DATA, PERSONAL_DATA_TAG, ParsedPath, pathOf, StoreEntry, When } from "./stores";
import { subnetsNotPublic } from "./subnets";

/** A value found along a path, with the object that holds it (for the settings beside a key) and where it is. */
interface Found {
    value: PropValue;
    holder: Props | undefined;
    where: string;
}

/** A value nobody can read here: unknown during preview, or a secret in a stack export. */
function unreadable(value: PropValue): boolean {
    return value === UNKNOWN || (value instanceof SecretValue && (!value.readable || value.plaintext === undefined || value.plaintext === UNKNOWN));
}

function unwrap(value: PropValue): PropValue {
    return value instanceof SecretValue && value.readable ? (value.plaintext as PropValue) : value;
}

/**
 * Every value at `path` (lists marked `[]` walked element by element). An unreadable value on the
 * way is returned as found (so the caller decides), a missing level ends that branch.
 */
function collect(props: Props, path: ParsedPath): Found[] {
    // A top-level property (most keys: kmsKeyId, kmsKeyArn): what the walk below finds, without it.
    if (path.segments.length === 1 && !path.segments[0].each) return [{ value: unwrap(props[path.segments[0].name]), holder: props, where: path.text }];
    const out: Found[] = [];
    const walk = (current: PropValue, holder: Props | undefined, i: number, where: string): void => {
        if (i === path.segments.length) {
            out.push({ value: current, holder, where });
            return;
        }
        current = unwrap(current);
        if (unreadable(current)) {
            out.push({ value: UNKNOWN, holder: undefined, where: where || path.text });
            return;
        }
        if (current === null || current === undefined || typeof current !== "object") {
            if (i === 0) out.push({ value: undefined, holder: undefined, where: path.text });
            return;
        }
        // A list where one object is expected (or the reverse): its first element / itself.
        const obj = (Array.isArray(current) ? current[0] : current) as Props | undefined;
        if (obj === undefined || obj === null || typeof obj !== "object") return;
        const { name, each } = path.segments[i];
        const here = where ? `${where}.${name}` : name;
        const next = unwrap(obj[name]);
        if (!each) {
            if ((next === undefined || next === null) && i + 1 < path.segments.length) return;
            walk(next, obj, i + 1, here);
            return;
        }
        if (unreadable(next)) {
            out.push({ value: UNKNOWN, holder: undefined, where: here });
            return;
        }
        const items = next === undefined || next === null ? [] : Array.isArray(next) ? next : [next];
        for (let k = 0; k < items.length; k++) walk(items[k] as PropValue, obj, i + 1, `${here}[${k}]`);
    };
    walk(props as PropValue, undefined, 0, "");
    return out;
}

/** The value at a plain (no `[]`) path, or `awsDefault` when unset; throws CannotCheckError when unknown. */
function valueAt(props: Props | undefined, path: string, awsDefault?: PropValue): PropValue {
    if (!props) return awsDefault;
    const value = read(props, pathOf(path).names);
    return value === undefined || value === null ? awsDefault : value;
}

function asComparable(value: PropValue): PropValue {
    return value === "true" ? true : value === "false" ? false : value;
}

export function holds(when: When | undefined, props: Props): boolean {
    if (!when) return true;
    const value = valueAt(props, when.path, when.awsDefault);
    if (when.nonEmpty) {
        if (value === undefined || value === null || value === "") return false;
        if (Array.isArray(value)) return value.length > 0;
        if (typeof value === "object" && !(value instanceof SecretValue)) return Object.keys(value).length > 0;
        return true;
    }
    if (when.equals) return when.equals.some((v) => asComparable(v) === asComparable(value));
    return true;
}

/** False only when the store is tagged `appi:personal-data = none` (tags, tagsAll, or the provider's default tags). */
export function mayHoldPersonalData(resource: ResourceView): boolean {
    // The three bags in order, without building a list of them: every store asks, three times.
    const props = resource.props;
    let found = personalDataTag(props.tags);
    if (found === undefined) found = personalDataTag(props.tagsAll);
    if (found === undefined && resource.provider) found = personalDataTag((resource.provider.props.defaultTags as { tags?: PropValue } | undefined)?.tags);
    return found ?? true;
}

/** Undefined when the bag has no personal-data tag; else whether the store may hold personal data. */
function personalDataTag(bag: PropValue | undefined): boolean | undefined {
    const tags = unwrap(bag as PropValue);
    if (!tags || typeof tags !== "object" || Array.isArray(tags) || !Object.prototype.hasOwnProperty.call(tags, PERSONAL_DATA_TAG)) return undefined;
    const value = unwrap((tags as Props)[PERSONAL_DATA_TAG]);
    // An unknown or secret tag value proves nothing: the store is treated as holding personal data.
    return !(typeof value === "string" && value.trim().toLowerCase() === NO_PERSONAL_DATA);
}

/** Whether the top-level property was declared by the program (not only filled in by AWS). */
function declared(resource: ResourceView, topLevel: string): boolean {
    const inputs = resource.inputs;
    return inputs === undefined || (Object.prototype.hasOwnProperty.call(inputs, topLevel) && inputs[topLevel] !== undefined && inputs[topLevel] !== null);
}

/** The resource a delegate names, or why it cannot be found. */
function delegateTarget(resource: ResourceView, delegate: Delegate, stack: StackView): { target?: ResourceView; problem?: string; unset?: boolean } {
    const raw = resource.props[delegate.refProp];
    const ref = unwrap(raw);
    if (ref === undefined || ref === null || ref === "") return { unset: true, problem: `sets no ${delegate.refProp}` };
    if (unreadable(ref)) {
        const urns = resource.dependsOn?.[delegate.refProp] ?? [];
        for (const urn of urns) {
            const target = resolveOfType(stack, urn, delegate.types);
            if (target) return { target };
        }
        return { problem: `${delegate.refProp} is not known yet and no dependency shows which ${delegate.types.join(" / ")} it names, so it is not proven` };
    }
    if (typeof ref !== "string") return { problem: `${delegate.refProp} should name a resource, got ${JSON.stringify(ref)}` };
    if (delegate.byProp) {
        for (const type of delegate.types) {
            const target = stack.ofType(type).find((r) => unwrap(r.props[delegate.byProp!]) === ref);
            if (target) return { target };
        }
    } else {
        const target = resolveOfType(stack, ref, delegate.types);
        if (target) return { target };
    }
    return { problem: `${delegate.refProp} names ${ref}, which is not a ${delegate.types.join(" / ")} in this stack, so it cannot be reviewed` };
}

// ---- Keys ----------------------------------------------------------------------------------

function modeProblem(holder: Props | undefined, modes: readonly KeyMode[] | undefined, where: string): string | undefined {
    for (const mode of modes ?? []) {
        const given = valueAt(holder, mode.path);
        const value = asComparable(given === undefined ? mode.awsDefault : given);
        if (!mode.oneOf.some((v) => asComparable(v) === value)) {
            const shown = given === undefined ? (value === undefined ? "unset" : `unset (AWS default ${JSON.stringify(value)})`) : JSON.stringify(value);
            return `${where ? `${where}.` : ""}${mode.path} is ${shown}, not ${mode.oneOf.map((v) => JSON.stringify(v)).join(" or ")}, so no customer-managed key is used`;
        }
    }
    return undefined;
}

function keyValueProblem(resource: ResourceView, value: PropValue, where: string, topLevel: string, stack: StackView, config: PackConfig, defaultKey: string): string | undefined {
    if (unreadable(value)) {
        if (provenByDependency(resource, topLevel, stack)) return undefined;
        return `${where} is not known (${value === UNKNOWN ? "computed during preview" : "a secret this runner cannot read"}) and no dependency shows it comes from a KMS key in this stack, so the key is not proven customer-managed`;
    }
    if (value === undefined || value === null || value === "") return `sets no ${where}, so it uses ${defaultKey}; name a customer-managed KMS key`;
    if (typeof value !== "string") return `${where} should be a KMS key id, ARN or alias, got ${JSON.stringify(value)}`;
    if (!declared(resource, topLevel)) {
        return `${where} is ${value} only in the recorded outputs: AWS filled it in because the program named no key, so it is the AWS-managed default (${defaultKey}); declare a customer-managed key`;
    }
    const proof = proveKey(value, stack, config.externalKmsKeys);
    if (proof.kind === "customer-managed") return undefined;
    if (proof.kind === "aws-managed") return `${where} is the AWS-managed key ${value}; use a customer-managed KMS key`;
    return `${where} is ${value}, which is not provably customer-managed: ${proof.why}`;
}

function jsonKeyProblem(resource: ResourceView, found: Found, location: KeyLocation, stack: StackView, config: PackConfig, defaultKey: string): string | undefined {
    if (unreadable(found.value)) return keyValueProblem(resource, found.value, found.where, location.path.split(".")[0], stack, config, defaultKey);
    if (typeof found.value !== "string") return `${found.where} should be a JSON policy document, got ${JSON.stringify(found.value)}`;
    let doc: unknown;
    try {
        doc = JSON.parse(found.value);
    } catch {
        return `${found.where} is not valid JSON, so its key cannot be shown`;
    }
    const obj = (Array.isArray(doc) ? doc[0] : doc) as Record<string, unknown> | undefined;
    if (!obj || typeof obj !== "object") return `${found.where} holds no policy object`;
    if (location.jsonAwsOwnedFlag && obj[location.jsonAwsOwnedFlag] === true) return `${found.where} sets ${location.jsonAwsOwnedFlag}: true, so it uses ${defaultKey}; set ${location.jsonField} to a customer-managed key`;
    const keyRef = obj[location.jsonField!];
    return keyValueProblem(resource, typeof keyRef === "string" ? keyRef : undefined, `${found.where} ${location.jsonField}`, location.path.split(".")[0], stack, config, defaultKey);
}

/** The account's EBS defaults in the resource's region, as this stack sets them: encryption on by default, and its default key. */
function ebsAccountDefaults(resource: ResourceView, stack: StackView): { on: boolean; key?: ResourceView } {
    const on = stack.ofType(EBS_DEFAULTS).some((r) => r.region === resource.region && asComparable(valueAt(r.props, "enabled", true)) === true);
    return { on, key: on ? stack.ofType(EBS_DEFAULT_KEY).find((r) => r.region === resource.region) : undefined };
}

function keyLocationProblems(resource: ResourceView, props: Props, location: KeyLocation, stack: StackView, config: PackConfig, defaultKey: string): string[] {
    const path = pathOf(location.path);
    const topLevel = path.segments[0].name;
    let found = collect(props, path);
    // EBS: a device that says nothing is encrypted by the account default (aws.ebs.EncryptionByDefault), with
    // the account's default key (aws.ebs.DefaultKmsKey) when it names none.
    const ebs = location.accountDefault === "ebs" ? ebsAccountDefaults(resource, stack) : undefined;
    if (ebs?.on && !location.optional && !found.length) found = [{ value: undefined, holder: {}, where: location.path }];
    const modes = ebs?.on ? location.modes?.map((m) => ({ ...m, awsDefault: true })) : location.modes;
    if (!found.length || (found.length === 1 && found[0].value === undefined && found[0].holder === undefined)) {
        if (location.optional) return [];
        // Nothing on the way: check the settings on the resource itself for a clearer message.
        const mode = path.segments.length === 1 ? modeProblem(props, location.modes, "") : undefined;
        return [mode ?? `sets no ${location.path.replace(/\[\]/g, "")}, so it uses ${defaultKey}; name a customer-managed KMS key`];
    }
    const problems: string[] = [];
    for (const item of found) {
        if (location.jsonField) {
            const p = jsonKeyProblem(resource, item, location, stack, config, defaultKey);
            if (p) problems.push(p);
            continue;
        }
        if (item.value !== UNKNOWN) {
            const parentWhere = item.where.includes(".") ? item.where.slice(0, item.where.lastIndexOf(".")) : "";
            const mode = modeProblem(item.holder, modes, parentWhere);
            if (mode) {
                problems.push(mode);
                continue;
            }
        }
        if (ebs?.key && (item.value === undefined || item.value === null || item.value === "")) {
            const p = keyValueProblem(ebs.key, unwrap(ebs.key.props.keyArn), "keyArn", "keyArn", stack, config, defaultKey);
            if (p) problems.push(`${item.where} is unset, so the account's EBS default key ${ebs.key.name} is used, and its ${p}`);
            continue;
        }
        const p = keyValueProblem(resource, item.value, item.where, topLevel, stack, config, defaultKey);
        if (p) problems.push(p);
    }
    return problems;
}

const EBS_DEFAULTS = "aws:ebs/encryptionByDefault:EncryptionByDefault";
const EBS_DEFAULT_KEY = "aws:ebs/defaultKmsKey:DefaultKmsKey";

/** The store's data is encrypted with a provable customer-managed key. */
export function checkStoreKey(resource: ResourceView, entry: StoreEntry, stack: StackView, config: PackConfig): Outcome {
    const spec = entry.encryption;
    if (!spec || !mayHoldPersonalData(resource) || !holds(spec.when, resource.props)) return notApplicable();
    const what = entry.what + " " + resource.name;
    if (spec.delegate) {
        const { target, problem, unset } = delegateTarget(resource, spec.delegate, stack);
        if (target) return compliant(); // the cluster / group / table is reviewed itself
        if (!(unset && spec.noCustomerKey)) return failIf([`${what}: its data is encrypted by the resource it belongs to, but it ${problem}`]);
    }
    if (spec.noCustomerKey) return failIf([`${what}: ${spec.noCustomerKey}`]);
    if (spec.accountDefault === "ebs") {
        const on = stack.ofType(EBS_DEFAULTS).some((r) => r.region === resource.region && valueAt(r.props, "enabled", true) === true);
        const key = stack.ofType(EBS_DEFAULT_KEY).find((r) => r.region === resource.region);
        if (!on || !key) return failIf([`${what}: its disks can only use the account's EBS default key, and this stack does not set aws.ebs.EncryptionByDefault with an aws.ebs.DefaultKmsKey in ${String(resource.region)}; use a launch template with kmsKeyId`]);
        return failIf([keyValueProblem(key, unwrap(key.props.keyArn), "keyArn", "keyArn", stack, config, spec.defaultKey)].map((p) => p && `${what}: the account's EBS default key ${p}`));
    }
    // Plain loops: this runs once per store of the stack (flatMap and per-item closures showed in the audit's profile).
    const declaredBy = spec.declaredBy;
    if (declaredBy) {
        for (let d = 0; d < declaredBy.length; d++) {
            const by = declaredBy[d];
            const configs = referrersOf(stack, by.type, by.refProp, resource);
            if (!configs.length) continue;
            const problems: string[] = [];
            for (const c of configs) for (const k of by.keys) for (const p of keyLocationProblems(c, c.props, k, stack, config, spec.defaultKey)) problems.push(`${what} (${c.name}): ${p}`);
            return problems.length ? failIf(problems) : compliant();
        }
    }
    const keys = spec.keys;
    if (!keys) return compliant();
    let problems: string[] | undefined;
    for (let k = 0; k < keys.length; k++) {
        const found = keyLocationProblems(resource, resource.props, keys[k], stack, config, spec.defaultKey);
        for (let i = 0; i < found.length; i++) (problems ??= []).push(`${what}: ${found[i]}`);
    }
    return problems ? failIf(problems) : compliant();
}

// ---- Backups -------------------------------------------------------------------------------

const BACKUP_SELECTION = "aws:backup/selection:Selection";
const BACKUP_PLAN = "aws:backup/plan:Plan";

/** Wildcard ARN patterns of AWS Backup (`*` anywhere). */
function arnMatches(pattern: string, arn: string): boolean {
    if (!pattern.includes("*")) return pattern === arn;
    const parts = pattern.split("*");
    let at = 0;
    for (let i = 0; i < parts.length; i++) {
        const found = arn.indexOf(parts[i], at);
        if (found < 0 || (i === 0 && found !== 0)) return false;
        at = found + parts[i].length;
    }
    return parts[parts.length - 1] === "" || arn.endsWith(parts[parts.length - 1]);
}

function selectionCovers(selection: ResourceView, resource: ResourceView): boolean {
    if (selection.dependsOn?.resources?.includes(resource.urn)) return true;
    const arn = unwrap(resource.props.arn);
    const listed = unwrap(selection.props.resources);
    if (Array.isArray(listed) && typeof arn === "string") {
        for (const item of listed) {
            const ref = unwrap(item);
            if (typeof ref === "string" && arnMatches(ref, arn)) return true;
        }
    }
    const tags = unwrap(resource.props.tags) as Props | undefined;
    const byTag = unwrap(selection.props.selectionTags);
    if (Array.isArray(byTag) && tags && typeof tags === "object") {
        for (const t of byTag) {
            const tag = unwrap(t) as Props | undefined;
            if (tag && typeof tag === "object" && tag.type === "STRINGEQUALS" && typeof tag.key === "string" && unwrap(tags[tag.key]) === tag.value) return true;
        }
    }
    return false;
}

/** The shortest lifecycle.deleteAfter over the plan's rules (unset: kept until deleted). */
function planRetention(plan: ResourceView | undefined): number | undefined {
    if (!plan) return undefined;
    const rules = unwrap(plan.props.rules);
    let shortest: number | undefined = Infinity;
    for (const rule of Array.isArray(rules) ? rules : []) {
        const days = readNumber(unwrap(rule) as Props, "lifecycle.deleteAfter");
        if (days !== undefined && days < shortest) shortest = days;
    }
    return shortest;
}

function backupMethodProblem(method: BackupMethod, resource: ResourceView, stack: StackView, min: number): string | undefined {
    switch (method.kind) {
        case "built-in":
            return undefined;
        case "retention": {
            const days = readNumber(resource.props, pathOf(method.path).names, method.awsDefault);
            return days >= min ? undefined : `${method.path} is ${days} day(s)${resource.props[method.path] === undefined ? " (unset: the AWS default)" : ""}, below the minimum of ${min}`;
        }
        case "pitr": {
            const on = asComparable(valueAt(resource.props, method.enabled, false));
            if (on !== true) return `${method.enabled} is not true (no point-in-time recovery)`;
            if (!method.period) return undefined;
            const days = readNumber(resource.props, pathOf(method.period).names, method.periodDefault ?? min);
            return days >= min ? undefined : `${method.period} is ${days} day(s), below the minimum of ${min}`;
        }
        case "policy-resource": {
            const policies = referrersOf(stack, method.type, method.refProp, resource);
            return policies.some((p) => valueAt(p.props, method.flag) === method.onValue) ? undefined : `no ${method.type.split(":").pop()} with ${method.flag} ${method.onValue} for it`;
        }
        case "backup-plan": {
            const selections = stack.ofType(BACKUP_SELECTION).filter((s) => selectionCovers(s, resource));
            if (!selections.length) return "no AWS Backup selection (aws.backup.Selection) in this stack covers it";
            for (const s of selections) {
                const plan = resolveOfType(stack, unwrap(s.props.planId), [BACKUP_PLAN]);
                const days = planRetention(plan);
                if (days !== undefined && days >= min) return undefined;
            }
            return `the AWS Backup plans that cover it are not in this stack or keep recovery points fewer than ${min} days`;
        }
    }
}

/** The store keeps backups for at least the configured minimum. */
export function checkStoreBackups(resource: ResourceView, entry: StoreEntry, stack: StackView, config: PackConfig): Outcome {
    const spec = entry.backups;
    if (!spec || !mayHoldPersonalData(resource) || !holds(spec.when, resource.props)) return notApplicable();
    const what = entry.what + " " + resource.name;
    if (spec.delegate) {
        const { target, problem, unset } = delegateTarget(resource, spec.delegate, stack);
        if (target) return compliant();
        if (!(unset && spec.anyOf)) return failIf([`${what}: its backups are its ${spec.delegate.types.map((t) => t.split(":").pop()).join(" / ")}'s, but it ${problem}`]);
    }
    const problems: string[] = [];
    const unknowns: string[] = [];
    for (const method of spec.anyOf ?? []) {
        try {
            const problem = backupMethodProblem(method, resource, stack, config.minBackupRetentionDays);
            if (problem === undefined) return compliant();
            problems.push(problem);
        } catch (err) {
            if (!(err instanceof CannotCheckError)) throw err;
            unknowns.push(err.message);
        }
    }
    if (unknowns.length) return cannotCheck(`${what}: ${unknowns.join("; ")}`);
    return failIf([`${what} keeps no backups for ${config.minBackupRetentionDays} days: ${problems.join("; and ")}`]);
}

// ---- Placement -----------------------------------------------------------------------------

function jsonFlagSet(value: PropValue, field: string): boolean {
    if (typeof value !== "string") return false;
    let doc: unknown;
    try {
        doc = JSON.parse(value);
    } catch {
        return false;
    }
    const items = Array.isArray(doc) ? doc : [doc];
    return items.some((item) => item && typeof item === "object" && (item as Record<string, unknown>)[field] === true);
}

/** The store is not reachable from the internet: no public flag, and placed in private subnets (not the default VPC). */
export function checkStorePrivate(resource: ResourceView, entry: StoreEntry, stack: StackView): Outcome {
    const spec = entry.network;
    if (!spec || !mayHoldPersonalData(resource) || !holds(spec.when, resource.props)) return notApplicable();
    const what = `${entry.what} ${resource.name}`;
    const parts: (() => Outcome)[] = [];
    for (const flag of spec.publicFlags ?? []) {
        parts.push(() => {
            if (flag.when && !holds(flag.when, resource.props)) return notApplicable();
            const value = valueAt(resource.props, flag.path, flag.awsDefault);
            const isPublic = flag.jsonField ? jsonFlagSet(value, flag.jsonField) : flag.publicWhen.some((v) => asComparable(v) === asComparable(value));
            return failIf([isPublic && `${what} is reachable from the internet: ${flag.path}${flag.jsonField ? ` sets ${flag.jsonField}` : ` is ${JSON.stringify(value)}`}`]);
        });
    }
    let placedBy: ResourceView | undefined;
    if (spec.delegate) {
        const { target, problem, unset } = delegateTarget(resource, spec.delegate, stack);
        placedBy = target;
        if (!target && !(unset && (spec.subnetGroup || spec.subnets))) parts.push(() => failIf([`${what}: it is placed with the resource it belongs to, but it ${problem}`]));
    }
    if (!placedBy && spec.subnetGroup) {
        const group = spec.subnetGroup;
        parts.push(() => {
            const raw = unwrap(resource.props[group.path]);
            if (raw === undefined || raw === null || raw === "" || raw === "default") {
                return failIf([`${what} sets no ${group.path}, so it lands in the default VPC's default subnet group, which is not private; place it in a ${group.type.split(":").pop()} of isolated subnets`]);
            }
            let found: ResourceView | undefined;
            if (unreadable(raw)) {
                found = (resource.dependsOn?.[group.path] ?? []).map((urn) => resolveOfType(stack, urn, [group.type])).find((r) => r !== undefined);
                if (!found) throw new CannotCheckError(group.path, "unknown");
            } else found = resolveOfType(stack, raw, [group.type]);
            // Like a subnet outside the stack (db-subnet-group-private): reported as not checkable, never as a pass.
            if (!found) throw new CannotCheckError(group.path, `${what}: ${group.path} names ${String(raw)}, which is not a ${group.type.split(":").pop()} in this stack, so whether its subnets are private could not be checked`);
            const verdict = subnetsNotPublic(found.props, "subnetIds", stack);
            return verdict.kind === "non-compliant" ? failIf(verdict.messages.map((m) => `${what}: subnet group ${found!.name}: ${m}`)) : verdict;
        });
    }
    if (!placedBy && spec.subnets) {
        const subnets = spec.subnets;
        parts.push(() => {
            const found = collect(resource.props, pathOf(subnets.path)).filter((f) => f.value !== undefined && f.value !== null);
            if (!found.length) return failIf([`${what} sets no ${subnets.path}, so it is placed in ${subnets.unsetMeans}, which is not private`]);
            return combine(found.map((f) => () => subnetsNotPublic({ subnets: f.value } as Props, "subnets", stack)));
        });
    }
    return combine(parts);
}

/**
 * Per-service rules that decide part of an aspect for some types (rds-instance-encrypted-cmk, ...).
 * When one of them already reports the resource non-compliant, the general rule stays silent on it
 * (one finding per cause); when it passes, the general rule still applies its stricter checks
 * (a provable key, a subnet group at all, AWS Backup plans).
 */
export function dedicatedRules(rules: readonly ResourceRule[]): (resource: ResourceView, ctx: RuleContext) => boolean {
    const byType = new Map<string, ResourceRule[]>();
    for (const rule of rules) {
        if (rule.defaultEnforcement !== "mandatory" || rule.resourceTypes === "*") continue;
        for (const type of rule.resourceTypes) byType.set(type, [...(byType.get(type) ?? []), rule]);
    }
    return (resource, ctx) => (byType.get(resource.type) ?? []).some((rule) => rule.check(resource, ctx).kind === "non-compliant");
}
