import { known } from "../../core/props";
import { combine, defineResourceRule, failIf, notApplicable } from "../../core/rule";
import { PropValue, StackView, UNKNOWN } from "../../core/types";
import { APPI } from "../_shared/appi";
import { conditionValues, parsePolicyDocument, PolicyStatement } from "../_shared/iam";
import { refersTo } from "../_shared/network";

const GITHUB_HOST = "token.actions.githubusercontent.com";
const OIDC_PROVIDER = "aws:iam/openIdConnectProvider:OpenIdConnectProvider";
const AUD_KEY = `${GITHUB_HOST}:aud`;
const SUB_KEY = `${GITHUB_HOST}:sub`;
/** Operators under which a listed value restricts the key (ForAnyValue etc. would not pin anything). */
const EXACT = ["StringEquals", "StringEqualsIgnoreCase"];
const PATTERN = ["StringLike"];
/** repo:<owner>/<name>:ref:refs/heads/<branch> or repo:<owner>/<name>:environment:<env>, no wildcard anywhere. */
const PINNED_SUB = /^repo:[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+:(ref:refs\/heads\/[^*?\s]+|environment:[^*?\s]+)$/;

/** Whether a federated principal is the GitHub Actions OIDC provider (by ARN, or by pointing at the provider resource). */
function isGithubProvider(stack: StackView, principal: PropValue): boolean | typeof UNKNOWN {
    if (principal === UNKNOWN) return UNKNOWN;
    if (typeof principal !== "string") return false;
    if (principal.includes(GITHUB_HOST)) return true;
    return stack.ofType(OIDC_PROVIDER).some((provider) => {
        const url = provider.props.url;
        return typeof url === "string" && url.includes(GITHUB_HOST) && refersTo(stack, principal, provider, "Principal.Federated");
    });
}

function trustsGithub(stack: StackView, statement: PolicyStatement): boolean {
    const federated = statement.principals.Federated ?? [];
    const verdicts = federated.map((p) => isGithubProvider(stack, p));
    if (verdicts.includes(true)) return true;
    const mentionsGithub = Object.values(statement.conditions).some((keys) => Object.keys(keys).some((k) => k.startsWith(GITHUB_HOST)));
    // An unknown principal (provider ARN computed in preview) counts when the conditions speak GitHub.
    return mentionsGithub && (verdicts.includes(UNKNOWN) || verdicts.length === 0);
}

function checkStatement(statement: PolicyStatement, index: number): string[] {
    const where = `Statement[${index}]`;
    const problems: string[] = [];
    const aud = [...conditionValues(statement, AUD_KEY, EXACT), ...conditionValues(statement, AUD_KEY, PATTERN)];
    const audValues = aud.flatMap((a) => a.values.map((v, i) => known(v, `${where}.Condition.${a.operator}["${AUD_KEY}"][${i}]`)));
    if (!audValues.length) problems.push(`${where} trusts GitHub OIDC without a ${AUD_KEY} condition; require "sts.amazonaws.com"`);
    else if (audValues.some((v) => v !== "sts.amazonaws.com")) problems.push(`${where} accepts ${AUD_KEY} ${audValues.map((v) => JSON.stringify(v)).join(", ")}; only "sts.amazonaws.com" is allowed`);

    const sub = [...conditionValues(statement, SUB_KEY, EXACT), ...conditionValues(statement, SUB_KEY, PATTERN)];
    const subValues = sub.flatMap((s) => s.values.map((v, i) => known(v, `${where}.Condition.${s.operator}["${SUB_KEY}"][${i}]`)));
    if (!subValues.length) {
        problems.push(`${where} trusts GitHub OIDC without a ${SUB_KEY} condition: any repository on GitHub could assume the role`);
        return problems;
    }
    const repos = new Set<string>();
    for (const value of subValues) {
        if (typeof value !== "string") {
            problems.push(`${where} has a non-string ${SUB_KEY} value`);
            continue;
        }
        const repo = /^repo:([^:]*)/.exec(value)?.[1];
        if (repo !== undefined) repos.add(repo);
        if (repo === undefined || /[*?]/.test(repo)) problems.push(`${where} ${SUB_KEY} "${value}" does not pin one repository (wildcard or owner-wide pattern)`);
        else if (!PINNED_SUB.test(value)) problems.push(`${where} ${SUB_KEY} "${value}" does not pin a branch (ref:refs/heads/<branch>) or environment (environment:<name>) without wildcards`);
    }
    if (repos.size > 1) problems.push(`${where} ${SUB_KEY} names ${repos.size} repositories (${[...repos].join(", ")}); give each its own role`);
    return problems;
}

export const githubOidcTrustPinned = defineResourceRule({
    id: "github-oidc-trust-pinned",
    title: "Roles trusted by GitHub Actions OIDC are pinned to one repository and branch or environment",
    description:
        "Every aws:iam/role whose trust policy (JSON string or object) trusts the token.actions.githubusercontent.com provider requires aud = sts.amazonaws.com and pins sub to repo:<owner>/<name>:ref:refs/heads/<branch> or repo:<owner>/<name>:environment:<env>: no wildcard in the repository, no owner-wide repo:<owner>/*, under StringEquals or StringLike.",
    appi: APPI.supervision,
    securityHub: [],
    severity: "critical",
    remediation:
        'Use Condition: { StringEquals: { "token.actions.githubusercontent.com:aud": "sts.amazonaws.com", "token.actions.githubusercontent.com:sub": "repo:<owner>/<repo>:environment:prod" } }.',
    defaultEnforcement: "mandatory",
    resourceTypes: ["aws:iam/role:Role"],
    check(resource, { stack }) {
        const statements = parsePolicyDocument(resource.props.assumeRolePolicy, "assumeRolePolicy");
        const github = statements.map((s, i) => [s, i] as const).filter(([s]) => s.effect === "Allow" && trustsGithub(stack, s));
        if (!github.length) return notApplicable();
        return combine(github.map(([s, i]) => () => failIf(checkStatement(s, i))));
    },
});
