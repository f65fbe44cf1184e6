/**
 * Secrets handed to a container as files under /run/secrets, the path Docker's own secrets use. A file, not an
 * environment variable: a container's Env is readable by anyone with the Docker API (`docker inspect`, and
 * registrator through its socket) for the container's whole life. Images that follow the `*_FILE` convention
 * (the official Postgres image, Miniflux, many others) are pointed at the file by a variable holding its path.
 */
import type * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { ArgChecker } from "../validation";

/** Where the secret files are written in the container. */
export const SECRETS_DIR = "/run/secrets";

/** One secret delivered as the file `/run/secrets/<key>`. */
export interface SecretFile {
    /** The secret (kept as a Pulumi secret in the state). */
    readonly value: pulumi.Input<string>;
    /**
     * An environment variable set to the file's path, for images that read `*_FILE` variables, e.g.
     * `"ADMIN_PASSWORD_FILE"`. @default none (the image reads the path it knows)
     */
    readonly env?: string;
    /**
     * The file's mode, octal. The default lets every user of the container read it, as Docker's own secrets do
     * (the container is the app's alone); `"0400"` with `owner` keeps it to one user. @default "0444"
     */
    readonly mode?: string;
    /**
     * Numeric uid owning the file. A number, because a user name would be looked up on the machine running Pulumi,
     * not in the image. @default 0 (root)
     */
    readonly owner?: number;
    /** Numeric gid owning the file. @default 0 (root) */
    readonly group?: number;
}

const FILE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
const MODE = /^0?[0-7]{3}$/;

/**
 * Checks `files` under `argument`. `takenEnv` are variables the component or the user already sets (a secret's
 * `env` may not be one of them); `readOnlyRoot`: the docker provider uploads files through the container's root,
 * which Docker refuses for a read-only root, so secret files cannot be combined with it (given when the component
 * takes a read-only root).
 */
export function checkSecretFiles(
    c: ArgChecker,
    argument: string,
    files: Readonly<Record<string, SecretFile>>,
    takenEnv: readonly string[],
    readOnlyRoot?: { readonly argument: string; readonly set: boolean },
): void {
    const seenEnv: string[] = [];
    for (const [name, f] of Object.entries(files)) {
        const arg = `${argument}["${name}"]`;
        c.check(
            FILE_NAME.test(name),
            arg,
            "is not a plain file name",
            'use letters, digits, ".", "_" and "-" (no "/"), e.g. "db-password"',
        );
        c.check(
            f !== null && typeof f === "object" && f.value !== undefined && f.value !== null,
            `${arg}.value`,
            "is missing",
            "give the secret's value, e.g. a random password's result or config.requireSecret(...)",
        );
        if (f?.env !== undefined) {
            if (c.envName(f.env, `${arg}.env`)) {
                c.check(
                    !takenEnv.includes(f.env) && !seenEnv.includes(f.env),
                    `${arg}.env`,
                    `is ${f.env}, which is already set`,
                    "give each secret file its own variable, one that env and the component do not set",
                );
                seenEnv.push(f.env);
            }
        }
        if (f?.mode !== undefined)
            c.check(
                MODE.test(f.mode),
                `${arg}.mode`,
                `is ${JSON.stringify(f.mode)}`,
                'give an octal mode like "0400" or "0440"',
            );
        for (const k of ["owner", "group"] as const)
            c.integer(
                f?.[k],
                `${arg}.${k}`,
                0,
                2 ** 31 - 1,
                `give the numeric ${k === "owner" ? "uid" : "gid"} inside the image`,
            );
    }
    if (readOnlyRoot && Object.keys(files).length > 0)
        c.check(
            !readOnlyRoot.set,
            readOnlyRoot.argument,
            `is true, but ${argument} are uploaded through the container's root, which Docker refuses when it is read-only`,
            `leave ${readOnlyRoot.argument} out, or hand these values over another way`,
        );
}

/** The docker provider's uploads for checked `files`, in name order; every value a secret. */
export function secretFileUploads(files: Readonly<Record<string, SecretFile>>): docker.types.input.ContainerUpload[] {
    return Object.keys(files)
        .sort()
        .map((name) => {
            const f = files[name];
            return {
                file: `${SECRETS_DIR}/${name}`,
                content: pulumi.secret(f.value),
                permissions: f.mode ?? "0444",
                ...(f.owner !== undefined ? { owner: String(f.owner) } : {}),
                ...(f.group !== undefined ? { group: String(f.group) } : {}),
            };
        });
}

/** The `*_FILE` variables of `files`: each one's `env` → the file's path. */
export function secretFileEnv(files: Readonly<Record<string, SecretFile>>): Record<string, string> {
    const env: Record<string, string> = {};
    for (const [name, f] of Object.entries(files)) if (f.env !== undefined) env[f.env] = `${SECRETS_DIR}/${name}`;
    return env;
}

/** What of `files` is known when the program runs (never a value): for a rollout generation. */
export function secretFilesSpec(files: Readonly<Record<string, SecretFile>>): Record<string, unknown> {
    return Object.fromEntries(
        Object.keys(files)
            .sort()
            .map((name) => {
                const { env, mode, owner, group } = files[name];
                return [name, { env: env ?? null, mode: mode ?? "0444", owner: owner ?? 0, group: group ?? 0 }];
            }),
    );
}
