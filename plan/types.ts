// What running the Pulumi program under mocks yields: every registered resource
// with the inputs the program gave it and the state the mocks returned.

export interface PlannedResource {
    urn: string;
    /** Pulumi type token, e.g. `aws:rds/instance:Instance`; providers are `pulumi:providers:aws`. */
    type: string;
    name: string;
    /** Physical id the mocks assigned (empty for component resources). */
    id: string;
    /** True for custom (cloud) resources, false for component resources. */
    custom: boolean;
    /** Inputs as the engine received them (secrets may appear as Pulumi's secret envelope). */
    inputs: Record<string, unknown>;
    /** Inputs plus the computed outputs the mocks returned (arn, endpoint, ...). */
    state: Record<string, unknown>;
    /** Provider reference `urn::id`, when the resource named an explicit or default provider. */
    provider?: string;
    /** Parent URN, derived from the URN's type chain when the engine does not send it. */
    parent?: string;
    /** URNs the resource depends on (its inputs' resources and dependsOn), as the engine records them. */
    dependencies?: string[];
    /** The program line that declared it, as the SDK sends it to the engine (`file:///...` URI). */
    sourcePosition?: { uri: string; line: number; column: number };
    /** The SDK's stack trace of the registration (innermost first; frames it could not place are absent). */
    stackTrace?: { uri: string; line: number; column: number }[];
}

export interface PlannedStack {
    project: string;
    stack: string;
    /** The stack's effective configuration (`project:key` and `aws:region`, ...), secrets redacted. */
    config: Record<string, string>;
    resources: PlannedResource[];
    /** Stack outputs (`export const ...` of index.ts), resolved. */
    outputs: Record<string, unknown>;
}
