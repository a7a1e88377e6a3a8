// edge-tls-modern: load balancer listeners, CloudFront and API Gateway domains in front of personal data.
import * as aws from "@pulumi/aws";
import { edgeTlsModern as rule } from "../../../policies/rules/transit/edge-tls-modern";
import { createResourceValidationArgs as view, runRule, UNKNOWN } from "../../support/validation-args";
import { assertCannotCheck, assertCompliant, assertNotApplicable, assertViolation } from "./assert-outcome";

const lb = "arn:aws:elasticloadbalancing:ap-northeast-1:1:loadbalancer/app/api/1";
const forward = { type: "forward", targetGroupArn: "arn:aws:elasticloadbalancing:ap-northeast-1:1:targetgroup/api/1" };
const toHttps = { type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } };

describe("rule edge-tls-modern: load balancer listeners", () => {
    it("passes HTTPS with a TLS 1.3 policy and fails the default ELBSecurityPolicy-2016-08", () => {
        assertCompliant(runRule(rule, view(aws.lb.Listener, { loadBalancerArn: lb, port: 443, protocol: "HTTPS", sslPolicy: "ELBSecurityPolicy-TLS13-1-2-2021-06", certificateArn: "c", defaultActions: [forward] })));
        assertViolation(runRule(rule, view(aws.lb.Listener, { loadBalancerArn: lb, port: 443, protocol: "HTTPS", certificateArn: "c", defaultActions: [forward] })), /ELBSecurityPolicy-2016-08 \(the default\)/);
        assertViolation(runRule(rule, view(aws.alb.Listener, { loadBalancerArn: lb, port: 443, protocol: "HTTPS", sslPolicy: "ELBSecurityPolicy-TLS13-1-0-2021-06", certificateArn: "c", defaultActions: [forward] })), /TLS13-1-0/);
    });
    it("passes an HTTP listener that redirects to HTTPS, fails one that forwards, and a plaintext TCP listener", () => {
        assertCompliant(runRule(rule, view(aws.lb.Listener, { loadBalancerArn: lb, port: 80, protocol: "HTTP", defaultActions: [toHttps] })));
        assertViolation(runRule(rule, view(aws.lb.Listener, { loadBalancerArn: lb, port: 80, protocol: "HTTP", defaultActions: [forward] })), /plain HTTP/);
        assertViolation(runRule(rule, view(aws.lb.Listener, { loadBalancerArn: lb, port: 5432, protocol: "TCP", defaultActions: [forward] })), /TCP listener carries traffic without TLS/);
        assertCompliant(runRule(rule, view(aws.lb.Listener, { loadBalancerArn: lb, port: 5432, protocol: "TLS", sslPolicy: "ELBSecurityPolicy-TLS13-1-3-2021-06", certificateArn: "c", defaultActions: [forward] })));
    });
    it("attacker: an HTTP listener that redirects by default but forwards /api through a listener rule, or redirects to http", () => {
        const http = view(aws.lb.Listener, { loadBalancerArn: lb, port: 80, protocol: "HTTP", defaultActions: [toHttps] }, { name: "http", id: "arn:aws:elasticloadbalancing:ap-northeast-1:1:listener/app/api/1/80" });
        const sneaky = view(aws.lb.ListenerRule, { listenerArn: "arn:aws:elasticloadbalancing:ap-northeast-1:1:listener/app/api/1/80", actions: [forward], conditions: [{ pathPattern: { values: ["/api/*"] } }] });
        assertViolation(runRule(rule, sneaky, [http]), /on HTTP listener http: actions\[0\] \(forward\)/);
        assertViolation(runRule(rule, view(aws.lb.Listener, { loadBalancerArn: lb, port: 80, protocol: "HTTP", defaultActions: [{ type: "redirect", redirect: { protocol: "HTTP", port: "8080", statusCode: "HTTP_301" } }] })), /redirects to HTTP/);
        assertCannotCheck(runRule(rule, view(aws.lb.ListenerRule, { listenerArn: UNKNOWN, actions: [forward] })), /not known yet/);
    });
    it("skips listeners tagged, or on a load balancer tagged, as holding no personal data", () => {
        assertNotApplicable(runRule(rule, view(aws.lb.Listener, { loadBalancerArn: lb, port: 80, protocol: "HTTP", defaultActions: [forward], tags: { "appi:personal-data": "none" } })));
        const status = view(aws.lb.LoadBalancer, { tags: { "appi:personal-data": "none" } }, { name: "status", outputs: { arn: lb } });
        assertNotApplicable(runRule(rule, view(aws.lb.Listener, { loadBalancerArn: lb, port: 80, protocol: "HTTP", defaultActions: [forward] }), [status]));
    });
});

describe("rule edge-tls-modern: CloudFront and API Gateway", () => {
    const distribution = (behaviour: string, certificate: object, origins: object[] = []) =>
        view(aws.cloudfront.Distribution, {
            enabled: true,
            origins: origins.length ? origins : [{ domainName: "b.s3.ap-northeast-1.amazonaws.com", originId: "s3" }],
            defaultCacheBehavior: { targetOriginId: "s3", viewerProtocolPolicy: behaviour, allowedMethods: ["GET", "HEAD"], cachedMethods: ["GET", "HEAD"] },
            restrictions: { geoRestriction: { restrictionType: "none" } },
            viewerCertificate: certificate,
        });
    const acm = { acmCertificateArn: "arn:aws:acm:us-east-1:1:certificate/c", sslSupportMethod: "sni-only", minimumProtocolVersion: "TLSv1.2_2021" };
    it("passes redirect-to-https with TLSv1.2_2021, fails allow-all, the default certificate and an old minimum", () => {
        assertCompliant(runRule(rule, distribution("redirect-to-https", acm)));
        assertViolation(runRule(rule, distribution("allow-all", acm)), /viewerProtocolPolicy is allow-all/);
        assertViolation(runRule(rule, distribution("https-only", { cloudfrontDefaultCertificate: true })), /default \*\.cloudfront\.net certificate/);
        assertViolation(runRule(rule, distribution("https-only", { ...acm, minimumProtocolVersion: "TLSv1_2016" })), /TLSv1_2016/);
    });
    it("attacker: HTTPS to viewers but plain HTTP or TLS 1.0 to the custom origin", () => {
        const origin = (originProtocolPolicy: string, originSslProtocols: string[]) => ({ domainName: "api.example.jp", originId: "api", customOriginConfig: { httpPort: 80, httpsPort: 443, originProtocolPolicy, originSslProtocols } });
        assertViolation(runRule(rule, distribution("https-only", acm, [origin("http-only", ["TLSv1.2"])])), /originProtocolPolicy is http-only/);
        assertViolation(runRule(rule, distribution("https-only", acm, [origin("https-only", ["TLSv1", "TLSv1.2"])])), /allows TLSv1/);
        assertCompliant(runRule(rule, distribution("https-only", acm, [origin("https-only", ["TLSv1.2"])])));
    });
    it("API Gateway custom domains: TLS_1_2 or an enhanced policy, not TLS_1_0 or unset", () => {
        assertCompliant(runRule(rule, view(aws.apigateway.DomainName, { domainName: "api.example.jp", securityPolicy: "TLS_1_2" })));
        assertCompliant(runRule(rule, view(aws.apigateway.DomainName, { domainName: "api.example.jp", securityPolicy: "SecurityPolicy_TLS13_1_3_2025_09" })));
        assertViolation(runRule(rule, view(aws.apigateway.DomainName, { domainName: "api.example.jp", securityPolicy: "TLS_1_0" })), /TLS_1_0/);
        assertViolation(runRule(rule, view(aws.apigateway.DomainName, { domainName: "api.example.jp" })), /unset/);
        assertCompliant(runRule(rule, view(aws.apigatewayv2.DomainName, { domainName: "api.example.jp", domainNameConfiguration: { certificateArn: "c", endpointType: "REGIONAL", securityPolicy: "TLS_1_2" } })));
        assertCannotCheck(runRule(rule, view(aws.apigateway.DomainName, { domainName: "api.example.jp", securityPolicy: UNKNOWN })));
    });
});
