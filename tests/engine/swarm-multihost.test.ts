/**
 * Docker Swarm over several hosts under the real Pulumi engine, on the 3-node swarm of tests/infra/swarm-cluster.sh
 * (3 engines, each in a network namespace of its own, joined by a bridge; node 1 the manager and `docker:host`).
 * The program of tests/engine/programs/swarm-pool.ts with 6 replicas: Postgres pinned to node 1 (its admin proxy on node 1's
 * address), the pool spread over the 3 nodes, nginx in front. Then, under bounded load through nginx, one worker
 * drops off the network (its link to the bridge taken down): swarm marks it down, runs its replicas on the other
 * nodes, and the service keeps answering; Postgres stays on node 1 with its data. The worker comes back, and the
 * stack is destroyed. About 2 min; one run at a time per machine (it takes a worker of the shared swarm away).
 */
import { execFile } from "child_process";
import * as path from "path";
import { engine, EngineRequest, EngineResult, stackDir } from "../support/engine";
import { dockerAt, inTask } from "../support/swarm";
import { loadWhile } from "../support/load";

jest.setTimeout(600000);

const ROOT = path.resolve(__dirname, "../..");
const MANAGER = process.env.PDC_MH_DOCKER_HOST ?? "unix:///tmp/pdc-mh1.sock";
const NODE_IPS = (process.env.PDC_MH_NODE_IPS ?? "10.217.0.11 10.217.0.12 10.217.0.13").split(" ");
const HOSTNAMES = (process.env.PDC_MH_HOSTNAMES ?? "pdc-mh1 pdc-mh2 pdc-mh3").split(" ");
const SOCKS = (process.env.PDC_MH_SOCKS ?? "/tmp/pdc-mh1.sock /tmp/pdc-mh2.sock /tmp/pdc-mh3.sock").split(" ");
const HUB_NETNS = process.env.PDC_MH_HUB_NETNS ?? "pdc-mh0";
const REPLICAS = 6;
const STACK = `mh${process.pid}`;
const PROJECT = "swarmmh";
const dir = stackDir(PROJECT);
// Host-mode ports are bound in the nodes' own namespaces: no clash with the shared engine's or the other swarm's.
const PORT = 21000 + (process.pid % 1000);
const ADMIN_PORT = PORT + 1000;
const SERVICE = `${PROJECT}-${STACK}-app`;
const DB = `${PROJECT}-${STACK}-db-server`;

function exec(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 120000): Promise<string> {
    return new Promise((resolve, reject) =>
        execFile(
            cmd,
            args,
            { env: { ...process.env, ...env }, timeout: timeoutMs, encoding: "utf8", cwd: ROOT },
            (err, stdout, stderr) =>
                err ? reject(new Error(`${cmd} ${args.join(" ")} failed: ${stderr || err.message}`)) : resolve(stdout),
        ),
    );
}
/** The docker CLI on node `n` (1-based); node 1 is the manager. */
const docker = (args: string[], n = 1, timeoutMs = 60000) =>
    exec("docker", args, { DOCKER_HOST: n === 1 ? MANAGER : `unix://${SOCKS[n - 1]}` }, timeoutMs);
/** Heals the cluster: every engine up, every link up, every node Ready (idempotent; about 1–3 s when healthy). */
const clusterStart = () => exec("bash", ["tests/infra/swarm-cluster.sh", "start"], {}, 240000);
/** Node `n`'s link to the bridge, up or down: to the others the node is gone, as a crashed host is. */
const link = (n: number, state: "up" | "down") =>
    exec("nsenter", [`--net=/var/run/netns/${HUB_NETNS}`, "ip", "link", "set", `pdcmh${n}b`, state]);

/** Polls `probe` every 250 ms until it returns a value, at most `seconds`. */
async function until<T>(what: string, seconds: number, probe: () => Promise<T | undefined>): Promise<T> {
    const deadline = Date.now() + seconds * 1000;
    for (;;) {
        const v = await probe().catch(() => undefined);
        if (v !== undefined) return v;
        if (Date.now() > deadline) throw new Error(`${what}: not within ${seconds} s`);
        await new Promise((r) => setTimeout(r, 250));
    }
}

/** The running tasks of a service: task ID and node host name. */
async function runningTasks(service: string): Promise<{ id: string; node: string }[]> {
    const out = await docker([
        "service",
        "ps",
        service,
        "--filter",
        "desired-state=running",
        "--format",
        "{{.ID}} {{.Node}} {{.CurrentState}}",
    ]);
    return out
        .trim()
        .split("\n")
        .filter((l) => / Running /.test(l))
        .map((l) => {
            const [id, node] = l.split(" ");
            return { id, node };
        });
}

/** Tasks per node host name, all 3 nodes listed. */
function perNode(tasks: { node: string }[]): Record<string, number> {
    const out: Record<string, number> = Object.fromEntries(HOSTNAMES.map((h) => [h, 0]));
    for (const t of tasks) out[t.node] = (out[t.node] ?? 0) + 1;
    return out;
}

/** Runs `sh -c script` as root in the running task container of a service on node 1. */
const inTaskOnManager = (service: string, script: string) => inTask(dockerAt(MANAGER), service, script);
const psql = (sql: string) => inTaskOnManager(DB, `psql -U postgres -d app -tAc "${sql}"`);

async function run(op: EngineRequest["op"]): Promise<EngineResult> {
    const r = await engine({
        op,
        dir,
        project: PROJECT,
        stack: STACK,
        program: { module: "tests/engine/programs/swarm-pool.ts", export: "swarmPoolProgram" },
        config: {
            "docker:host": { value: MANAGER },
            port: { value: String(PORT) },
            rev: { value: "1" },
            node: { value: HOSTNAMES[0] },
            adminAddress: { value: NODE_IPS[0] },
            adminPort: { value: String(ADMIN_PORT) },
            replicas: { value: String(REPLICAS) },
        },
        dockerHost: MANAGER,
    });
    if (r.error) throw new Error(`pulumi ${op} failed: ${r.error}\n${r.output}`);
    return r;
}

let destroyed = false;
let victim = 0; // the worker taken off the network (1-based), 0 while none is
beforeAll(async () => {
    await clusterStart();
});
afterAll(async () => {
    if (victim) await link(victim, "up").catch((e: Error) => console.error(e.message));
    await clusterStart().catch((e: Error) => console.error(e.message));
    if (!destroyed) await run("destroy").catch((e: Error) => console.error(e.message));
    // The retained data volume is the test's to remove; it is on node 1 only.
    await docker(["volume", "rm", "-f", `${PROJECT}-${STACK}-db-data`]).catch((e: Error) => console.error(e.message));
});

describe("a 3-node swarm (real engine): replicas spread, a worker lost under load, Postgres kept on its node", () => {
    let webIp = "";
    let dbTask = "";
    /** `n` requests through nginx: the node that served each (by the replica's host name = its container's ID). */
    async function servedBy(n: number): Promise<Record<string, number>> {
        const nodeOf = new Map<string, string>();
        for (const t of await runningTasks(SERVICE)) {
            const cid = (await docker(["inspect", "-f", "{{.Status.ContainerStatus.ContainerID}}", t.id])).trim();
            nodeOf.set(cid.slice(0, 12), t.node);
        }
        const seen: Record<string, number> = {};
        for (let i = 0; i < n; i++) {
            const res = await fetch(`http://${webIp}:${PORT}/`, { signal: AbortSignal.timeout(5000) });
            expect(res.status).toBe(200);
            const host = (await res.text()).trim().split(" ")[0];
            const node = nodeOf.get(host) ?? `unknown replica ${host}`;
            seen[node] = (seen[node] ?? 0) + 1;
        }
        return seen;
    }

    it("up: 6 replicas, 2 on each node; Postgres on node 1; nginx reaches the replicas of every node", async () => {
        await run("up");
        const tasks = await runningTasks(SERVICE);
        expect(perNode(tasks)).toEqual(Object.fromEntries(HOSTNAMES.map((h) => [h, 2])));
        const db = await runningTasks(DB);
        expect(db.map((t) => t.node)).toEqual([HOSTNAMES[0]]);
        dbTask = db[0].id;
        // nginx publishes the only port, in host mode: it answers on its own node's address and on no other.
        const answering: string[] = [];
        for (const ip of NODE_IPS) {
            const ok = await fetch(`http://${ip}:${PORT}/`, { signal: AbortSignal.timeout(5000) }).then(
                (r) => r.status === 200,
                () => false,
            );
            if (ok) answering.push(ip);
        }
        expect(answering).toHaveLength(1);
        webIp = answering[0];
        // Overlay traffic across nodes: nginx on one node reaches replicas on all three.
        const seen = await servedBy(60);
        expect(Object.keys(seen).sort()).toEqual([...HOSTNAMES].sort());
        await psql("create table failover (v text); insert into failover values ('written before')");
    });

    it("a worker lost under load: marked down, its replicas run elsewhere, requests succeed, Postgres unmoved", async () => {
        // A worker that does not run nginx (it publishes the only port, in host mode: no mesh to reach it elsewhere).
        const webNode = HOSTNAMES[NODE_IPS.indexOf(webIp)];
        victim = [3, 2].find((n) => HOSTNAMES[n - 1] !== webNode)!;
        const victimName = HOSTNAMES[victim - 1];
        const outcomes: { outcome: string; end: number }[] = [];
        const failover = async () => {
            const t0 = Date.now();
            await link(victim, "down");
            await until(`${victimName} marked down`, 60, async () => {
                const s = (await docker(["node", "inspect", "-f", "{{.Status.State}}", victimName])).trim();
                return s === "down" ? true : undefined;
            });
            const detectMs = Date.now() - t0;
            await until(`${REPLICAS} replicas running off ${victimName}`, 90, async () => {
                const t = await runningTasks(SERVICE);
                return t.length === REPLICAS && t.every((x) => x.node !== victimName) ? true : undefined;
            });
            const rescheduleMs = Date.now() - t0;
            // Load goes on for 10 s after: it must all succeed.
            await new Promise((r) => setTimeout(r, 10000));
            return { t0, detectMs, rescheduleMs };
        };
        const { result, load } = await loadWhile(PORT, failover(), {
            host: webIp,
            concurrency: 2,
            maxSeconds: 180,
            timeoutMs: 5000,
            failurePauseMs: 100,
            onOutcome: (outcome, _start, end) => outcomes.push({ outcome, end }),
        });
        const { t0, detectMs, rescheduleMs } = result!;
        console.log(
            `swarm failover (${victimName} off the network): ${JSON.stringify({ detectMs, rescheduleMs, ...load })}`,
        );
        expect(load.requests).toBeGreaterThan(100);
        // Swarm's view: the node down, all replicas on the other two nodes.
        expect(detectMs).toBeLessThan(30000);
        const tasks = perNode(await runningTasks(SERVICE));
        expect(tasks[victimName]).toBe(0);
        expect(Object.values(tasks).reduce((a, b) => a + b, 0)).toBe(REPLICAS);
        // The bound (see tests/infra/README.md, "Failover"): only requests in flight to the lost node when it went
        // may fail (nginx's 1 s connect timeout then tries another replica for new ones): at most one per loop.
        expect(load.failed).toBeLessThanOrEqual(2);
        // Once the replicas run elsewhere (1 s grace for nginx's resolver), every request succeeds.
        const after = outcomes.filter((o) => o.end > t0 + rescheduleMs + 1000);
        expect(after.length).toBeGreaterThan(20);
        expect(after.filter((o) => o.outcome !== "ok")).toEqual([]);
        // Postgres: the same task on node 1 (never rescheduled), its data there.
        expect((await runningTasks(DB)).map((t) => `${t.id} ${t.node}`)).toEqual([`${dbTask} ${HOSTNAMES[0]}`]);
        expect((await psql("select v from failover")).trim()).toBe("written before");
    });

    it("the worker comes back: Ready again, its stale replicas stopped, traffic through nginx all 200", async () => {
        const victimName = HOSTNAMES[victim - 1];
        await clusterStart();
        victim = 0;
        expect((await docker(["node", "inspect", "-f", "{{.Status.State}}", victimName])).trim()).toBe("ready");
        // The returning engine learns its tasks were replaced and stops their containers.
        const n = HOSTNAMES.indexOf(victimName) + 1;
        await until(`${victimName}'s old replicas stopped`, 60, async () => {
            const ids = await docker(["ps", "-q", "--filter", `label=com.docker.swarm.service.name=${SERVICE}`], n);
            return ids.trim() === "" ? true : undefined;
        });
        const seen = await servedBy(20);
        expect(seen[victimName]).toBeUndefined();
        expect(Object.values(seen).reduce((a, b) => a + b, 0)).toBe(20);
    });

    it("destroy: nothing of the stack left on the swarm but the data volume on node 1", async () => {
        await run("destroy");
        destroyed = true;
        for (const kind of ["service", "network", "secret", "config"]) {
            const left = await docker([kind, "ls", "--filter", `name=${PROJECT}-${STACK}-`, "--format", "{{.Name}}"]);
            expect(`${kind}: ${left.trim()}`).toBe(`${kind}: `);
        }
        const volumes = await docker(["volume", "ls", "-q", "--filter", `name=${PROJECT}-${STACK}-db-data`]);
        expect(volumes.trim()).toBe(`${PROJECT}-${STACK}-db-data`);
    });
});
