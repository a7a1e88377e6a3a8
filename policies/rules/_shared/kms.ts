// Telling a customer-managed KMS key from an AWS-managed one (alias/aws/*).
import { read } from "../../core/props";
import { resolveOfType } from "../../core/stack-view";
import { PropValue, Props, StackView } from "../../core/types";

export const KMS_KEY = "aws:kms/key:Key";
export const KMS_ALIAS = "aws:kms/alias:Alias";

export type KeyKind = { kind: "none" } | { kind: "aws-managed"; ref: string } | { kind: "customer-managed"; ref: string };

/** `alias/aws/rds`, or an ARN `arn:aws:kms:<region>:<acct>:alias/aws/rds`. */
export function isAwsManagedAlias(ref: string): boolean {
    // Same as /(^|:)alias\/aws\//, without a regular expression per call.
    return ref.startsWith("alias/aws/") || ref.includes(":alias/aws/");
}

/**
 * Classifies the key a property names. Unset is "none" (the service then uses
 * its AWS-managed or AWS-owned key). An alias in this stack is followed to its
 * target. Throws CannotCheckError for unknown/secret values.
 */
export function classifyKey(props: Props, path: string, stack: StackView): KeyKind {
    const value: PropValue = read(props, path);
    if (value === undefined || value === null || value === "") return { kind: "none" };
    if (typeof value !== "string") throw new TypeError(`${path} should be a KMS key id, ARN or alias, got ${JSON.stringify(value)}`);
    if (isAwsManagedAlias(value)) return { kind: "aws-managed", ref: value };
    const alias = resolveOfType(stack, value, [KMS_ALIAS]);
    if (alias) {
        const target = alias.props.targetKeyId;
        if (typeof target === "string" && isAwsManagedAlias(target)) return { kind: "aws-managed", ref: value };
    }
    return { kind: "customer-managed", ref: value };
}

/** The violation message for a store of personal data not on a customer-managed key, or undefined when it is. */
export function cmkProblem(what: string, key: KeyKind, property: string): string | undefined {
    if (key.kind === "customer-managed") return undefined;
    if (key.kind === "aws-managed") return `${what} is encrypted with the AWS-managed key ${key.ref}; set ${property} to a customer-managed KMS key`;
    return `${what} sets no ${property}, so it uses an AWS-managed key; set ${property} to a customer-managed KMS key`;
}
