import { defineResourceRule, failIf } from "../../core/rule";
import { referrersOf } from "../_shared/references";
import { APPI } from "../_shared/appi";

export const vpcFlowLogsEnabled = defineResourceRule({
    id: "vpc-flow-logs-enabled",
    title: "VPCs record flow logs",
    description: "An aws:ec2/flowLog in the stack names the VPC (vpcId), so network access to the data tier can be reconstructed after an incident (Art. 26 reports).",
    appi: APPI.auditTrail,
    securityHub: ["EC2.6"],
    severity: "medium",
    remediation: "Add an aws.ec2.FlowLog with vpcId set, trafficType ALL, to a log group with retention and a customer-managed key.",
    defaultEnforcement: "advisory",
    resourceTypes: ["aws:ec2/vpc:Vpc"],
    reviews: ["aws:ec2/flowLog:FlowLog"],
    check(resource, { stack }) {
        const logged = referrersOf(stack, "aws:ec2/flowLog:FlowLog", "vpcId", resource).length > 0;
        return failIf([!logged && "no flow log records this VPC's traffic"]);
    },
});
