// PostgreSQL TLS settings read from the parameter group a database uses.
import { tlsRank } from "../../core/config";
import { CannotCheckError, readObjects, readString } from "../../core/props";
import { resolveOfType } from "../../core/stack-view";
import { PackConfig, Props, StackView } from "../../core/types";

export const PARAMETER_GROUP = "aws:rds/parameterGroup:ParameterGroup";
export const CLUSTER_PARAMETER_GROUP = "aws:rds/clusterParameterGroup:ClusterParameterGroup";

/** RDS's default ssl_min_protocol_version when a group leaves it unset. */
const RDS_DEFAULT_MIN_TLS = "TLSv1.2";

export function isPostgres(engine: string | undefined): boolean {
    return engine === "postgres" || engine === "aurora-postgresql";
}

/** Parsed `parameters` of a parameter group's props: many databases share one group, so it is read once. */
const parsedParameters = new WeakMap<Props, ReadonlyMap<string, string | undefined>>();

/** Parameter name (lower-cased) to value. Throws, and remembers nothing, when the group's parameters cannot be read. */
export function parametersOf(groupProps: Props): ReadonlyMap<string, string | undefined> {
    let parameters = parsedParameters.get(groupProps);
    if (parameters === undefined) {
        const parsed = new Map<string, string | undefined>();
        for (const parameter of readObjects(groupProps, "parameters")) {
            const name = readString(parameter, "name");
            if (name) parsed.set(name.toLowerCase(), readString(parameter, "value"));
        }
        parsedParameters.set(groupProps, (parameters = parsed));
    }
    return parameters;
}

/**
 * Problems with the TLS settings of the parameter group named by `props[key]`
 * (a default group, rds.force_ssl not 1, ssl_min_protocol_version below the
 * minimum). Throws CannotCheckError when the group is unknown or not in the stack.
 */
export function postgresTlsProblems(props: Props, key: string, groupType: string, stack: StackView, config: PackConfig): string[] {
    const groupName = readString(props, key);
    if (!groupName || groupName.startsWith("default.") || groupName.startsWith("default:")) {
        return [`${groupName ? `uses the default parameter group ${groupName}` : `sets no ${key}, so it uses the default parameter group`}, which neither forces TLS nor sets ssl_min_protocol_version=${config.minTlsVersion}; attach a custom ${groupType.split(":").pop()}`];
    }
    const group = resolveOfType(stack, groupName, [groupType]);
    if (!group) throw new CannotCheckError(key, `parameter group ${groupName} is not in this stack, so its TLS settings could not be checked`);
    const parameters = parametersOf(group.props);
    const problems: string[] = [];
    const forceSsl = parameters.get("rds.force_ssl");
    if (forceSsl !== "1" && forceSsl?.toLowerCase() !== "true" && forceSsl?.toLowerCase() !== "on") {
        problems.push(`parameter group ${group.name} does not set rds.force_ssl=1${forceSsl === undefined ? "" : ` (it is ${forceSsl})`}, so clients may connect without TLS`);
    }
    const minTls = parameters.get("ssl_min_protocol_version") ?? RDS_DEFAULT_MIN_TLS;
    const wanted = tlsRank(config.minTlsVersion) ?? 1.3;
    const have = tlsRank(minTls);
    if (have === undefined || have < wanted) {
        problems.push(`parameter group ${group.name} allows ${minTls}${parameters.has("ssl_min_protocol_version") ? "" : " (RDS default, ssl_min_protocol_version unset)"}; set ssl_min_protocol_version to ${config.minTlsVersion} or higher`);
    }
    return problems;
}
