#!/usr/bin/env bash
# One-time set-up of a stack's state backend and secrets provider, run by a person signed in with
# AWS SSO (CI cannot do it: its roles are created by the first deploy). Idempotent: re-running it
# re-applies the hardening and creates only what is missing.
#
#   aws sso login --profile rento-development-sso
#   AWS_PROFILE=rento-development-sso scripts/bootstrap.sh dev
#
# It creates, in Tokyo (ap-northeast-1; APPI residency):
#   - a KMS key with rotation, alias alias/<KEY_ALIAS> (default appi-pulumi-secrets), used both for the
#     state bucket's SSE-KMS and as the stack's secrets provider (awskms://alias/...?region=ap-northeast-1);
#   - the state bucket (default appi-pulumi-state-<account>): versioning, SSE-KMS with that key and a
#     bucket key, every public access block on, bucket-owner-enforced, TLS-only bucket policy;
#   - `pulumi login s3://<bucket>?region=ap-northeast-1`, then the stack, initialised with the KMS
#     secrets provider (`pulumi stack init --secrets-provider`) when it does not exist yet, and the
#     config the program's GitHub roles need (pulumiStateBucket, pulumiSecretsKeyArn).
# Exit: 0 done · 2 usage or a missing tool · 3 not signed in to AWS (run aws sso login) · 1 an AWS or
#       Pulumi call failed (the message names it).
set -euo pipefail

usage="usage: AWS_PROFILE=<sso profile> scripts/bootstrap.sh dev|prod   (env: STATE_BUCKET, KEY_ALIAS, AWS_REGION)"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
stack="${1:-}"
case "$stack" in
    -h|--help) echo "$usage"; exit 0 ;;
    dev|prod) ;;
    *) echo "bootstrap: expected the stack name dev or prod, got '${stack}'; ${usage}" >&2; exit 2 ;;
esac
region="${AWS_REGION:-ap-northeast-1}"
if [ "$region" != "ap-northeast-1" ]; then
    echo "bootstrap: AWS_REGION=${region}: the state and its key stay in Tokyo (ap-northeast-1), where the stacks live (APPI residency); unset AWS_REGION" >&2
    exit 2
fi
key_alias="alias/${KEY_ALIAS:-appi-pulumi-secrets}"
if [[ ! "$key_alias" =~ ^alias/[A-Za-z0-9/_-]+$ ]] || [[ "$key_alias" == alias/aws/* ]]; then
    echo "bootstrap: KEY_ALIAS=${KEY_ALIAS:-}: must be a customer alias name (letters, digits, / _ -), not aws/..." >&2
    exit 2
fi
for tool in aws pulumi; do
    command -v "$tool" > /dev/null 2>&1 || { echo "bootstrap: ${tool} is not on PATH (AWS CLI v2 and Pulumi $(cat "$root/.pulumi.version") are required)" >&2; exit 2; }
done

step() { echo "==> $*"; }
run() { # a call whose failure stops the bootstrap with its name
    if ! "$@"; then echo "bootstrap: failed: $*" >&2; exit 1; fi
}

step "AWS identity"
if ! account="$(aws sts get-caller-identity --query Account --output text 2> /dev/null)" || [[ ! "$account" =~ ^[0-9]{12}$ ]]; then
    echo "bootstrap: not signed in to AWS: run \`aws sso login --profile <profile>\` and set AWS_PROFILE (rento-development-sso for dev, rento-production-sso for prod)" >&2
    exit 3
fi
echo "account ${account}, region ${region}"
bucket="${STATE_BUCKET:-appi-pulumi-state-${account}}"
if [[ ! "$bucket" =~ ^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$ ]]; then
    echo "bootstrap: STATE_BUCKET=${bucket} is not a valid S3 bucket name" >&2
    exit 2
fi

step "KMS key ${key_alias}"
if key_arn="$(aws kms describe-key --key-id "$key_alias" --region "$region" --query KeyMetadata.Arn --output text 2> /dev/null)"; then
    echo "exists: ${key_arn}"
else
    key_arn="$(run aws kms create-key --region "$region" --description "Pulumi state and stack secrets (appi-infra)" \
        --key-usage ENCRYPT_DECRYPT --key-spec SYMMETRIC_DEFAULT --no-multi-region --query KeyMetadata.Arn --output text)"
    run aws kms create-alias --region "$region" --alias-name "$key_alias" --target-key-id "$key_arn"
    echo "created: ${key_arn}"
fi
run aws kms enable-key-rotation --region "$region" --key-id "$key_arn"

step "State bucket s3://${bucket}"
if aws s3api head-bucket --bucket "$bucket" --region "$region" 2> /dev/null; then
    echo "exists"
else
    run aws s3api create-bucket --bucket "$bucket" --region "$region" --create-bucket-configuration "LocationConstraint=${region}"
    echo "created"
fi
run aws s3api put-public-access-block --bucket "$bucket" --region "$region" \
    --public-access-block-configuration "BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true"
run aws s3api put-bucket-ownership-controls --bucket "$bucket" --region "$region" \
    --ownership-controls 'Rules=[{ObjectOwnership=BucketOwnerEnforced}]'
run aws s3api put-bucket-versioning --bucket "$bucket" --region "$region" --versioning-configuration Status=Enabled
run aws s3api put-bucket-encryption --bucket "$bucket" --region "$region" \
    --server-side-encryption-configuration "{\"Rules\":[{\"ApplyServerSideEncryptionByDefault\":{\"SSEAlgorithm\":\"aws:kms\",\"KMSMasterKeyID\":\"${key_arn}\"},\"BucketKeyEnabled\":true}]}"
run aws s3api put-bucket-policy --bucket "$bucket" --region "$region" \
    --policy "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"DenyInsecureTransport\",\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\"s3:*\",\"Resource\":[\"arn:aws:s3:::${bucket}\",\"arn:aws:s3:::${bucket}/*\"],\"Condition\":{\"Bool\":{\"aws:SecureTransport\":\"false\"}}}]}"

step "Pulumi backend and stack ${stack}"
backend="s3://${bucket}?region=${region}"
secrets_provider="awskms://${key_alias}?region=${region}"
run pulumi login "$backend"
cd "$root"
if pulumi stack select "$stack" > /dev/null 2>&1; then
    echo "stack ${stack} exists"
else
    run pulumi stack init "$stack" --secrets-provider "$secrets_provider"
fi
run pulumi config set --stack "$stack" pulumiStateBucket "$bucket"
run pulumi config set --stack "$stack" pulumiSecretsKeyArn "$key_arn"

cat <<NEXT

Bootstrap of ${stack} done: state ${backend}, secrets ${secrets_provider}.
Next, as the same SSO user (the first deploy creates the GitHub OIDC roles CI uses from then on):
  scripts/pulumi-gate.sh preview ${stack}
  scripts/pulumi-gate.sh up ${stack}
Then set the repository variables from the stack outputs (pulumi stack output githubRoleArns):
  PULUMI_BACKEND_URL=${backend}
  AWS_${stack^^}_{PREVIEW,DEPLOY,MIGRATE,AUDIT}_ROLE_ARN
and commit Pulumi.${stack}.yaml (it now names the state bucket and the secrets key).
NEXT
