/**
 * The three-tier cluster under the real Pulumi engine and the real docker and random plugins, on the private Docker
 * engine: bring-up, a second `up` that changes nothing, the updates users run most (scale out and in, a new
 * migration, a changed config file, a new app image) with a probe loop on the published port measuring what a
 * visitor sees meanwhile, drift repaired after `refresh`, secrets kept out of the state, and a `destroy` that
 * keeps the data for the next `up`.
 *
 * Each update's figures (the engine's steps in order, failed probes, longest outage) are printed and, with
 * PDC_ENGINE_FIGURES=<file>, written as JSON: they are the baseline of the zero-downtime work.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { containerLogs, dockerCli } from "../support/docker-api";
import { execIn, httpRequest } from "../support/http";
import { freePort } from "../support/net";
import { engine, EngineRequest, EngineResult, stackDir, stateFiles, stateResources, steps } from "../support/engine";
import { expectGolden, UPLOADS_BLOCK } from "./golden";
import { probeWhile, ProbeResult } from "../support/probe";

jest.setTimeout(600000);

const EXAMPLE = path.resolve(__dirname, "../../examples/three-tier");
const STACK = `tt${process.pid}`;
const PREFIX = `three-tier-${STACK}-`;
/** The application's database URL (secret output), as the first up left it. */
let databaseUrl = "";
const dir = stackDir("three-tier");
const appDir = fs.mkdtempSync(path.join(os.tmpdir(), "pdc-engine-tt-app-"));
const migrations = fs.mkdtempSync(path.join(os.tmpdir(), "pdc-engine-tt-migrations-"));
fs.cpSync(path.join(EXAMPLE, "app"), appDir, { recursive: true });
fs.cpSync(path.join(EXAMPLE, "migrations"), migrations, { recursive: true });
let port = 0;
let printed = "";
const figures: Record<string, { steps: string[]; changes?: Record<string, number>; probe: ProbeResult }> = {};

function config(replicas: number, title: string): EngineRequest["config"] {
    return {
        webPort: { value: String(port) },
        replicas: { value: String(replicas) },
        appDir: { value: appDir },
        migrations: { value: migrations },
        title: { value: title },
    };
}

async function run(op: EngineRequest["op"], opts: Partial<EngineRequest> = {}): Promise<EngineResult> {
    const r = await engine({
        op,
        dir,
        project: "three-tier",
        stack: STACK,
        program: { module: "tests/engine/programs/three-tier.ts", export: "threeTierProgram" },
        ...opts,
    });
    printed += r.output + (r.error ?? "");
    if (r.error) throw new Error(`pulumi ${op} failed: ${r.error}`);
    return r;
}

/** What differs between runs, as the golden displays name it: Docker's ids and digests, the provider's and the gate's ids, addresses. */
const GOLDEN_PATTERNS: [RegExp, string][] = [
    [/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/g, "<uuid>"],
    [/\bready-[0-9a-z]+\b/g, "ready-<id>"],
    [/(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])/g, "<hex64>"],
    [/\b[0-9a-f]{16}\b/g, "<hex16>"],
    [/\b[0-9a-f]{12}\b/g, "<hex12>"],
    [/\b(app-r\d+-)[0-9a-f]{8}\b/g, "$1<gen>"],
    [/"[0-9a-f]{8}"/g, '"<gen>"'],
    [/\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b/g, "<ip>"],
    UPLOADS_BLOCK,
];

/** `pulumi up` with `cfg` while probing the site; records the figures under `name`. */
async function upWhileProbing(name: string, cfg: EngineRequest["config"]): Promise<EngineResult> {
    const { result, probe } = await probeWhile(port, run("up", { config: cfg }));
    figures[name] = { steps: steps(result.output), changes: result.changes, probe };
    process.stdout.write(`${name}: ${JSON.stringify(figures[name])}\n`);
    return result;
}

/** The instances that answer `GET /` over `n` requests, and the last body. */
async function answers(n = 12): Promise<{ instances: Set<string>; last: Record<string, unknown> }> {
    const instances = new Set<string>();
    let last: Record<string, unknown> = {};
    for (let i = 0; i < n; i++) {
        const r = await httpRequest(port, "/");
        expect(r.status).toBe(200);
        last = JSON.parse(r.body);
        instances.add(String(last.instance));
    }
    return { instances, last };
}

async function containers(): Promise<string[]> {
    const out = await dockerCli(["ps", "-a", "--format", "{{.Names}}", "--filter", `name=^${PREFIX}`]);
    return out.split("\n").filter(Boolean).sort();
}

beforeAll(async () => {
    port = await freePort();
}, 60000);

afterAll(async () => {
    if (process.env.PDC_ENGINE_FIGURES)
        fs.writeFileSync(process.env.PDC_ENGINE_FIGURES, JSON.stringify(figures, null, 2));
    // Leave nothing behind, the data volume included (the stack keeps it on destroy by design).
    await run("destroy").catch(() => undefined);
    await dockerCli(["volume", "rm", "-f", `${PREFIX}db-data`]).catch(() => undefined);
}, 600000);

describe("three-tier under the real engine", () => {
    it("preview of the new stack plans every resource and creates nothing", async () => {
        const p = await run("preview", { config: config(2, "first"), diff: true });
        expect(p.changes?.create).toBeGreaterThan(20);
        expect(Object.keys(p.changes ?? {})).toEqual(["create"]);
        expect(await containers()).toEqual([]);
    });

    it("up brings it up: nginx answers from both replicas with the greeting from Postgres; a second up changes nothing", async () => {
        const r = await run("up");
        expect(r.changes?.create).toBeGreaterThan(20);
        const { instances, last } = await answers();
        expect(instances).toEqual(new Set(["app-r0", "app-r1"]));
        expect(last.greeting).toBe("Hello from the db tier!");
        expect(last.app).toBe("first");

        const again = await run("up");
        expect(Object.keys(again.changes ?? {})).toEqual(["same"]);
        databaseUrl = String(again.outputs!.databaseUrl.value);
    });

    it("Postgres is hardened: password as a file, 60 s stop grace, internal admin network, pg_hba and role limits", async () => {
        const server = `${PREFIX}db-server`;
        const info = JSON.parse(await dockerCli(["inspect", server]))[0];
        const env: string[] = info.Config.Env;
        expect(env.filter((l) => l.startsWith("POSTGRES_PASSWORD="))).toEqual([]);
        expect(env).toContain("POSTGRES_PASSWORD_FILE=/etc/pdc-postgres-admin-password");
        expect(info.Config.StopTimeout).toBe(60);
        expect(info.Config.StopSignal).toBe("SIGINT");
        const adminNet = JSON.parse(await dockerCli(["network", "inspect", `${PREFIX}db-admin`]))[0];
        expect(adminNet.Internal).toBe(true);

        const adminPw = (await execIn(server, "cat /etc/pdc-postgres-admin-password")).output.trim();
        expect(adminPw.length).toBeGreaterThanOrEqual(16);
        const appPw = decodeURIComponent(new URL(databaseUrl).password);
        // From the server's own address on the database tier (where the app replicas connect from).
        const tierIp = String(info.NetworkSettings.Networks[`${PREFIX}net-appdb`].IPAddress);
        const psql = (user: string, pw: string, db: string, sql: string) =>
            execIn(server, `PGPASSWORD='${pw}' psql -h ${tierIp} -U ${user} -d ${db} -tAc "${sql}"`);
        const adminFromTier = await psql("postgres", adminPw, "postgres", "SELECT 1");
        expect(adminFromTier.code).not.toBe(0);
        expect(adminFromTier.output).toMatch(/pg_hba\.conf rejects connection for host "[^"]+", user "postgres"/);
        const appToMaintenance = await psql("app", appPw, "postgres", "SELECT 1");
        expect(appToMaintenance.code).not.toBe(0);
        expect(appToMaintenance.output).toMatch(/pg_hba\.conf rejects connection .*user "app", database "postgres"/);
        const appToApp = await psql(
            "app",
            appPw,
            "app",
            "SELECT current_setting('idle_in_transaction_session_timeout') || ' ' || rolconnlimit || ' ' || has_database_privilege('app', 'postgres', 'CONNECT') FROM pg_roles WHERE rolname = 'app'",
        );
        expect(appToApp).toEqual({ code: 0, output: "1min 80 false\n" });
    });

    it("only nginx publishes a port, and it cannot resolve or reach the database", async () => {
        const names = await containers();
        const published = await dockerCli(["ps", "--format", "{{.Names}} {{.Ports}}", "--filter", `name=^${PREFIX}`]);
        const publishing = published.split("\n").filter((l) => /->/.test(l));
        expect(publishing).toEqual([`${PREFIX}web-nginx 127.0.0.1:${port}->80/tcp`]);
        const web = `${PREFIX}web-nginx`;
        const app = names.find((n) => /app-r0-[0-9a-f]{8}$/.test(n))!;
        const dbIp = (await execIn(app, "getent hosts postgres | cut -d' ' -f1")).output.trim();
        expect(dbIp).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
        expect((await execIn(web, "getent hosts postgres")).code).not.toBe(0);
        expect((await execIn(web, `timeout 3 bash -c '</dev/tcp/${dbIp}/5432'`)).code).not.toBe(0);
        expect((await execIn(app, `timeout 3 bash -c '</dev/tcp/${dbIp}/5432'`)).code).toBe(0);
    });

    it("Postgres, the replicas and nginx log to bounded json-file logs with no-new-privileges; nginx is read-only with four capabilities", async () => {
        const names = await containers();
        const server = `${PREFIX}db-server`;
        const web = `${PREFIX}web-nginx`;
        const replicas = names.filter((n) => /app-r\d-[0-9a-f]{8}$/.test(n));
        expect(replicas).toHaveLength(2);
        const hostConfig = async (name: string) =>
            JSON.parse((await dockerCli(["inspect", "--format", "{{json .HostConfig}}", name])).trim());
        for (const name of [server, web, ...replicas]) {
            const h = await hostConfig(name);
            expect({ name, log: h.LogConfig, securityOpt: h.SecurityOpt }).toEqual({
                name,
                log: { Type: "json-file", Config: { "max-size": "10m", "max-file": "3" } },
                securityOpt: ["no-new-privileges:true"],
            });
        }
        // Postgres keeps Docker's capabilities and a writable root: its entrypoint chowns and drops to postgres.
        expect((await hostConfig(server)).ReadonlyRootfs).toBe(false);
        const nginx = await hostConfig(web);
        expect(nginx).toMatchObject({ ReadonlyRootfs: true, CapDrop: ["ALL"] });
        expect([...nginx.CapAdd].sort()).toEqual(["CAP_CHOWN", "CAP_NET_BIND_SERVICE", "CAP_SETGID", "CAP_SETUID"]);
        expect(Object.keys(nginx.Tmpfs).sort()).toEqual(["/run", "/var/cache/nginx", "/var/lib/nginx"]);
        expect((await execIn(web, "touch /etc/nginx/probe")).code).not.toBe(0);
    });

    it("scales out to 3 replicas and back to 2; only the difference is created or deleted", async () => {
        const preview = await run("preview", { config: config(3, "first"), diff: true });
        expect(preview.changes).toMatchObject({ create: 1 });
        expectGolden(
            "scale-replicas",
            preview.output,
            { stack: STACK, port: String(port), appDir, migrations },
            GOLDEN_PATTERNS,
        );
        // What the uploads block showed: the new config's upstreams, the third replica among them.
        expect(preview.output).toMatch(/server app-r2-[0-9a-f]{8}:8000/);
        const out = await upWhileProbing("replicas 2→3", config(3, "first"));
        expect(steps(out.output).filter((s) => s.includes("Container app-r"))).toEqual([
            expect.stringMatching(/^created docker:index:Container app-r2-[0-9a-f]{8}$/),
        ]);
        expect((await answers(15)).instances).toEqual(new Set(["app-r0", "app-r1", "app-r2"]));

        const back = await upWhileProbing("replicas 3→2", config(2, "first"));
        expect(steps(back.output).filter((s) => s.includes("Container app-r"))).toEqual([
            expect.stringMatching(/^deleted docker:index:Container app-r2-[0-9a-f]{8}$/),
        ]);
        expect((await answers()).instances).toEqual(new Set(["app-r0", "app-r1"]));
    });

    it("a new migration is applied by the bootstrap; the app serves its data", async () => {
        fs.writeFileSync(
            path.join(migrations, "V2__second_greeting.sql"),
            "UPDATE greeting SET greeting = 'Hello again from the db tier!' WHERE id = 1;\n",
        );
        const r = await upWhileProbing("new migration", config(2, "first"));
        expect(steps(r.output)).toContain("updated pulumi-nodejs:dynamic/postgres:Bootstrap db-bootstrap");
        expect((await answers(4)).last.greeting).toBe("Hello again from the db tier!");
    });

    it("a changed config file reaches every replica", async () => {
        await upWhileProbing("config file", config(2, "second"));
        const { instances, last } = await answers();
        expect(instances).toEqual(new Set(["app-r0", "app-r1"]));
        expect(last.app).toBe("second");
    });

    it("a changed app source builds a new image and every replica runs it", async () => {
        const server = path.join(appDir, "server.py");
        const src = fs.readFileSync(server, "utf8");
        const marker = '                "instance": INSTANCE,\n';
        expect(src).toContain(marker);
        fs.writeFileSync(server, src.replace(marker, `${marker}                "rev": 2,\n`));
        const r = await upWhileProbing("app image", config(2, "second"));
        expect(steps(r.output)).toContain("replaced docker:index:RemoteImage app-image-image");
        for (let i = 0; i < 6; i++) expect(JSON.parse((await httpRequest(port, "/")).body).rev).toBe(2);
    });

    it("refresh sees a replica removed outside Pulumi; the next up creates it again", async () => {
        const r1 = (await containers()).find((n) => /app-r1-[0-9a-f]{8}$/.test(n))!;
        const logical = r1.slice(PREFIX.length);
        await dockerCli(["rm", "-f", r1]);
        const r = await run("refresh");
        expect(steps(r.output)).toContain(`deleted docker:index:Container ${logical}`);
        expect(stateResources(dir, "three-tier", STACK).some((x) => x.urn.endsWith(`::${logical}`))).toBe(false);
        const up = await run("up", { config: config(2, "second") });
        expect(steps(up.output)).toContain(`created docker:index:Container ${logical}`);
        expect((await answers()).instances).toEqual(new Set(["app-r0", "app-r1"]));
    });

    it("no password is in the state files or in anything the CLI printed", async () => {
        const stored = stateFiles(dir);
        expect(stored).toContain("ciphertext");
        const url = (await run("up")).outputs!.databaseUrl;
        expect(url.secret).toBe(true);
        const password = decodeURIComponent(new URL(String(url.value)).password);
        expect(password.length).toBeGreaterThanOrEqual(16);
        const admin = (await execIn(`${PREFIX}db-server`, "cat /etc/pdc-postgres-admin-password")).output.trim();
        expect(admin.length).toBeGreaterThanOrEqual(16);
        for (const secret of [password, admin]) {
            expect(stateFiles(dir)).not.toContain(secret);
            expect(printed).not.toContain(secret);
        }
    });

    it("destroy removes everything but the data volume; the next up finds the data", async () => {
        const d = await run("destroy");
        expect(Object.keys(d.changes ?? {})).toEqual(["delete"]);
        expect(await containers()).toEqual([]);
        expect(await dockerCli(["volume", "ls", "-q", "--filter", `name=^${PREFIX}db-data$`])).toContain(
            `${PREFIX}db-data`,
        );

        await run("up", { config: config(2, "second") });
        // V2's change survived in the retained volume, and the bootstrap ran nothing again.
        expect((await answers(4)).last.greeting).toBe("Hello again from the db tier!");
        // destroy stopped Postgres (destroyGraceSeconds) instead of killing it: no crash recovery on this start.
        const log = await containerLogs(`${PREFIX}db-server`);
        expect(log).toMatch(/database system is ready to accept connections/);
        expect(log).not.toMatch(/not properly shut down|automatic recovery in progress|was interrupted/);
    });
});

describe("three-tier with a broken migration under the real engine", () => {
    it("up fails naming the file; the database runs but no app replica or load balancer is ever created", async () => {
        const stack = `tb${process.pid}`;
        const brokenDir = stackDir("three-tier-broken");
        const broken = fs.mkdtempSync(path.join(os.tmpdir(), "pdc-engine-tt-broken-"));
        fs.cpSync(migrations, broken, { recursive: true });
        fs.writeFileSync(path.join(broken, "V9__broken.sql"), "INSERT INTO no_such_table VALUES (1);\n");
        const request = {
            dir: brokenDir,
            project: "three-tier",
            stack,
            program: { module: "tests/engine/programs/three-tier.ts", export: "threeTierProgram" },
        };
        try {
            const r = await engine({
                op: "up",
                ...request,
                config: {
                    ...config(2, "broken"),
                    webPort: { value: String(await freePort()) },
                    migrations: { value: broken },
                },
            });
            expect(r.error).toMatch(/V9__broken\.sql failed: relation "no_such_table" does not exist/);
            const names = (
                await dockerCli(["ps", "-a", "--format", "{{.Names}}", "--filter", `name=^three-tier-${stack}-`])
            )
                .split("\n")
                .filter(Boolean);
            expect(names).toContain(`three-tier-${stack}-db-server`);
            expect(names.filter((n) => /app-r\d|web-nginx/.test(n))).toEqual([]);
            expect(steps(r.output).filter((s) => /app-r\d|web-nginx/.test(s))).toEqual([]);
        } finally {
            await engine({ op: "destroy", ...request });
            await dockerCli(["volume", "rm", "-f", `three-tier-${stack}-db-data`]).catch(() => undefined);
        }
    });
});
