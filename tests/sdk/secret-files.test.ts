/**
 * Secrets as files (`secretFiles`, and the pool's `databaseUrlAs: "file"`): uploaded to /run/secrets as secrets,
 * announced by `*_FILE` variables, never in the container's Env; every bad argument refused before anything exists.
 * The real engine side (owner, mode, content in the running container, nothing in state) is in
 * tests/engine/service.test.ts.
 */
import * as pulumi from "@pulumi/pulumi";
import { AppServerPool, ArgumentError, PostgresCluster, Service, TieredNetwork } from "../../sdk";
import type { AppServerPoolArgs, ServiceArgs } from "../../sdk";
import { runProgram, thrownBy } from "../support/graph";

function pool(extra: Partial<AppServerPoolArgs> = {}, withDb = true) {
    const network = new TieredNetwork("net");
    const db = withDb ? new PostgresCluster("db", { network }) : undefined;
    return new AppServerPool("app", { network, image: "sha256:appimage", database: db, appContract: false, ...extra });
}

function service(extra: Partial<ServiceArgs> = {}) {
    const network = new TieredNetwork("net");
    return new Service("svc", { network, image: "rabbitmq:3", ...extra });
}

async function refusal(construct: () => unknown): Promise<string> {
    const { result, graph } = await runProgram(() => thrownBy(construct));
    expect(result).toBeInstanceOf(ArgumentError);
    // Nothing of the refused component exists.
    expect(graph.names().filter((n) => n === "app" || n.startsWith("app-") || n.startsWith("svc"))).toEqual([]);
    return (result as Error).message;
}

describe("secretFiles on AppServerPool", () => {
    test("each file uploaded to /run/secrets as a secret with its mode and owner, its path in the *_FILE variable", async () => {
        const { graph } = await runProgram(() =>
            pool({
                secretFiles: {
                    "admin-password": { value: pulumi.secret("pw-1"), env: "ADMIN_PASSWORD_FILE" },
                    "api-key": { value: "key-1", mode: "0400", owner: 65534, group: 65534 },
                },
            }),
        );
        const r0 = graph.get("app-r0");
        expect(r0.secretInputs.has("uploads")).toBe(true);
        expect(r0.inputs.uploads).toEqual([
            { file: "/run/secrets/admin-password", content: "pw-1", permissions: "0444" },
            { file: "/run/secrets/api-key", content: "key-1", permissions: "0400", owner: "65534", group: "65534" },
        ]);
        const env = graph.envOf("app-r0");
        expect(env.ADMIN_PASSWORD_FILE).toBe("/run/secrets/admin-password");
        expect(Object.values(env)).not.toContain("pw-1");
        expect(Object.values(env)).not.toContain("key-1");
    });

    test('databaseUrlAs: "file": the URL only in /run/secrets/database-url, DATABASE_URL_FILE points at it', async () => {
        const { graph } = await runProgram(() => pool({ databaseUrlAs: "file" }));
        const env = graph.envOf("app-r0");
        expect(env.DATABASE_URL).toBeUndefined();
        expect(env.DATABASE_URL_FILE).toBe("/run/secrets/database-url");
        const r0 = graph.get("app-r0");
        expect(r0.secretInputs.has("uploads")).toBe(true);
        const [url] = r0.inputs.uploads as { file: string; content: string }[];
        expect(url.file).toBe("/run/secrets/database-url");
        expect(url.content).toMatch(/^postgres(ql)?:\/\/app:[^@]+@/);
        // No secret left in the environment, so it is not marked secret.
        expect(r0.secretInputs.has("envs")).toBe(false);
    });

    test("part of the generation (adding a file rolls the replicas); a value is not (it enters by name only)", async () => {
        const plain = await runProgram(() => pool());
        const one = await runProgram(() => pool({ secretFiles: { k: { value: "a" } } }));
        const other = await runProgram(() => pool({ secretFiles: { k: { value: "b" } } }));
        expect(one.result.generation).not.toBe(plain.result.generation);
        expect(other.result.generation).toBe(one.result.generation);
        // A program without secret files keeps its generation (no diff after upgrading).
        const asEnv = await runProgram(() => pool({ databaseUrlAs: "env" }));
        expect(asEnv.result.generation).toBe(plain.result.generation);
    });

    test("refused: names, variables already set, modes, owners, read-only root, the database's file", async () => {
        const m = await refusal(() =>
            pool({
                env: { TOKEN_FILE: "/x" },
                container: { readOnly: true },
                secretFiles: {
                    "a/b": { value: "x" },
                    token: { value: "x", env: "TOKEN_FILE" },
                    other: { value: "x", env: "DATABASE_URL" },
                    mode: { value: "x", mode: "rw" },
                    owner: { value: "x", owner: -1 },
                },
            }),
        );
        expect(m).toContain('secretFiles["a/b"] is not a plain file name');
        expect(m).toContain('secretFiles["token"].env is TOKEN_FILE, which is already set');
        expect(m).toContain('secretFiles["other"].env is DATABASE_URL, which is already set');
        expect(m).toContain('secretFiles["mode"].mode is "rw"; give an octal mode like "0400"');
        expect(m).toContain('secretFiles["owner"].owner is -1, must be an integer');
        expect(m).toContain("container.readOnly is true, but secretFiles are uploaded through the container's root");
        const db = await refusal(() =>
            pool({ databaseUrlAs: "file", secretFiles: { "database-url": { value: "x" } } }),
        );
        expect(db).toContain('secretFiles["database-url"] is the database URL\'s file with databaseUrlAs: "file"');
        const noDb = await refusal(() => pool({ databaseUrlAs: "file" }, false));
        expect(noDb).toContain('databaseUrlAs is "file" but the pool has no database; give database');
    });
});

describe("secretFiles on Service", () => {
    test("uploaded as secrets with the *_FILE variable; refused like the pool's", async () => {
        const { graph } = await runProgram(() =>
            service({
                env: { RABBITMQ_DEFAULT_USER: "app" },
                secretFiles: { "rabbit-pass": { value: pulumi.secret("pw"), env: "RABBITMQ_DEFAULT_PASS_FILE" } },
            }),
        );
        const c = graph.get("svc-r0");
        expect(c.secretInputs.has("uploads")).toBe(true);
        expect(c.inputs.uploads).toEqual([{ file: "/run/secrets/rabbit-pass", content: "pw", permissions: "0444" }]);
        expect(graph.envOf("svc-r0")).toEqual({
            RABBITMQ_DEFAULT_USER: "app",
            RABBITMQ_DEFAULT_PASS_FILE: "/run/secrets/rabbit-pass",
        });
        const m = await refusal(() =>
            service({ env: { A_FILE: "/x" }, secretFiles: { ".hidden": { value: "x", env: "A_FILE" } } }),
        );
        expect(m).toContain('secretFiles[".hidden"] is not a plain file name');
        expect(m).toContain('secretFiles[".hidden"].env is A_FILE, which is already set');
    });
});
