/**
 * A real public app under the real engine: Miniflux 2.3.5 (tests/engine/programs/miniflux.ts), which migrates its
 * own schema and creates its admin at start, behind nginx with TLS (a self-signed certificate made here with openssl,
 * passed as secret config). `up`, then through nginx on 127.0.0.1: /healthcheck over verified HTTPS, HTTP redirected,
 * the REST API as the admin (a category written), the tables owned by the app role with the migration run once, the
 * admin password and database URL as files under /run/secrets (not in the environment), the replicas unprivileged;
 * an `up` that changes the image (a build arg) under a bounded HTTPS load: new replicas, 0 failed requests, nginx
 * and Postgres untouched, the category kept; a last `up` that changes nothing.
 */
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { containerLogs, dockerCli } from "../support/docker-api";
import { engine, EngineRequest, EngineResult, stackDir, stateFiles } from "../support/engine";
import { httpRequest } from "../support/http";
import { loadWhile } from "../support/load";
import { freePortIn } from "../support/net";
import { MINIFLUX_ADMIN, MINIFLUX_UID } from "./programs/miniflux";

jest.setTimeout(600000);

const STACK = `mf${process.pid}`;
const PREFIX = `miniflux-${STACK}-`;
const dir = stackDir("miniflux");
const tlsDir = fs.mkdtempSync(path.join(os.tmpdir(), "pdc-engine-miniflux-tls-"));
const adminPassword = crypto.randomBytes(12).toString("hex");
const CATEGORY = `engine-${STACK}`;

// A certificate for 127.0.0.1 (the address the tests connect to), so HTTPS is verified, not just accepted.
execFileSync(
    "openssl",
    [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
        "-keyout",
        path.join(tlsDir, "key.pem"),
        "-out",
        path.join(tlsDir, "cert.pem"),
    ],
    { stdio: "ignore" },
);
const cert = fs.readFileSync(path.join(tlsDir, "cert.pem"), "utf8");
const key = fs.readFileSync(path.join(tlsDir, "key.pem"), "utf8");

let httpPort = 0;
let httpsPort = 0;
let revision = "1";

function request(op: EngineRequest["op"]): Promise<EngineResult> {
    return engine({
        op,
        dir,
        project: "miniflux",
        stack: STACK,
        program: { module: "tests/engine/programs/miniflux.ts", export: "minifluxProgram" },
        config: {
            revision: { value: revision },
            httpPort: { value: String(httpPort) },
            httpsPort: { value: String(httpsPort) },
            tlsCert: { value: cert },
            tlsKey: { value: key, secret: true },
            adminPassword: { value: adminPassword, secret: true },
        },
    });
}

async function run(op: EngineRequest["op"]): Promise<EngineResult> {
    const r = await request(op);
    if (r.error) throw new Error(`pulumi ${op} failed: ${r.error}\n${r.output}`);
    return r;
}

/** The Miniflux REST API over HTTPS through nginx, as the admin. */
async function api(method: string, pathname: string, body?: unknown): Promise<{ status: number; json: unknown }> {
    const auth = Buffer.from(`${MINIFLUX_ADMIN}:${adminPassword}`).toString("base64");
    const r = await httpRequest(httpsPort, pathname, {
        method,
        ca: cert,
        headers: { Authorization: `Basic ${auth}`, "Content-Type": "application/json" },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: r.status, json: r.body ? JSON.parse(r.body) : undefined };
}

/** Container name (without the stack's prefix) → id, for the stack's running containers. */
async function running(): Promise<Record<string, string>> {
    const out = await dockerCli(["ps", "--format", "{{.Names}} {{.ID}}", "--no-trunc", "--filter", `name=^${PREFIX}`]);
    const res: Record<string, string> = {};
    for (const line of out.split("\n").filter(Boolean)) {
        const [n, id] = line.split(" ");
        res[n.slice(PREFIX.length)] = id;
    }
    return res;
}

const replicas = (r: Record<string, string>): string[] =>
    Object.keys(r)
        .filter((n) => /^miniflux-r\d+-[0-9a-f]{8}$/.test(n))
        .sort();

const psql = (sql: string): Promise<string> =>
    dockerCli(["exec", `${PREFIX}db-server`, "psql", "-U", "postgres", "-d", "app", "-Atc", sql]).then((s) => s.trim());

beforeAll(async () => {
    // Two ranges: freePortIn starts from the pid, so one range would give the same port twice.
    httpPort = await freePortIn(19000, 19499);
    httpsPort = await freePortIn(19500, 19999);
});

afterAll(async () => {
    // Leave nothing behind, the data volume included (the stack keeps it on destroy by design).
    await request("destroy").catch(() => undefined);
    await dockerCli(["volume", "rm", "-f", `${PREFIX}db-data`]).catch(() => undefined);
    fs.rmSync(tlsDir, { recursive: true, force: true });
}, 600000);

describe("Miniflux, a real app that migrates itself (real engine)", () => {
    let first: Record<string, string> = {};

    it("up: served through nginx over HTTPS, HTTP redirected, the API works as the admin", async () => {
        const t0 = Date.now();
        await run("up");
        process.stdout.write(`miniflux: first up ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
        first = await running();
        expect(replicas(first)).toHaveLength(2);

        const health = await httpRequest(httpsPort, "/healthcheck", { ca: cert });
        expect(health.status).toBe(200);
        expect(health.body.trim()).toBe("OK");

        const plain = await httpRequest(httpPort, "/v1/me");
        expect(plain.status).toBe(301);
        expect(plain.headers.location).toBe(`https://127.0.0.1:${httpsPort}/v1/me`);

        const me = await api("GET", "/v1/me");
        expect(me.status).toBe(200);
        expect((me.json as { username: string; is_admin: boolean }).username).toBe(MINIFLUX_ADMIN);
        expect((me.json as { is_admin: boolean }).is_admin).toBe(true);
        expect((await httpRequest(httpsPort, "/v1/me", { ca: cert })).status).toBe(401);

        const created = await api("POST", "/v1/categories", { title: CATEGORY });
        expect(created.status).toBe(201);
        expect((created.json as { title: string }).title).toBe(CATEGORY);
    });

    it("it migrated itself as the app role, once: every table owned by app, one replica found an empty schema", async () => {
        const owners = await psql("SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'");
        expect(owners).toBe("app");
        expect(Number(await psql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"))).toBeGreaterThan(10);
        // updateBatchSize 1: the second replica started after the first was healthy, on an up-to-date schema.
        const fromEmpty: string[] = [];
        let latest = "";
        for (const r of replicas(first)) {
            const logs = await containerLogs(`${PREFIX}${r}`);
            const m = /msg="Running database migrations" current_version=(\d+) latest_version=(\d+)/.exec(logs);
            expect(m).not.toBeNull();
            if (m![1] === "0") fromEmpty.push(r);
            latest = m![2];
        }
        expect(await psql("SELECT version FROM schema_version")).toBe(latest);
        expect(fromEmpty).toEqual([replicas(first)[0]]);
    });

    it("secrets are files, not env; the replicas run as nobody without capabilities; no secret in the state", async () => {
        for (const r of replicas(first)) {
            const name = `${PREFIX}${r}`;
            const env = (await dockerCli(["inspect", "--format", "{{range .Config.Env}}{{println .}}{{end}}", name]))
                .split("\n")
                .filter(Boolean);
            expect(env).toEqual(
                expect.arrayContaining([
                    "ADMIN_PASSWORD_FILE=/run/secrets/admin-password",
                    "DATABASE_URL_FILE=/run/secrets/database-url",
                ]),
            );
            expect(env.filter((e) => /^(ADMIN_PASSWORD|DATABASE_URL)=/.test(e))).toEqual([]);
            expect(env.join("\n")).not.toContain(adminPassword);
            // Only Miniflux's user reads the admin password; the files are what Miniflux read (it logged in above).
            const stat = await dockerCli(["exec", name, "stat", "-c", "%a %u", "/run/secrets/admin-password"]);
            expect(stat.trim()).toBe(`400 ${MINIFLUX_UID}`);
            expect(await dockerCli(["exec", name, "cat", "/run/secrets/admin-password"])).toBe(adminPassword);
            expect(await dockerCli(["exec", name, "cat", "/run/secrets/database-url"])).toMatch(
                /^postgresql:\/\/app:[^@]+@postgres:5432\/app$/,
            );
            const hc = JSON.parse(await dockerCli(["inspect", "--format", "{{json .HostConfig}}", name]));
            expect(hc.CapDrop).toEqual(["ALL"]);
            expect(hc.SecurityOpt).toEqual(["no-new-privileges"]);
            expect((await dockerCli(["inspect", "--format", "{{.Config.User}}", name])).trim()).toBe(
                String(MINIFLUX_UID),
            );
        }
        const state = stateFiles(dir);
        expect(state).not.toContain(adminPassword);
        expect(state).not.toContain(key.split("\n")[1]);
    });

    it("an up that changes the image rolls both replicas under HTTPS load: 0 failed requests, the data kept", async () => {
        revision = "2";
        const t0 = Date.now();
        const { result, load } = await loadWhile(httpsPort, request("up"), {
            concurrency: 2,
            pathname: "/healthcheck",
            ca: cert,
            maxSeconds: 300,
        });
        process.stdout.write(
            `miniflux: image change up ${((Date.now() - t0) / 1000).toFixed(1)} s, ${load.requests} requests, ${load.failed} failed ${JSON.stringify(load.failures)}, p50 ${load.p50Ms} ms, p99 ${load.p99Ms} ms\n`,
        );
        expect(result!.error).toBeNull();
        expect(load.requests).toBeGreaterThan(0);
        expect(load.failed).toBe(0);

        const now = await running();
        expect(replicas(now)).toHaveLength(2);
        // New containers under new names; nginx and Postgres never restarted.
        expect(replicas(now).filter((n) => first[n] !== undefined)).toEqual([]);
        expect(now["web-nginx"]).toBe(first["web-nginx"]);
        expect(now["db-server"]).toBe(first["db-server"]);
        for (const r of replicas(now)) {
            const img = (await dockerCli(["inspect", "--format", "{{.Image}}", `${PREFIX}${r}`])).trim();
            const label = await dockerCli([
                "image",
                "inspect",
                "--format",
                '{{index .Config.Labels "org.opencontainers.image.revision"}}',
                img,
            ]);
            expect(label.trim()).toBe("2");
        }

        const categories = await api("GET", "/v1/categories");
        expect(categories.status).toBe(200);
        expect((categories.json as { title: string }[]).map((c) => c.title)).toContain(CATEGORY);
    });

    it("a last up changes nothing", async () => {
        const again = await run("up");
        process.stdout.write(`miniflux: last up ${((again.totalMs ?? 0) / 1000).toFixed(1)} s in the engine\n`);
        expect(Object.keys(again.changes ?? {})).toEqual(["same"]);
    });
});
