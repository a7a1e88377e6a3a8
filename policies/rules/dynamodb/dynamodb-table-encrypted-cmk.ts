import { readBool, readObject } from "../../core/props";
import { defineResourceRule, failIf } from "../../core/rule";
import { APPI } from "../_shared/appi";
import { classifyKey, cmkProblem } from "../_shared/kms";

export const dynamodbTableEncryptedCmk = defineResourceRule({
    id: "dynamodb-table-encrypted-cmk",
    title: "DynamoDB tables are encrypted with a customer-managed KMS key",
    description: "serverSideEncryption.enabled is true with a customer-managed kmsKeyArn; disabled means an AWS-owned key, enabled without a key means aws/dynamodb.",
    appi: APPI.breachSafeHarbour,
    securityHub: [],
    severity: "high",
    remediation: "Set serverSideEncryption: { enabled: true, kmsKeyArn: <customer-managed key ARN> }.",
    defaultEnforcement: "mandatory",
    resourceTypes: ["aws:dynamodb/table:Table"],
    check(resource, { stack }) {
        const sse = readObject(resource.props, "serverSideEncryption");
        if (!sse || !readBool(sse, "enabled", false)) return failIf(["serverSideEncryption is not enabled, so the table uses an AWS-owned key"]);
        return failIf([cmkProblem("the table", classifyKey(sse, "kmsKeyArn", stack), "serverSideEncryption.kmsKeyArn")]);
    },
});
