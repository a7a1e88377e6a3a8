// Structured log lines for the Lambdas. Only fixed, PII-free fields can be logged: the type has no
// place for attributes, names or e-mail addresses, and errors are reduced to their class and code.
// The Cognito sub is not logged either: the request id links a log line to its encryption_audit rows.

export interface LogFields {
    trigger: string;
    requestId?: string;
    outcome: "ok" | "rejected" | "skipped" | "already_processed" | "error";
    durationMs?: number;
    fieldsEncrypted?: number;
    consentsRecorded?: number;
    /** Which checks failed (their names only), e.g. for a rejected sign-up. */
    problems?: number;
    errorType?: string;
    errorCode?: string;
}

export function errorSummary(err: unknown): Pick<LogFields, "errorType" | "errorCode"> {
    if (!(err instanceof Error)) return { errorType: typeof err };
    const code = (err as { code?: unknown }).code;
    return { errorType: err.name, errorCode: typeof code === "string" ? code : undefined };
}

export function logEvent(fields: LogFields): void {
    console.log(JSON.stringify({ level: fields.outcome === "error" ? "error" : "info", ...fields }));
}
