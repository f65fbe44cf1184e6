/**
 * Argument validation shared by the components. Every component validates all of its arguments in its
 * constructor before it creates a single child, and throws one {@link ArgumentError} that names the component,
 * each bad argument and its fix.
 */
import { isDnsLabel } from "../naming";

/** Whether `name` can name an environment variable (POSIX shells' rule: letters, digits, "_", no leading digit). */
export function isEnvName(name: unknown): boolean {
    return typeof name === "string" && /^[A-Za-z_][A-Za-z0-9_]*$/.test(name);
}

/** One problem with one argument. */
export interface ArgProblem {
    /** The argument's path, e.g. `replicas` or `routes[1].path`. */
    readonly argument: string;
    /** What is wrong, e.g. `is 0, must be an integer from 1 to 100`. */
    readonly problem: string;
    /** How to fix it. */
    readonly fix: string;
}

/** Bad component arguments. Each line of `message` reads `<Type> "<name>": <argument> <problem>; <fix>`. */
export class ArgumentError extends Error {
    constructor(
        public readonly component: string,
        public readonly resourceName: string,
        public readonly problems: readonly ArgProblem[],
    ) {
        super(problems.map((p) => `${component} "${resourceName}": ${p.argument} ${p.problem}; ${p.fix}`).join("\n"));
        this.name = "ArgumentError";
    }
}

/** Collects the problems of one component's arguments and throws them together. */
export class ArgChecker {
    private readonly problems: ArgProblem[] = [];

    constructor(
        private readonly component: string,
        private readonly resourceName: string,
    ) {}

    /** Records a problem with `argument` unless `ok`. Returns `ok`. */
    check(ok: boolean, argument: string, problem: string, fix: string): boolean {
        if (!ok) this.problems.push({ argument, problem, fix });
        return ok;
    }

    /** Whether a problem with `argument` is already recorded (so a second source of checks does not repeat it). */
    has(argument: string): boolean {
        return this.problems.some((p) => p.argument === argument);
    }

    /** `value` is undefined or an integer in [min, max]. */
    integer(value: number | undefined, argument: string, min: number, max: number, fix?: string): boolean {
        if (value === undefined) return true;
        return this.check(
            typeof value === "number" && Number.isInteger(value) && value >= min && value <= max,
            argument,
            `is ${JSON.stringify(value)}, must be an integer from ${min} to ${max}`,
            fix ?? `set ${argument} to a whole number in that range`,
        );
    }

    /** `value` is undefined or a TCP port (1–65535). */
    port(value: number | undefined, argument: string): boolean {
        return this.integer(value, argument, 1, 65535, `set ${argument} to a TCP port between 1 and 65535`);
    }

    /**
     * `names` is a non-empty list of distinct DNS labels (host names or the ids in them). `what` names one entry in
     * the duplicate fix ("list each <what> once"); `ifEmpty` is the fix for an empty list.
     */
    dnsLabels(names: readonly string[], argument: string, what: string, ifEmpty: string): void {
        this.check(names.length >= 1, argument, "is empty", ifEmpty);
        for (const n of names)
            this.check(
                isDnsLabel(n),
                argument,
                `contains "${n}", not a DNS label`,
                "use lower-case letters, digits and inner hyphens (at most 63 characters)",
            );
        const dup = names.find((n, i) => names.indexOf(n) !== i);
        this.check(dup === undefined, argument, `lists "${dup}" twice`, `list each ${what} once`);
    }

    /** `name` is an environment variable name: letters, digits and underscores, not starting with a digit. */
    envName(name: string, argument: string): boolean {
        return this.check(
            isEnvName(name),
            argument,
            "is not a valid variable name",
            "use letters, digits and underscores",
        );
    }

    /** Records `problem` for each of `names` that `args` sets (arguments a form of the component does not take). */
    unset(args: Readonly<Record<string, unknown>>, names: readonly string[], problem: string, fix: string): void {
        for (const name of names) this.check(args[name] === undefined, name, problem, fix);
    }

    /** Throws an {@link ArgumentError} listing every recorded problem, if there is any. */
    throwIfAny(): void {
        if (this.problems.length > 0) throw new ArgumentError(this.component, this.resourceName, this.problems);
    }
}

/**
 * Checks a Pulumi program's stack configuration before anything is created, with messages that name the config
 * key and the `pulumi config set` command that fixes it. For example programs built from these components.
 */
export class ConfigChecker {
    private readonly c: ArgChecker;

    constructor(project: string, stack: string) {
        this.c = new ArgChecker(`${project} config`, stack);
    }

    /** `value` is an integer in [min, max]. */
    integer(key: string, value: number, min: number, max: number): void {
        this.c.check(
            Number.isInteger(value) && value >= min && value <= max,
            key,
            `is ${JSON.stringify(value)}, must be an integer from ${min} to ${max}`,
            `run \`pulumi config set ${key} <${min}..${max}>\``,
        );
    }

    /** Host ports that must differ from each other (0 = not published). */
    distinctPorts(ports: Readonly<Record<string, number>>): void {
        const used = new Map<number, string>();
        for (const [key, port] of Object.entries(ports)) {
            if (port === 0) continue;
            const other = used.get(port);
            this.c.check(
                other === undefined,
                key,
                `is ${port}, the same host port as ${other}`,
                `run \`pulumi config set ${key} <another port>\``,
            );
            used.set(port, key);
        }
    }

    /** Any other condition. */
    check(ok: boolean, key: string, problem: string, fix: string): void {
        this.c.check(ok, key, problem, fix);
    }

    throwIfAny(): void {
        this.c.throwIfAny();
    }
}
