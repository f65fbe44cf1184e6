/**
 * Zero-downtime `pulumi up` under the real engine, on the private Docker engine: a bounded load generator
 * (tests/support/load.ts: 4 loops, a new connection per request, on 127.0.0.1) runs against the published port
 * through each update users make, and every update must lose no request:
 * a new app image, a changed config file, a changed env variable, replicas 2→4→2 (a rolling replacement or a
 * delta, and an nginx reload each), an nginx setting (a reload), then an image that never becomes healthy (`up`
 * fails naming the replica with its last health output, the old replicas keep serving, nginx keeps its config),
 * the roll forward from there, and a last `up` that changes nothing. nginx and the database are never restarted.
 *
 * p50/p99 before and during each update are printed and, with PDC_ENGINE_FIGURES=<file>, written as JSON.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { dockerCli } from "../support/docker-api";
import { execIn, httpRequest } from "../support/http";
import { engine, EngineRequest, EngineResult, stackDir, steps } from "../support/engine";
import { loadWhile, LoadResult } from "../support/load";
import { freePortIn } from "../support/net";
import { expectGolden, UPLOADS_BLOCK } from "./golden";

jest.setTimeout(900000);

const EXAMPLE = path.resolve(__dirname, "../../examples/three-tier");
const STACK = `zd${process.pid}`;
const PREFIX = `zd-${STACK}-`;
const dir = stackDir("zd");
const appDir = fs.mkdtempSync(path.join(os.tmpdir(), "pdc-engine-zd-app-"));
const brokenDir = fs.mkdtempSync(path.join(os.tmpdir(), "pdc-engine-zd-broken-"));
const migrations = fs.mkdtempSync(path.join(os.tmpdir(), "pdc-engine-zd-migrations-"));
fs.cpSync(path.join(EXAMPLE, "app"), appDir, { recursive: true });
fs.cpSync(path.join(EXAMPLE, "migrations"), migrations, { recursive: true });
const SERVER = path.join(appDir, "server.py");
const MARKER = '                "instance": INSTANCE,\n';

let port = 0;
const settings = { replicas: "2", title: "first", greeting: "plain", bodySize: "1m", appDir };
const figures: Record<string, { before?: LoadResult; during: LoadResult; steps: string[] }> = {};
let before: LoadResult | undefined;

function config(): EngineRequest["config"] {
    return {
        webPort: { value: String(port) },
        replicas: { value: settings.replicas },
        appDir: { value: settings.appDir },
        migrations: { value: migrations },
        title: { value: settings.title },
        greeting: { value: settings.greeting },
        bodySize: { value: settings.bodySize },
        healthTimeout: { value: "25" },
    };
}

function request(op: EngineRequest["op"], diff = false): Promise<EngineResult> {
    return engine({
        op,
        dir,
        project: "zd",
        stack: STACK,
        program: { module: "tests/engine/programs/zero-downtime.ts", export: "zeroDowntimeProgram" },
        config: config(),
        diff,
    });
}

async function run(op: EngineRequest["op"], diff = false): Promise<EngineResult> {
    const r = await request(op, diff);
    if (r.error) throw new Error(`pulumi ${op} failed: ${r.error}\n${r.output}`);
    return r;
}

/** `pulumi up` under load; returns the result (failed or not) and the load's figures, recorded under `name`. */
async function upUnderLoad(name: string): Promise<{ result: EngineResult; load: LoadResult }> {
    const { result, load } = await loadWhile(port, request("up"), { concurrency: 4, maxSeconds: 600 });
    figures[name] = { before, during: load, steps: steps(result!.output) };
    process.stdout.write(
        `${name}: p50 ${before?.p50Ms} → ${load.p50Ms} ms, p99 ${before?.p99Ms} → ${load.p99Ms} ms, ${load.requests} requests, ${load.failed} failed ${JSON.stringify(load.failures)}, up ${(load.durationMs / 1000).toFixed(1)} s\n`,
    );
    return { result: result!, load };
}

async function answers(n = 16): Promise<{ instances: Set<string>; bodies: Record<string, unknown>[] }> {
    const instances = new Set<string>();
    const bodies: Record<string, unknown>[] = [];
    for (let i = 0; i < n; i++) {
        const r = await httpRequest(port, "/");
        expect(r.status).toBe(200);
        const b = JSON.parse(r.body) as Record<string, unknown>;
        bodies.push(b);
        instances.add(String(b.instance));
    }
    return { instances, bodies };
}

/** Container name → "id startedAt" of the stack's running containers. */
async function running(): Promise<Record<string, string>> {
    const out = await dockerCli(["ps", "--format", "{{.Names}}", "--filter", `name=^${PREFIX}`]);
    const names = out.split("\n").filter(Boolean);
    const res: Record<string, string> = {};
    for (const n of names)
        res[n.slice(PREFIX.length)] = (
            await dockerCli(["inspect", "--format", "{{.Id}} {{.State.StartedAt}}", n])
        ).trim();
    return res;
}

const appContainers = (r: Record<string, string>) =>
    Object.keys(r)
        .filter((n) => n.startsWith("app-r"))
        .sort();
const appSteps = (r: EngineResult) => steps(r.output).filter((s) => / app-r\d+-[0-9a-f]{8}$/.test(s));

let stable: Record<string, string> = {};

beforeAll(async () => {
    port = await freePortIn(18000, 18999);
    await run("up");
    const r = await running();
    stable = { nginx: r["web-nginx"], db: r["db-server"] };
    expect(stable.nginx).toBeDefined();
    expect(stable.db).toBeDefined();
    before = (await loadWhile(port, 3, { concurrency: 4 })).load;
    expect(before.failed).toBe(0);
}, 900000);

afterAll(async () => {
    if (process.env.PDC_ENGINE_FIGURES)
        fs.writeFileSync(process.env.PDC_ENGINE_FIGURES, JSON.stringify(figures, null, 2));
    await request("destroy").catch(() => undefined);
    await dockerCli(["volume", "rm", "-f", `${PREFIX}db-data`]).catch(() => undefined);
}, 600000);

afterEach(async () => {
    // nginx and Postgres run on, whatever changed: never replaced, never restarted.
    const r = await running();
    expect({ nginx: r["web-nginx"], db: r["db-server"] }).toEqual(stable);
});

describe("zero-downtime pulumi up", () => {
    it("a new app image rolls the replicas: 0 failed requests, every answer from the new image afterwards", async () => {
        const old = appContainers(await running());
        fs.writeFileSync(
            SERVER,
            fs.readFileSync(SERVER, "utf8").replace(MARKER, `${MARKER}                "rev": 2,\n`),
        );
        const preview = await run("preview", true);
        expectGolden("rolling-image", preview.output, { stack: STACK, port: String(port), appDir, migrations }, [
            [/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/g, "<uuid>"],
            [/\b(ready|healthy)-[0-9a-z]+\b/g, "$1-<id>"],
            [/(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])/g, "<hex64>"],
            [/\b[0-9a-f]{16}\b/g, "<hex16>"],
            [/\b[0-9a-f]{12}\b/g, "<hex12>"],
            [/\b[0-9a-f]{8}\b/g, "<gen>"],
            UPLOADS_BLOCK,
        ]);
        // The readiness gate's token (32 letters and digits) is a secret: never shown in a preview.
        expect(preview.output).not.toMatch(/"[A-Za-z0-9]{32}" 1;|X-PDC-Gate\s*:\s*"[A-Za-z0-9]{32}"/);
        // What the uploads block showed: the new config's upstreams.
        expect(preview.output).toMatch(/file\s*: "\/etc\/nginx\/pdc\/nginx\.conf"/);
        expect(preview.output).toMatch(/server app-r0-[0-9a-f]{8}:8000 max_fails=3/);
        const { result, load } = await upUnderLoad("app image");
        expect(result.error).toBeNull();
        expect(load.failed).toBe(0);
        // New names created, old ones deleted after: never a replacement under the same name.
        const s = appSteps(result);
        expect(s.filter((x) => x.startsWith("created"))).toHaveLength(2);
        expect(s.filter((x) => x.startsWith("deleted"))).toHaveLength(2);
        expect(s.filter((x) => x.startsWith("replaced"))).toEqual([]);
        const lastCreated = Math.max(...s.map((x, i) => (x.startsWith("created") ? i : -1)));
        expect(s.findIndex((x) => x.startsWith("deleted"))).toBeGreaterThan(lastCreated);
        const now = appContainers(await running());
        expect(now).toHaveLength(2);
        expect(now.filter((n) => old.includes(n))).toEqual([]);
        const { instances, bodies } = await answers();
        expect(instances).toEqual(new Set(["app-r0", "app-r1"]));
        expect(bodies.every((b) => b.rev === 2)).toBe(true);
    });

    it("a changed config file rolls the replicas: 0 failed requests, the new file everywhere", async () => {
        settings.title = "second";
        const { result, load } = await upUnderLoad("config file");
        expect(result.error).toBeNull();
        expect(load.failed).toBe(0);
        expect(appSteps(result).filter((x) => x.startsWith("created"))).toHaveLength(2);
        expect((await answers()).bodies.every((b) => b.app === "second")).toBe(true);
    });

    it("a changed env variable rolls the replicas: 0 failed requests, every replica has it", async () => {
        settings.greeting = "fancy";
        const { result, load } = await upUnderLoad("env");
        expect(result.error).toBeNull();
        expect(load.failed).toBe(0);
        const now = appContainers(await running());
        expect(now).toHaveLength(2);
        for (const n of now)
            expect(
                await dockerCli(["inspect", "--format", "{{range .Config.Env}}{{println .}}{{end}}", `${PREFIX}${n}`]),
            ).toContain("GREETING_STYLE=fancy");
    });

    it("replicas 2→4 creates two and reloads nginx; 4→2 drains two and removes them; 0 failed requests", async () => {
        const two = appContainers(await running());
        settings.replicas = "4";
        const out = await upUnderLoad("replicas 2→4");
        expect(out.result.error).toBeNull();
        expect(out.load.failed).toBe(0);
        expect(appSteps(out.result)).toEqual(
            expect.arrayContaining([
                expect.stringMatching(/^created .* app-r2-/),
                expect.stringMatching(/^created .* app-r3-/),
            ]),
        );
        expect(appSteps(out.result)).toHaveLength(2);
        const four = appContainers(await running());
        expect(four.filter((n) => two.includes(n))).toEqual(two);
        expect((await answers(24)).instances).toEqual(new Set(["app-r0", "app-r1", "app-r2", "app-r3"]));

        settings.replicas = "2";
        const back = await upUnderLoad("replicas 4→2");
        expect(back.result.error).toBeNull();
        expect(back.load.failed).toBe(0);
        expect(appSteps(back.result).map((x) => x.split(" ")[0])).toEqual(["deleted", "deleted"]);
        expect(appContainers(await running())).toEqual(two);
        expect((await answers()).instances).toEqual(new Set(["app-r0", "app-r1"]));
    });

    it("an nginx setting reloads nginx: 0 failed requests, the new config served", async () => {
        settings.bodySize = "2m";
        const { result, load } = await upUnderLoad("nginx setting");
        expect(result.error).toBeNull();
        expect(load.failed).toBe(0);
        expect(appSteps(result)).toEqual([]);
        expect(steps(result.output)).toContain("replaced docker:index:Container web-files");
        const conf = await execIn(`${PREFIX}web-nginx`, "cat /run/pdc-nginx/nginx.conf");
        expect(conf.output).toContain("client_max_body_size 2m;");
        expect((await httpRequest(port, "/nginx-config")).body.trim()).toBe(String(result.outputs!.configDigest.value));
    });

    it("an image that never becomes healthy fails up with the replica's name and health output; nothing is lost, the old replicas serve", async () => {
        fs.cpSync(appDir, brokenDir, { recursive: true });
        const broken = path.join(brokenDir, "server.py");
        fs.writeFileSync(
            broken,
            fs
                .readFileSync(broken, "utf8")
                .replace(
                    'if path == "/healthz":',
                    'if path == "/healthz":\n            return self._send(503, {"status": "broken on purpose"})',
                ),
        );
        const digest = (await httpRequest(port, "/nginx-config")).body;
        const old = appContainers(await running());
        settings.appDir = brokenDir;
        const { result, load } = await upUnderLoad("never-healthy image");
        process.stdout.write(
            `never-healthy image, the error: ${/container zd-\S+ did not become healthy.*$/m.exec(result.error ?? "")?.[0]}\n`,
        );
        expect(result.error).toMatch(
            /container zd-zd\d+-app-r0-[0-9a-f]{8} did not become healthy within 25s \(health "(starting|unhealthy)", last health check: exit 1: GET \/healthz answered: HTTP\/1\.1 503 Service Unavailable\)/,
        );
        expect(load.failed).toBe(0);
        expect((await httpRequest(port, "/nginx-config")).body).toBe(digest);
        const now = appContainers(await running());
        expect(now.filter((n) => old.includes(n))).toEqual(old);
        // Batches of one: the second new replica never started.
        expect(now.filter((n) => !old.includes(n))).toHaveLength(1);
        expect((await answers()).bodies.every((b) => b.rev === 2 && b.app === "second")).toBe(true);
    });

    it("the next up with a fixed image rolls forward with 0 failed requests; one more up changes nothing", async () => {
        settings.appDir = appDir;
        fs.writeFileSync(SERVER, fs.readFileSync(SERVER, "utf8").replace('"rev": 2', '"rev": 3'));
        const { result, load } = await upUnderLoad("roll forward");
        expect(result.error).toBeNull();
        expect(load.failed).toBe(0);
        expect(appContainers(await running())).toHaveLength(2);
        expect((await answers()).bodies.every((b) => b.rev === 3)).toBe(true);

        const again = await run("up");
        expect(Object.keys(again.changes ?? {})).toEqual(["same"]);
    });
});
