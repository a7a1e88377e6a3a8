// Shared wording for "a copy of the data goes to another region".
import { arnRegion } from "../../core/region";
import { PackConfig } from "../../core/types";

/** A message when `region` is outside the allowed list, else undefined. */
export function outsideAllowed(what: string, region: string, config: PackConfig): string | undefined {
    return config.allowedRegions.includes(region) ? undefined : `${what} sends data to ${region}, outside the allowed regions ${config.allowedRegions.join(", ")}`;
}

/** The region of an ARN, or undefined when the value is not a regional ARN. */
export function regionalArn(value: string): string | undefined {
    const region = arnRegion(value);
    return region ? region : undefined;
}
