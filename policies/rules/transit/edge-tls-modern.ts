import { readObject, readObjects, readString, readStrings, readTags } from "../../core/props";
import { cannotCheck, defineResourceRule, failIf, notApplicable } from "../../core/rule";
import { resolveOfType } from "../../core/stack-view";
import { Props, ResourceView, StackView, UNKNOWN } from "../../core/types";
import { APPI } from "../_shared/appi";
import { NO_PERSONAL_DATA, PERSONAL_DATA_TAG } from "../_shared/stores";

const LISTENERS = ["aws:lb/listener:Listener", "aws:alb/listener:Listener"];
const LISTENER_RULES = ["aws:lb/listenerRule:ListenerRule", "aws:alb/listenerRule:ListenerRule"];
const LOAD_BALANCERS = ["aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer"];
const DISTRIBUTION = "aws:cloudfront/distribution:Distribution";
const REST_DOMAIN = "aws:apigateway/domainName:DomainName";
const HTTP_DOMAIN = "aws:apigatewayv2/domainName:DomainName";

/** ELB policies that support TLS 1.3 and accept nothing below TLS 1.2 (…-TLS13-1-0/1-1 still accept TLS 1.0/1.1). */
const MODERN_ELB_POLICY = /^ELBSecurityPolicy-TLS13-1-[23]-/;
/** CloudFront minimum protocol versions with a TLS 1.2 floor (TLSv1.2_2019, TLSv1.2_2021, ...; TLSv1.3_2025). */
const MODERN_CLOUDFRONT = /^TLSv1\.[23]_/;
/** API Gateway: TLS_1_2, or an enhanced policy with a TLS 1.2+ floor (SecurityPolicy_TLS13_1_3_2025_09, SecurityPolicy_TLS13_1_2_...). */
const MODERN_API_POLICY = /^(TLS_1_2|SecurityPolicy_TLS1[23]_1_[23]_)/;

/** Action types that pass a request (and its data) on to a target. */
const FORWARDING = new Set(["forward", "authenticate-cognito", "authenticate-oidc", "jwt-validation"]);

function holdsNoPersonalData(props: Props): boolean {
    return String(readTags(props)[PERSONAL_DATA_TAG] ?? "").toLowerCase() === NO_PERSONAL_DATA;
}

/** Why an action sends data on in plaintext, if it does (a redirect to HTTPS and a fixed response do not). */
function plaintextAction(action: Props, where: string): string | undefined {
    const type = (readString(action, "type") ?? "").toLowerCase();
    if (type === "redirect") {
        const redirect = readObject(action, "redirect") ?? {};
        const protocol = (readString(redirect, "protocol") ?? "#{protocol}").toUpperCase();
        return protocol === "HTTPS" ? undefined : `${where} redirects to ${protocol} instead of HTTPS`;
    }
    return FORWARDING.has(type) ? `${where} (${type}) passes requests on over plain HTTP` : undefined;
}

function listenerProblems(listener: ResourceView): string[] {
    const protocol = (readString(listener.props, "protocol") ?? "HTTP").toUpperCase();
    if (protocol === "GENEVE") return [];
    if (protocol === "HTTPS" || protocol === "TLS") {
        const policy = readString(listener.props, "sslPolicy") ?? "ELBSecurityPolicy-2016-08";
        return MODERN_ELB_POLICY.test(policy) ? [] : [`${protocol} listener uses ssl policy ${policy}${listener.props.sslPolicy === undefined ? " (the default)" : ""}, which accepts TLS below 1.2 or lacks TLS 1.3; use ELBSecurityPolicy-TLS13-1-2-2021-06 or newer`];
    }
    if (protocol === "HTTP") {
        return readObjects(listener.props, "defaultActions")
            .map((action, i) => plaintextAction(action, `defaultActions[${i}]`))
            .filter((m): m is string => m !== undefined)
            .map((m) => `HTTP listener: ${m}; redirect to HTTPS instead`);
    }
    return [`${protocol} listener carries traffic without TLS; use a TLS listener with ELBSecurityPolicy-TLS13-1-2-2021-06 or newer`];
}

function listenerRuleProblems(rule: ResourceView, stack: StackView): string[] | "unknown" {
    const plaintext = readObjects(rule.props, "actions")
        .map((action, i) => plaintextAction(action, `actions[${i}]`))
        .filter((m): m is string => m !== undefined);
    if (!plaintext.length) return [];
    const ref = rule.props.listenerArn;
    if (ref === UNKNOWN) return "unknown";
    const listener = resolveOfType(stack, ref, LISTENERS);
    if (!listener) return "unknown";
    const protocol = (readString(listener.props, "protocol") ?? "HTTP").toUpperCase();
    return protocol === "HTTP" ? plaintext.map((m) => `on HTTP listener ${listener.name}: ${m}`) : [];
}

function distributionProblems(props: Props): string[] {
    const problems: string[] = [];
    const behaviours = [{ where: "defaultCacheBehavior", block: readObject(props, "defaultCacheBehavior") }, ...readObjects(props, "orderedCacheBehaviors").map((block, i) => ({ where: `orderedCacheBehaviors[${i}]`, block }))];
    for (const { where, block } of behaviours) {
        if (!block) continue;
        const policy = readString(block, "viewerProtocolPolicy");
        if (policy !== "https-only" && policy !== "redirect-to-https") problems.push(`${where}.viewerProtocolPolicy is ${policy ?? "unset"}: viewers may use plain HTTP`);
    }
    const certificate = readObject(props, "viewerCertificate") ?? {};
    if (readString(certificate, "cloudfrontDefaultCertificate") === "true") {
        problems.push("viewerCertificate uses the default *.cloudfront.net certificate, whose minimum protocol is TLSv1; use an ACM certificate with minimumProtocolVersion TLSv1.2_2021");
    } else {
        const min = readString(certificate, "minimumProtocolVersion") ?? "TLSv1";
        if (!MODERN_CLOUDFRONT.test(min)) problems.push(`viewerCertificate.minimumProtocolVersion is ${min}; use TLSv1.2_2021 or newer`);
    }
    readObjects(props, "origins").forEach((origin, i) => {
        const custom = readObject(origin, "customOriginConfig");
        if (!custom) return;
        const policy = readString(custom, "originProtocolPolicy");
        if (policy !== "https-only") problems.push(`origins[${i}].customOriginConfig.originProtocolPolicy is ${policy ?? "unset"}: requests to the origin may travel in plain HTTP`);
        const weak = readStrings(custom, "originSslProtocols").filter((p) => /^(SSLv3|TLSv1|TLSv1\.1)$/.test(p));
        if (weak.length) problems.push(`origins[${i}].customOriginConfig.originSslProtocols allows ${weak.join(", ")}`);
    });
    return problems;
}

export const edgeTlsModern = defineResourceRule({
    id: "edge-tls-modern",
    title: "Entry points speak HTTPS with a modern TLS policy",
    description:
        "Load balancer listeners (aws:lb / aws:alb) are HTTPS/TLS with an ELBSecurityPolicy-TLS13-1-2/1-3 policy, or HTTP whose every action (default actions and listener rules) redirects to HTTPS or answers itself; plaintext TCP/UDP listeners fail. CloudFront distributions require HTTPS from viewers (every cache behaviour), use a certificate with minimumProtocolVersion TLSv1.2_* or newer (not the default certificate, which allows TLSv1), and reach custom origins over HTTPS without SSLv3/TLS 1.0/1.1. API Gateway custom domains use TLS_1_2 or an enhanced TLS 1.2+/1.3 policy. Entry points tagged appi:personal-data=none are skipped.",
    appi: APPI.security,
    securityHub: ["ELB.1", "CloudFront.3", "CloudFront.10"],
    severity: "high",
    remediation:
        "Serve HTTPS on 443 with sslPolicy ELBSecurityPolicy-TLS13-1-2-2021-06 (or a TLS13-1-3 policy) and make port 80 a redirect to HTTPS; set viewerProtocolPolicy redirect-to-https, an ACM viewer certificate with minimumProtocolVersion TLSv1.2_2021 and originProtocolPolicy https-only on CloudFront; set securityPolicy TLS_1_2 on API Gateway domains.",
    defaultEnforcement: "mandatory",
    resourceTypes: [...LISTENERS, ...LISTENER_RULES, DISTRIBUTION, REST_DOMAIN, HTTP_DOMAIN],
    check(resource, { stack }) {
        if (holdsNoPersonalData(resource.props)) return notApplicable();
        if (LISTENERS.includes(resource.type)) {
            const balancer = resolveOfType(stack, resource.props.loadBalancerArn, LOAD_BALANCERS);
            if (balancer && holdsNoPersonalData(balancer.props)) return notApplicable();
            return failIf(listenerProblems(resource));
        }
        if (LISTENER_RULES.includes(resource.type)) {
            const problems = listenerRuleProblems(resource, stack);
            if (problems === "unknown") return cannotCheck("the rule forwards requests, and its listener is not known yet or not in this stack, so whether they travel in plain HTTP could not be checked");
            return failIf(problems);
        }
        if (resource.type === DISTRIBUTION) return failIf(distributionProblems(resource.props));
        const policy = resource.type === REST_DOMAIN ? readString(resource.props, "securityPolicy") : readString(readObject(resource.props, "domainNameConfiguration") ?? {}, "securityPolicy");
        return failIf([!MODERN_API_POLICY.test(policy ?? "") && `securityPolicy is ${policy ?? "unset"}; use TLS_1_2 (or an enhanced TLS 1.3 policy)`]);
    },
});
