// The public tier: the EC2 host that serves the GraphQL API on 443 (and 4000 for the
// app server behind it), reachable through an Elastic IP and nothing else.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { dbConnectArn, serviceTrustPolicy } from "./iam";
import { IdentitySecretRotation, IdentitySecretRotationSettings } from "./identity-secret-rotation";

/** Where the boot-time fetch writes the service's environment (systemd EnvironmentFile=, root-only 0600). */
export const API_ENV_FILE = "/etc/appi/api.env";
/** The systemd unit that fetches APP_IDENTITY_SECRET at every boot, before the API service starts. */
export const IDENTITY_SECRET_UNIT = "appi-identity-secret.service";
/** The timer that fetches it again every IDENTITY_SECRET_REREAD_MINUTES (rotation, components/identity-secret-rotation.ts). */
export const IDENTITY_SECRET_REFRESH_TIMER = "appi-identity-secret-refresh.timer";
/**
 * How often the host re-reads the secret: after a rotation moves AWSCURRENT, the host signs with the new value
 * within this many minutes (+ 1 minute of randomized delay); the old key stays accepted for
 * IDENTITY_KEY_GRACE_MINUTES, which covers this + the longest token (60 minutes) + skew.
 */
export const IDENTITY_SECRET_REREAD_MINUTES = 10;

/**
 * The fetch script: reads the identity secret from Secrets Manager with the instance role and writes it into
 * the environment file, created 0600 before anything is written (umask, temp file, atomic rename). Never
 * `set -x` and never an argument on a command line: the value would land in the cloud-init log or `ps`.
 * APPI_ENV_FILE and AWS_CLI may be overridden (tests run it with a fake `aws`).
 */
export function identitySecretFetchScript(secretArn: string): string {
    if (!/^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@!-]+$/.test(secretArn)) {
        throw new Error(`identitySecretFetchScript: ${JSON.stringify(secretArn)} is not a Secrets Manager secret ARN`);
    }
    return [
        "#!/bin/bash",
        "# Installed by the API host's user data: fetches APP_IDENTITY_SECRET at every boot and every 10 minutes (components/api.ts).",
        "set -euo pipefail",
        "umask 077",
        `secret_arn='${secretArn}'`,
        'region=$(cut -d: -f4 <<< "$secret_arn")',
        `env_file="\${APPI_ENV_FILE:-${API_ENV_FILE}}"`,
        'aws_cli="${AWS_CLI:-aws}"',
        'mkdir -p "$(dirname "$env_file")"',
        'value=$("$aws_cli" secretsmanager get-secret-value --region "$region" --secret-id "$secret_arn" --query SecretString --output text)',
        'if ! [[ "$value" =~ ^[A-Za-z0-9+/]{43,86}={0,2}$ ]]; then echo "appi-identity-secret: the secret is not base64 of 32-64 bytes" >&2; exit 1; fi',
        // Unchanged value: leave the file (and its mtime, which the API process watches) alone.
        `if [[ -f "$env_file" ]] && cmp -s "$env_file" <(printf 'APP_IDENTITY_SECRET=%s\\n' "$value"); then exit 0; fi`,
        'tmp=$(mktemp "$(dirname "$env_file")/.api.env.XXXXXX")',
        `trap 'rm -f "$tmp"' EXIT`,
        'chmod 0600 "$tmp"',
        `printf 'APP_IDENTITY_SECRET=%s\\n' "$value" > "$tmp"`,
        'mv -f "$tmp" "$env_file"',
        "trap - EXIT",
        "",
    ].join("\n");
}

/** User data: installs the fetch script and a oneshot unit that runs it at every boot (cloud-init runs user data once). */
export function apiUserData(secretArn: string): string {
    const script = identitySecretFetchScript(secretArn);
    return [
        "#!/bin/bash",
        "set -euo pipefail",
        "install -d -m 0755 /usr/local/sbin",
        "cat > /usr/local/sbin/appi-fetch-identity-secret <<'APPI_SCRIPT'",
        script.trimEnd(),
        "APPI_SCRIPT",
        "chmod 0700 /usr/local/sbin/appi-fetch-identity-secret",
        `cat > /etc/systemd/system/${IDENTITY_SECRET_UNIT} <<'APPI_UNIT'`,
        "[Unit]",
        "Description=Fetch APP_IDENTITY_SECRET from Secrets Manager into " + API_ENV_FILE,
        "Wants=network-online.target",
        "After=network-online.target",
        "[Service]",
        "Type=oneshot",
        "RemainAfterExit=yes",
        "ExecStart=/usr/local/sbin/appi-fetch-identity-secret",
        "Restart=on-failure",
        "RestartSec=10",
        "[Install]",
        "WantedBy=multi-user.target",
        "APPI_UNIT",
        // Rotation: the same fetch again every IDENTITY_SECRET_REREAD_MINUTES; a failure keeps the file as it was.
        "cat > /etc/systemd/system/appi-identity-secret-refresh.service <<'APPI_UNIT'",
        "[Unit]",
        "Description=Re-read APP_IDENTITY_SECRET from Secrets Manager (rotation)",
        "Wants=network-online.target",
        "After=network-online.target",
        "[Service]",
        "Type=oneshot",
        "ExecStart=/usr/local/sbin/appi-fetch-identity-secret",
        "APPI_UNIT",
        `cat > /etc/systemd/system/${IDENTITY_SECRET_REFRESH_TIMER} <<'APPI_UNIT'`,
        "[Unit]",
        "Description=Re-read APP_IDENTITY_SECRET every " + IDENTITY_SECRET_REREAD_MINUTES + " minutes",
        "[Timer]",
        `OnBootSec=${IDENTITY_SECRET_REREAD_MINUTES}min`,
        `OnUnitActiveSec=${IDENTITY_SECRET_REREAD_MINUTES}min`,
        "RandomizedDelaySec=60",
        "[Install]",
        "WantedBy=timers.target",
        "APPI_UNIT",
        "systemctl daemon-reload",
        `systemctl enable --now ${IDENTITY_SECRET_UNIT}`,
        `systemctl enable --now ${IDENTITY_SECRET_REFRESH_TIMER}`,
        "",
    ].join("\n");
}

export interface ApiArgs {
    namePrefix: string;
    instanceType: string;
    subnetId: pulumi.Input<string>;
    /** The API tier's security group (from Network); this component adds its rules. */
    securityGroupId: pulumi.Input<string>;
    vpcCidr: string;
    ingressCidrs: string[];
    rootVolumeKeyArn: pulumi.Input<string>;
    /**
     * The RDS Proxy the API reaches PostgreSQL through, and its own database login (migrations/0019: `api_app`,
     * a pii_read / pii_write member that acts for a user only with a signed identity token). IAM auth: the
     * host holds no database password, and never the master user's.
     */
    dbProxyArn: pulumi.Input<string>;
    dbUser: pulumi.Input<string>;
    /**
     * The stack CMK that encrypts the APP_IDENTITY_SECRET secret this component creates (a random 48 bytes,
     * base64). The instance role may read that one secret; user data fetches it at boot (never the value itself).
     */
    identitySecretKeyArn: pulumi.Input<string>;
    /**
     * Automatic rotation of that secret (components/identity-secret-rotation.ts: a Secrets Manager rotation Lambda
     * in the app tier, every 30 days; the database accepts the old key for a grace window, migrations/0021).
     */
    rotation?: IdentitySecretRotationSettings;
    /** SSM parameter of the AMI (Amazon Linux 2023 by default). */
    amiParameter?: string;
    tags?: Record<string, string>;
}

const API_PORTS = [443, 4000];

export class Api extends pulumi.ComponentResource {
    readonly instance: aws.ec2.Instance;
    readonly publicIp: pulumi.Output<string>;
    readonly instanceId: pulumi.Output<string>;
    readonly roleArn: pulumi.Output<string>;
    /** ARN of the APP_IDENTITY_SECRET secret (install it in the database with npm run db:migrate, db/README.md). */
    readonly identitySecretArn: pulumi.Output<string>;
    /** Its rotation, when ApiArgs.rotation is given. */
    readonly identitySecretRotation?: IdentitySecretRotation;

    constructor(name: string, args: ApiArgs, opts?: pulumi.ComponentResourceOptions) {
        super("appi:api:Api", name, {}, opts);
        const parent = { parent: this };
        const tags = { ...args.tags, Name: `${args.namePrefix}-graphql-api` };

        for (const cidr of args.ingressCidrs) {
            for (const port of API_PORTS) {
                new aws.vpc.SecurityGroupIngressRule(`${name}-${port}-${cidr.replace(/[./]/g, "-")}`, { securityGroupId: args.securityGroupId, cidrIpv4: cidr, ipProtocol: "tcp", fromPort: port, toPort: port, description: `GraphQL API ${port}` }, parent);
            }
        }
        // Out: HTTPS anywhere (Cognito, package updates), PostgreSQL and Redis inside the VPC only.
        const egress: [string, number, string][] = [["https", 443, "0.0.0.0/0"], ["postgres", 5432, args.vpcCidr], ["redis", 6379, args.vpcCidr]];
        for (const [label, port, cidr] of egress) {
            new aws.vpc.SecurityGroupEgressRule(`${name}-egress-${label}`, { securityGroupId: args.securityGroupId, cidrIpv4: cidr, ipProtocol: "tcp", fromPort: port, toPort: port, description: `${label} out` }, parent);
        }

        const role = new aws.iam.Role(
            `${name}-instance`,
            { name: `${args.namePrefix}-api-instance`, assumeRolePolicy: serviceTrustPolicy("ec2.amazonaws.com"), tags: args.tags },
            parent,
        );
        // Session Manager instead of SSH: no port 22 anywhere.
        new aws.iam.RolePolicyAttachment(`${name}-ssm`, { role: role.name, policyArn: "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore" }, parent);
        // The database through the proxy as its own login with an IAM token: a stolen host credential is one
        // app login under row-level security, not the master user (which owns nothing and may create roles).
        new aws.iam.RolePolicy(
            `${name}-db-connect`,
            {
                role: role.id,
                policy: dbConnectArn(args.dbProxyArn, args.dbUser).apply((connectArn) =>
                    JSON.stringify({
                        Version: "2012-10-17",
                        Statement: [{ Sid: "ConnectThroughProxyAsOwnUser", Effect: "Allow", Action: "rds-db:connect", Resource: connectArn }],
                    }),
                ),
            },
            parent,
        );
        // APP_IDENTITY_SECRET: generated once (kept in state as a Pulumi secret), stored under the stack CMK,
        // readable by this instance role only; the host fetches it at boot into a 0600 environment file.
        const identitySecret = new aws.secretsmanager.Secret(
            `${name}-identity`,
            {
                name: `${args.namePrefix}/api/app-identity-secret`,
                description: "APP_IDENTITY_SECRET: the HMAC key of identity tokens the API signs and the database verifies (migrations/0005)",
                kmsKeyId: args.identitySecretKeyArn,
                recoveryWindowInDays: 7,
                tags: { ...args.tags, DataClassification: "internal" },
            },
            parent,
        );
        // 64 characters of [A-Za-z0-9] are base64 of exactly 48 bytes (what identitySecretFromEnv accepts).
        const identityValue = new random.RandomPassword(`${name}-identity`, { length: 64, special: false, upper: true, lower: true, numeric: true }, parent);
        // The first value only: rotation adds versions and moves AWSCURRENT; a later `pulumi up` must not move it back.
        new aws.secretsmanager.SecretVersion(
            `${name}-identity`,
            { secretId: identitySecret.id, secretString: pulumi.secret(identityValue.result) },
            { parent: this, ignoreChanges: ["secretString", "versionStages"] },
        );
        if (args.rotation) {
            this.identitySecretRotation = new IdentitySecretRotation(
                `${name}-identity-rotation`,
                { ...args.rotation, namePrefix: args.namePrefix, secretArn: identitySecret.arn, secretKeyArn: args.identitySecretKeyArn, tags: args.tags },
                parent,
            );
        }
        new aws.iam.RolePolicy(
            `${name}-identity-secret`,
            {
                role: role.id,
                policy: pulumi.all([identitySecret.arn, args.identitySecretKeyArn]).apply(([secretArn, keyArn]) =>
                    JSON.stringify({
                        Version: "2012-10-17",
                        Statement: [
                            { Sid: "ReadIdentitySecret", Effect: "Allow", Action: "secretsmanager:GetSecretValue", Resource: secretArn },
                            {
                                Sid: "DecryptIdentitySecret",
                                Effect: "Allow",
                                Action: "kms:Decrypt",
                                Resource: keyArn,
                                Condition: { StringLike: { "kms:ViaService": "secretsmanager.*.amazonaws.com" }, StringEquals: { "kms:EncryptionContext:SecretARN": secretArn } },
                            },
                        ],
                    }),
                ),
            },
            parent,
        );
        const profile = new aws.iam.InstanceProfile(`${name}-instance`, { name: `${args.namePrefix}-api-instance`, role: role.name, tags: args.tags }, parent);

        const ami = aws.ssm.getParameterOutput({ name: args.amiParameter ?? "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64" }, parent);
        this.instance = new aws.ec2.Instance(
            name,
            {
                ami: ami.value,
                instanceType: args.instanceType,
                subnetId: args.subnetId,
                vpcSecurityGroupIds: [args.securityGroupId],
                iamInstanceProfile: profile.name,
                associatePublicIpAddress: false,
                monitoring: true,
                // IMDSv2 only: a stolen SSRF request cannot read the role's credentials.
                metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 },
                rootBlockDevice: { encrypted: true, kmsKeyId: args.rootVolumeKeyArn, volumeType: "gp3", volumeSize: 20, deleteOnTermination: true },
                tags,
                volumeTags: tags,
                // Only the secret's ARN; the value is fetched at boot with the instance role.
                userData: identitySecret.arn.apply(apiUserData),
            },
            parent,
        );
        const eip = new aws.ec2.Eip(name, { domain: "vpc", instance: this.instance.id, tags }, parent);

        this.publicIp = eip.publicIp;
        this.instanceId = this.instance.id;
        this.roleArn = role.arn;
        this.identitySecretArn = identitySecret.arn;
        this.registerOutputs({ publicIp: this.publicIp, instanceId: this.instanceId, roleArn: this.roleArn, identitySecretArn: this.identitySecretArn });
    }
}
