import { defineResourceRule, notApplicable } from "../../core/rule";
import { rdsNotPubliclyAccessible } from "../rds/rds-not-publicly-accessible";

import { APPI } from "../_shared/appi";
import { dedicatedRules, checkStorePrivate } from "../_shared/store-checks";
import { NO_PERSONAL_DATA, PERSONAL_DATA_TAG, storeOf, storeTypesWith } from "../_shared/stores";

/** Per-service rules that already report some of these types: a resource they fail is theirs. */
const reportedByDedicatedRule = dedicatedRules([rdsNotPubliclyAccessible]);

export const storePrivate = defineResourceRule({
    id: "store-private",
    title: "Every store of personal data is private: no public flag, placed in private subnets",
    description:
        `Every data store whose catalogue entry has a network placement sets no public-access flag (publiclyAccessible, MSK public access, OpenSearch Serverless AllowFromPublic), and is placed in a subnet group or subnets of this stack with no route to the internet; a store with no subnet group lands in the default VPC, and an OpenSearch domain without vpcOptions has a public endpoint: neither is private. Cluster members are placed by their cluster. A store tagged ${PERSONAL_DATA_TAG}=${NO_PERSONAL_DATA} is out of scope.`,
    appi: APPI.accessControl,
    securityHub: ["RDS.2", "Redshift.1", "Opensearch.2"],
    severity: "critical",
    remediation:
        "Turn off the public flag, and place the store in a subnet group (or vpcOptions / subnetIds) made of isolated subnets of this stack: route tables with no route to an internet gateway, no public IPs on launch.",
    defaultEnforcement: "mandatory",
    resourceTypes: storeTypesWith("network"),
    check(resource, ctx) {
        if (reportedByDedicatedRule(resource, ctx)) return notApplicable();
        const { stack } = ctx;
        return checkStorePrivate(resource, storeOf(resource.type)!, stack);
    },
});
