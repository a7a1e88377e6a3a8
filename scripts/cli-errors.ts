// Bad input to the program (config the program or the stack files reject) is the user's to
// fix: exit 2 with the message. Anything else is a defect: exit 70 with the stack trace.
import { ConfigError } from "../components/config";
import { StackConfigError } from "../plan/stack-config";
import { isInputProblem } from "../policies/runners/cli-support";
import { InputError } from "../policies/runners/errors";

export function isBadInput(err: unknown): err is Error {
    return err instanceof ConfigError || err instanceof StackConfigError || isInputProblem(err);
}

/** Rethrows a planning failure as InputError when it is bad input, so runCli exits 2 with one line. */
export function asInputError(err: unknown): never {
    if (isBadInput(err) && !(err instanceof InputError)) throw new InputError(err.message);
    throw err;
}
