// "Every subnet in this list is non-public", one verdict per subnet, merged.
import { read } from "../../core/props";
import { combine, failIf } from "../../core/rule";
import { Outcome, Props, PropValue, StackView } from "../../core/types";
import { publicSubnetReason } from "./network";

export function subnetsNotPublic(props: Props, key: string, stack: StackView): Outcome {
    // Elements one by one: an unknown subnet must not hide a definitely public one.
    const value = read(props, key);
    const subnets: PropValue[] = value === undefined || value === null ? [] : Array.isArray(value) ? (value as PropValue[]) : [value];
    if (!subnets.length) return failIf([`${key} is empty, so the subnets cannot be shown to be private`]);
    return combine(subnets.map((ref, i) => () => failIf([publicSubnetReason(stack, ref, `${key}[${i}]`)])));
}
