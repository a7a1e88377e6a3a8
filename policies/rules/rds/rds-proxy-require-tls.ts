import { readBool } from "../../core/props";
import { defineResourceRule, failIf } from "../../core/rule";
import { APPI } from "../_shared/appi";

export const rdsProxyRequireTls = defineResourceRule({
    id: "rds-proxy-require-tls",
    title: "RDS Proxy requires TLS from clients",
    description: "requireTls is true (unset is false) on aws:rds/proxy, so the hop from the application to the proxy is encrypted like the hop to the database.",
    appi: APPI.security,
    securityHub: [],
    severity: "high",
    remediation: "Set requireTls: true on the proxy and connect with sslmode=verify-full.",
    defaultEnforcement: "mandatory",
    resourceTypes: ["aws:rds/proxy:Proxy"],
    check(resource) {
        return failIf([!readBool(resource.props, "requireTls", false) && "the proxy accepts connections without TLS (requireTls is false or unset)"]);
    },
});
