// PreSignUp: accepts a complete sign-up, rejects an incomplete one with a message the user can act on.
import assert from "node:assert/strict";
import { handler } from "../../lambdas/pre-signup";
import { checkLambdaLogs, preSignUpEvent } from "./support";

const ATTRIBUTES = { email: "hanako@example.jp", given_name: "Hanako", family_name: "Yamada", phone_number: "+81312345678", birthdate: "1990-04-01" };
const CONSENT = { privacy_notice_version: "2025-04-01", consents: "privacy_notice,service_provision" };

async function rejection(event: ReturnType<typeof preSignUpEvent>): Promise<string> {
    let message: string | undefined;
    await assert.rejects(handler(event), (err: Error) => {
        message = err.message;
        return true;
    });
    return message!;
}

describe("lambdas/pre-signup", () => {
    const logs = checkLambdaLogs(() => ["hanako"]);

    it("accepts a complete sign-up with the consent in ValidationData and returns the event unchanged", async () => {
        const event = preSignUpEvent(ATTRIBUTES, { validationData: CONSENT });
        const before = structuredClone(event);
        const result = await handler(event);
        assert.equal(result, event);
        assert.deepEqual(result, before);
        assert.equal(result.response.autoConfirmUser, false);
        assert.deepEqual(logs.lines.map((l) => JSON.parse(l).outcome), ["ok"]);
    });

    it("accepts the consent in ClientMetadata when ValidationData is null", async () => {
        const event = preSignUpEvent(ATTRIBUTES, { validationData: null, clientMetadata: CONSENT });
        assert.equal(await handler(event), event);
    });

    it("accepts PreSignUp_AdminCreateUser with the consent", async () => {
        const event = preSignUpEvent(ATTRIBUTES, { validationData: CONSENT, triggerSource: "PreSignUp_AdminCreateUser" });
        assert.equal(await handler(event), event);
    });

    it("rejects a malformed e-mail without echoing it", async () => {
        const message = await rejection(preSignUpEvent({ ...ATTRIBUTES, email: "hanako@@example" }, { validationData: CONSENT }));
        assert.match(message, /enter a valid e-mail address/);
        assert.equal(message.includes("hanako"), false);
        assert.match(await rejection(preSignUpEvent({ ...ATTRIBUTES, email: "no-domain@localhost" }, { validationData: CONSENT })), /valid e-mail/);
        assert.match(await rejection(preSignUpEvent({ ...ATTRIBUTES, email: "" }, { validationData: CONSENT })), /e-mail address is required/);
    });

    it("rejects a sign-up without the privacy-notice consent and says what to do", async () => {
        const noConsent = await rejection(preSignUpEvent(ATTRIBUTES));
        assert.match(noConsent, /please read and accept the privacy notice/);
        assert.match(noConsent, /consent missing for privacy_notice, service_provision/);
        const partial = await rejection(preSignUpEvent(ATTRIBUTES, { validationData: { ...CONSENT, consents: "privacy_notice" } }));
        assert.match(partial, /consent missing for service_provision/);
        assert.doesNotMatch(partial, /privacy_notice_version is missing/);
        assert.deepEqual(logs.lines.map((l) => JSON.parse(l).outcome), ["rejected", "rejected"]);
    });

    it("rejects unknown consent purposes, naming the known ones and never echoing what the client sent", async () => {
        const message = await rejection(preSignUpEvent(ATTRIBUTES, { validationData: { ...CONSENT, consents: "privacy_notice,service_provision,selling_data" } }));
        assert.match(message, /1 unknown consent purpose\(s\); known: privacy_notice, service_provision/);
        assert.doesNotMatch(message, /selling_data/);
    });

    it("lists every problem at once: missing names, bad phone number, impossible birth date", async () => {
        const message = await rejection(
            preSignUpEvent({ email: "a@example.jp", given_name: " ", phone_number: "03-1234-5678", birthdate: "1990-02-30" }, { validationData: CONSENT }),
        );
        assert.match(message, /^Sign-up could not be completed: /);
        assert.match(message, /a given name is required/);
        assert.match(message, /a family name is required/);
        assert.match(message, /international format, e\.g\. \+81312345678/);
        assert.match(message, /birth date as YYYY-MM-DD/);
        assert.equal(message.includes("03-1234-5678"), false);
        const future = new Date(Date.now() + 86_400_000 * 400).toISOString().slice(0, 10);
        assert.match(await rejection(preSignUpEvent({ ...ATTRIBUTES, birthdate: future }, { validationData: CONSENT })), /not in the future/);
    });

    it("refuses another trigger source and an event without attributes", async () => {
        await assert.rejects(handler(preSignUpEvent(ATTRIBUTES, { validationData: CONSENT, triggerSource: "PostConfirmation_ConfirmSignUp" })), /unexpected triggerSource "PostConfirmation_ConfirmSignUp"/);
        const event = preSignUpEvent(ATTRIBUTES, { validationData: CONSENT });
        delete (event.request as { userAttributes?: unknown }).userAttributes;
        await assert.rejects(handler(event), /request\.userAttributes is missing/);
    });
});
