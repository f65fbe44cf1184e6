/**
 * Faults under bounded load through nginx (issue 16), with the real Pulumi engine, on one stack: 3 replicas of
 * examples/three-tier's app behind nginx, Postgres with the bootstrap (programs/faults.ts). The stack runs on a
 * Docker engine of this file's own, in a network namespace (tests/support/netns-engine.ts), because one fault
 * restarts the engine and the shared private engine serves other test files meanwhile.
 *
 * One after the other, each under a bounded load loop on nginx's published port (tests/support/load.ts), counting
 * failed requests and the time to recover (from the fault to the end of the last failed request):
 * 1. a replica stopped out of band, then nginx restarted: nginx comes back on the remaining replicas;
 * 2. Postgres restarted: the database route fails for a while and recovers, nginx's own answers never fail, and
 *    a row written before is still there;
 * 3. a replica crash-looping: its process killed each time it is up, its restart policy starting it again;
 * 4. the Docker engine restarted, without then with live-restore.
 * One line of figures per fault is printed (and, with PDC_ENGINE_FIGURES=<file>, written as JSON).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { engine, EngineRequest, EngineResult, stackDir } from "../support/engine";
import { httpRequest } from "../support/http";
import { loadWhile, LoadResult, requestOutcome } from "../support/load";
import { freePortIn } from "../support/net";
import { NetnsEngine } from "../support/netns-engine";

jest.setTimeout(600000);

const STACK = `f${process.pid}`;
const PREFIX = `faults-${STACK}-`;
const NGINX = `${PREFIX}web-nginx`;
const DB = `${PREFIX}db-server`;
const STATIC = "/static/site.txt";
const dir = stackDir("faults");
const migrations = fs.mkdtempSync(path.join(os.tmpdir(), "pdc-engine-faults-migrations-"));
fs.cpSync(path.resolve(__dirname, "../../examples/three-tier/migrations"), migrations, { recursive: true });
let webPort = 0;
let adminPort = 0;
let eng: NetnsEngine;
const figures: Record<string, FaultFigures> = {};

interface FaultFigures {
    requests: number;
    failed: number;
    failures: Record<string, number>;
    /** From the fault to the end of the last failed request, ms (0: nothing failed). */
    recoverMs: number;
    /** The slowest request, ms. */
    maxMs: number;
    /** Requests on nginx's own static file during the fault (fault 2 only). */
    staticRequests?: number;
    staticFailed?: number;
    /** How long the engine was down: from the start of its stop to the end of its start, ms (fault 4 only). */
    engineDownMs?: number;
}

function request(op: EngineRequest["op"]): Promise<EngineResult> {
    return engine({
        op,
        dir,
        project: "faults",
        stack: STACK,
        program: { module: "tests/engine/programs/faults.ts", export: "faultsProgram" },
        config: {
            "docker:host": { value: eng.host },
            webPort: { value: String(webPort) },
            adminPort: { value: String(adminPort) },
            migrations: { value: migrations },
        },
        dockerHost: eng.host,
    });
}

async function run(op: EngineRequest["op"]): Promise<EngineResult> {
    const r = await request(op);
    if (r.error) throw new Error(`pulumi ${op} failed: ${r.error}\n${r.output}`);
    return r;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` every 250 ms until it is true; false after `ms`. */
async function within(ms: number, check: () => Promise<boolean>): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
        if (await check().catch(() => false)) return true;
        await sleep(250);
    }
    return false;
}

/**
 * When `pathname` started answering for good: polls every 100 ms until every answer for `holdMs` was a 200 and
 * returns when that run began; 0 if it did not within `ms`. (A first 200 may come from one replica while the
 * others are still starting, or before nginx takes failing ones out.)
 */
async function steady(ms: number, pathname = "/", holdMs = 3000): Promise<number> {
    const deadline = Date.now() + ms;
    let since = 0;
    while (Date.now() < deadline) {
        const t = Date.now();
        if ((await requestOutcome(webPort, pathname, 3000)) !== "ok") since = 0;
        else if (since === 0) since = t;
        else if (Date.now() - since >= holdMs) return since;
        await sleep(100);
    }
    return 0;
}

/** The replicas' container names, r0 first. */
async function replicas(): Promise<string[]> {
    const out = await eng.docker(["ps", "-a", "--format", "{{.Names}}", "--filter", `name=^${PREFIX}app-r`]);
    return out.split("\n").filter(Boolean).sort();
}

const instanceOf = (container: string) => /app-r\d+/.exec(container)![0];

/** The instances (app-r0, ...) that answered `n` requests to "/", each of which must succeed. */
async function instances(n = 24): Promise<Set<string>> {
    const seen = new Set<string>();
    for (let i = 0; i < n; i++) {
        const r = await httpRequest(webPort, "/");
        expect(r.status).toBe(200);
        seen.add(String((JSON.parse(r.body) as { instance: string }).instance));
    }
    return seen;
}

/**
 * Load on each of `pathnames` (2 loops each) while `fault` runs, then `settleMs` more: the figures per path.
 * `fault` calls `start()` when the fault proper begins (the time to recover counts from there).
 */
async function underLoad(
    pathnames: string[],
    fault: (start: () => void) => Promise<void>,
    settleMs = 3000,
): Promise<{ load: LoadResult; recoverMs: number; lastFailureEnd: number }[]> {
    let started = Date.now();
    const scenario = fault(() => (started = Date.now())).then(() => sleep(settleMs));
    const lastFailure = pathnames.map(() => 0);
    const loads = await Promise.all(
        pathnames.map((pathname, i) =>
            loadWhile(webPort, scenario, {
                pathname,
                concurrency: 2,
                maxSeconds: 180,
                // Above nginx's 5 s connect timeout: a connection to a replica whose address vanished (stopped)
                // hangs until then, and nginx then answers from the next one: slow, not failed (maxMs shows it).
                timeoutMs: 10000,
                failurePauseMs: 20,
                onOutcome: (outcome, _start, end) => {
                    if (outcome !== "ok") lastFailure[i] = Math.max(lastFailure[i], end);
                },
            }),
        ),
    );
    return loads.map(({ load }, i) => ({
        load,
        recoverMs: lastFailure[i] === 0 ? 0 : Math.max(0, lastFailure[i] - started),
        lastFailureEnd: lastFailure[i],
    }));
}

function report(name: string, f: FaultFigures): void {
    figures[name] = f;
    const staticPart =
        f.staticRequests !== undefined
            ? `; nginx's static file: ${f.staticRequests} requests, ${f.staticFailed} failed`
            : "";
    process.stdout.write(
        `fault "${name}": ${f.requests} requests, ${f.failed} failed ${JSON.stringify(f.failures)}, recovered ${(f.recoverMs / 1000).toFixed(1)} s after the fault, slowest ${(f.maxMs / 1000).toFixed(1)} s${staticPart}\n`,
    );
}

const startedAt = async (c: string) => (await eng.docker(["inspect", "--format", "{{.State.StartedAt}}", c])).trim();

beforeAll(async () => {
    webPort = await freePortIn(17000, 17499);
    adminPort = await freePortIn(17500, 17999);
    eng = new NetnsEngine(String(process.pid), [webPort, adminPort]);
    await eng.start();
    await eng.loadImages(["postgres:15-bookworm", "nginx:stable-bookworm", "pdc-example/three-tier-app:latest"]);
    await run("up");
    expect(await replicas()).toHaveLength(3);
    const before = await loadWhile(webPort, 2, { concurrency: 4 });
    expect(before.load.failed).toBe(0);
}, 600000);

afterAll(async () => {
    if (process.env.PDC_ENGINE_FIGURES)
        fs.writeFileSync(process.env.PDC_ENGINE_FIGURES, JSON.stringify(figures, null, 2));
    // pulumi destroy, then the stack's folder (its file backend: the `stack rm`), the retained volume, the engine.
    if (eng) {
        await request("destroy").catch(() => undefined);
        await eng.docker(["volume", "rm", "-f", `${PREFIX}db-data`], 30000).catch(() => undefined);
        await eng.remove();
    }
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(migrations, { recursive: true, force: true });
}, 300000);

describe("faults under load through nginx", () => {
    it("a replica stopped, then nginx restarted: nginx comes back on the other replicas; the replica back by docker start", async () => {
        const all = await replicas();
        const victim = all[2];
        let back = 0;
        const [f] = await underLoad(["/"], async (start) => {
            await eng.docker(["stop", victim]);
            await sleep(1000);
            start();
            await eng.docker(["restart", NGINX]);
            back = await steady(30000);
        });
        report("replica stopped, then nginx restarted", {
            requests: f.load.requests,
            failed: f.load.failed,
            failures: f.load.failures,
            recoverMs: f.recoverMs,
            maxMs: f.load.maxMs,
        });
        // nginx answered again for good within 30 s, and nothing failed once it did.
        expect(back).toBeGreaterThan(0);
        expect(f.recoverMs).toBeLessThan(30000);
        expect(f.lastFailureEnd).toBeLessThanOrEqual(back + 1000);
        const after = await loadWhile(webPort, 2, { concurrency: 4 });
        expect(after.load.failed).toBe(0);
        expect(await instances()).toEqual(new Set(all.slice(0, 2).map(instanceOf)));

        // `pulumi up` does not start it: the state matches the program, and up reads no container's status.
        const up = await run("up");
        expect(Object.keys(up.changes ?? {})).toEqual(["same"]);
        expect((await eng.docker(["inspect", "--format", "{{.State.Running}}", victim])).trim()).toBe("false");
        // docker start does, and nginx's watcher routes to it again once its name resolves.
        await eng.docker(["start", victim]);
        expect(await within(30000, async () => (await instances(12)).has(instanceOf(victim)))).toBe(true);
    });

    it("Postgres restarted during traffic: the database route recovers, nginx's own answers never fail, the data stays", async () => {
        await eng.docker([
            ...["exec", DB, "psql", "-v", "ON_ERROR_STOP=1", "-U", "postgres", "-d", "app"],
            ...["-c", "INSERT INTO greeting (greeting) VALUES ('written before the restart')"],
        ]);
        const dbStarted = await startedAt(DB);
        let back = 0;
        const [dbRoute, site] = await underLoad(["/", STATIC], async (start) => {
            start();
            await eng.docker(["restart", DB]);
            // The database route answering again ends the fault (bounded).
            back = await steady(60000);
        });
        report("Postgres restarted", {
            requests: dbRoute.load.requests,
            failed: dbRoute.load.failed,
            failures: dbRoute.load.failures,
            recoverMs: dbRoute.recoverMs,
            maxMs: dbRoute.load.maxMs,
            staticRequests: site.load.requests,
            staticFailed: site.load.failed,
        });
        expect(await startedAt(DB)).not.toBe(dbStarted);
        expect(back).toBeGreaterThan(0);
        expect(dbRoute.recoverMs).toBeLessThan(60000);
        expect(site.load.requests).toBeGreaterThan(20);
        expect(site.load.failed).toBe(0);
        const after = await loadWhile(webPort, 2, { concurrency: 4 });
        expect(after.load.failed).toBe(0);
        const rows = await eng.docker([
            ...["exec", DB, "psql", "-At", "-U", "postgres", "-d", "app"],
            ...["-c", "SELECT greeting FROM greeting ORDER BY id"],
        ]);
        expect(rows.trim().split("\n")).toEqual(["Hello from the db tier!", "written before the restart"]);
    });

    it("a replica crash-looping: the site keeps answering from the healthy replicas", async () => {
        // A crash modelled as the replica's own process exiting (SIGTERM to PID 1 from inside, which the daemon
        // does not see as a stop), each time it is up, for 15 s: its restart policy starts it again after Docker's
        // growing back-off, as with an app that dies soon after each start. An extra container under the replica's
        // name would model a second, broken replica instead, not this one failing.
        const all = await replicas();
        const victim = all[1];
        const restarts = async () =>
            Number((await eng.docker(["inspect", "--format", "{{.RestartCount}}", victim])).trim());
        const before = await restarts();
        const [f] = await underLoad(["/"], async (start) => {
            start();
            const end = Date.now() + 15000;
            while (Date.now() < end) {
                await eng.docker(["exec", victim, "sh", "-c", "kill 1"], 10000).catch(() => undefined);
                await sleep(300);
            }
        });
        const crashes = (await restarts()) - before;
        report(`replica crash-looping (${crashes} restarts in 15 s)`, {
            requests: f.load.requests,
            failed: f.load.failed,
            failures: f.load.failures,
            recoverMs: f.recoverMs,
            maxMs: f.load.maxMs,
        });
        expect(crashes).toBeGreaterThanOrEqual(3);
        // The healthy replicas answer: at most 1% failed (the site not answering would fail them all).
        expect(f.load.requests).toBeGreaterThan(50);
        expect(f.load.failed).toBeLessThanOrEqual(Math.ceil(f.load.requests / 100));
        // Left alone, the replica comes back by its restart policy (after the back-off) and serves again.
        expect(await within(60000, async () => (await instances(12)).has(instanceOf(victim)))).toBe(true);
    });

    it("the Docker engine restarted: every container comes back and the site recovers, without and with live-restore", async () => {
        for (const liveRestore of [false, true]) {
            const nginxStarted = await startedAt(NGINX);
            let back = 0;
            let engineDownMs = 0;
            const [f] = await underLoad(["/"], async (start) => {
                start();
                const t = Date.now();
                // The engine running now decides what its stop does: the first one runs without live-restore.
                await eng.stop();
                await eng.start({ liveRestore: true });
                engineDownMs = Date.now() - t;
                back = await steady(90000);
            });
            report(`Docker engine restarted, ${liveRestore ? "with" : "without"} live-restore`, {
                requests: f.load.requests,
                failed: f.load.failed,
                failures: f.load.failures,
                recoverMs: f.recoverMs,
                maxMs: f.load.maxMs,
                engineDownMs,
            });
            expect(back).toBeGreaterThan(0);
            expect(f.recoverMs).toBeLessThan(90000);
            // Without live-restore the engine stopped nginx and started it again; with it, nginx ran on.
            if (liveRestore) expect(await startedAt(NGINX)).toBe(nginxStarted);
            else expect(await startedAt(NGINX)).not.toBe(nginxStarted);
            const after = await loadWhile(webPort, 2, { concurrency: 4 });
            expect(after.load.failed).toBe(0);
            expect(await within(30000, async () => (await instances(16)).size === 3)).toBe(true);
        }
    });
});
