// Bad input or usage: the CLIs print the message as one line on stderr and exit 2.
export class InputError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "InputError";
    }
}
