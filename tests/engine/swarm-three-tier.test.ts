/**
 * examples/three-tier itself (its index.ts and Pulumi.yaml, unchanged) with the stack setting `target: swarm`, under
 * the real engine on the single-node swarm of tests/infra/swarm.sh: the same program as on one host, as services.
 * Traffic through nginx from both replicas with the greeting the migrations wrote, nginx unable to resolve the
 * database, the owner password only in the database's own secret (never in the app's or nginx's spec, env or
 * files), a second `up` that changes nothing, a new app image rolled under bounded load with 0 failed requests,
 * and a `destroy` that keeps the data volume. About 4 min on the shared machine.
 */
import { execFileSync } from "child_process";
import * as path from "path";
import { engine, EngineRequest, EngineResult, stackDir, stateFiles, steps } from "../support/engine";
import { dockerAt, inTask as inTaskOf } from "../support/swarm";
import { loadWhile } from "../support/load";

jest.setTimeout(600000);

const SWARM_HOST = process.env.PDC_SWARM_DOCKER_HOST ?? "unix:///tmp/pdc-swarm.sock";
const NODE_IP = process.env.PDC_SWARM_NODE_IP ?? "10.213.0.2";
const EXAMPLE = path.resolve(__dirname, "../../examples/three-tier");
const STACK = `swt${process.pid}`;
const PREFIX = `three-tier-${STACK}-`;
const dir = stackDir("swarm-three-tier");
// Host-mode ports are bound in the node's own namespace: no clash with the shared engine's ports.
const PORT = 22000 + (process.pid % 1000);
const ADMIN_PORT = PORT + 1000;
const IMAGE_V1 = "pdc-example/three-tier-app:latest";
const IMAGE_V2 = `pdc-example/three-tier-app:swarm-${STACK}`;
let nodeName = "";

const swarm = dockerAt(SWARM_HOST);
/** Runs `sh -c script` as root in the first running task container of a service. */
const inTask = (service: string, script: string) => inTaskOf(swarm, service, script);

async function run(op: EngineRequest["op"], appImage = IMAGE_V1, diff = false): Promise<EngineResult> {
    const r = await engine({
        op,
        diff,
        dir,
        project: "three-tier",
        stack: STACK,
        program: { module: "examples/three-tier/index.ts" },
        projectFile: path.join(EXAMPLE, "Pulumi.yaml"),
        config: {
            "docker:host": { value: SWARM_HOST },
            "three-tier:target": { value: "swarm" },
            "three-tier:swarmNode": { value: nodeName },
            "three-tier:adminAddress": { value: NODE_IP },
            "three-tier:adminHostPort": { value: String(ADMIN_PORT) },
            "three-tier:webPort": { value: String(PORT) },
            "three-tier:buildAppImage": { value: "false" },
            "three-tier:appImage": { value: appImage },
        },
    });
    if (r.error) throw new Error(`pulumi ${op} failed: ${r.error}\n${r.output}`);
    return r;
}

/** `n` requests through nginx on the node: the instances that answered and the greetings. */
async function sample(n: number): Promise<{ instances: Set<string>; greetings: Set<string> }> {
    const instances = new Set<string>();
    const greetings = new Set<string>();
    for (let i = 0; i < n; i++) {
        const res = await fetch(`http://${NODE_IP}:${PORT}/`, { signal: AbortSignal.timeout(5000) });
        expect(res.status).toBe(200);
        const body = (await res.json()) as { instance: string; greeting: string };
        instances.add(body.instance);
        greetings.add(body.greeting);
    }
    return { instances, greetings };
}

let destroyed = false;
beforeAll(async () => {
    nodeName = (await swarm(["info", "-f", "{{.Name}}"])).trim();
    // "A new image": the app image with one more layer, built on the node (a swarm pulls nothing here).
    execFileSync("docker", ["build", "-q", "-t", IMAGE_V2, "-"], {
        env: { ...process.env, DOCKER_HOST: SWARM_HOST },
        input: `FROM ${IMAGE_V1}\nLABEL pdc.test.rev="${STACK}"\n`,
        timeout: 120000,
    });
});
afterAll(async () => {
    if (!destroyed) await run("destroy").catch((e: Error) => console.error(e.message));
    await swarm(["volume", "rm", "-f", `${PREFIX}db-data`]).catch((e: Error) => console.error(e.message));
    await swarm(["image", "rm", IMAGE_V2]).catch((e: Error) => console.error(e.message));
});

describe("examples/three-tier with target swarm (real engine, single-node swarm)", () => {
    const APP = `${PREFIX}app`;
    const WEB = `${PREFIX}web`;
    const DB = `${PREFIX}db-server`;

    it("up: services, not containers; traffic through nginx from both replicas, the greeting from the migrations", async () => {
        await run("up");
        const services = await swarm([
            "service",
            "ls",
            "--filter",
            `name=${PREFIX}`,
            "--format",
            "{{.Name}} {{.Replicas}}",
        ]);
        expect(services.trim().split("\n").sort()).toEqual([`${APP} 2/2`, `${DB} 1/1`, `${WEB} 1/1`].sort());
        const { instances, greetings } = await sample(20);
        expect(instances.size).toBe(2);
        expect(greetings.size).toBe(1);
        expect([...greetings][0]).toBeTruthy();
    });

    it("tiers: nginx cannot resolve the database; the app reaches it", async () => {
        const dbHost = (await inTask(APP, 'sed -E "s|.*@([^:/]+).*|\\1|" "$DATABASE_URL_FILE"')).trim();
        expect(dbHost).toMatch(/^[a-z0-9-]+$/);
        expect((await inTask(WEB, `getent hosts ${dbHost}; echo rc=$?`)).trim()).toBe("rc=2");
        expect((await inTask(APP, `getent hosts ${dbHost} >/dev/null; echo rc=$?`)).trim()).toBe("rc=0");
    });

    it("the owner password: only the database's secret; not in the app's or nginx's spec, env or files, nor the state", async () => {
        const owner = (await inTask(DB, "cat /run/secrets/pdc-postgres-admin-password")).trim();
        expect(owner.length).toBeGreaterThanOrEqual(32);
        for (const service of [APP, WEB]) {
            expect(await swarm(["service", "inspect", service])).not.toContain(owner);
            expect(await inTask(service, "env; cat /run/secrets/* 2>/dev/null; true")).not.toContain(owner);
        }
        // The app's URL is a secret file only: neither in its spec nor in the state in plaintext.
        const url = (await inTask(APP, 'cat "$DATABASE_URL_FILE"')).trim();
        expect(url).toMatch(/^postgresql:\/\/app:/);
        expect(await swarm(["service", "inspect", APP])).not.toContain(url);
        const state = stateFiles(dir);
        expect(state).not.toContain(owner);
        expect(state).not.toContain(url);
    });

    it("a second up changes nothing", async () => {
        const r = await run("up");
        const changed = steps(r.output);
        if (changed.length) console.log((await run("preview", IMAGE_V1, true)).output);
        expect(changed).toEqual([]);
        expect(Object.keys(r.changes ?? {})).toEqual(["same"]);
    });

    it("a new app image rolls under bounded load through nginx: 0 failed requests, every task on the new image", async () => {
        const { load } = await loadWhile(PORT, run("up", IMAGE_V2), { host: NODE_IP, concurrency: 2, maxSeconds: 300 });
        console.log(`swarm three-tier image roll: ${JSON.stringify(load)}`);
        expect(load.requests).toBeGreaterThan(50);
        expect(load.failures).toEqual({});
        // A local image has no repository digest: the service runs it by ID (every node here holds it).
        const v2 = (await swarm(["image", "inspect", "-f", "{{.Id}}", IMAGE_V2])).trim();
        const images = await swarm([
            "service",
            "ps",
            "--filter",
            "desired-state=running",
            "--format",
            "{{.Image}}",
            APP,
        ]);
        expect(images.trim().split("\n")).toEqual([v2, v2]);
        const { instances } = await sample(20);
        expect(instances.size).toBe(2);
    });

    it("destroy: nothing of the stack is left but the data volume", async () => {
        await run("destroy", IMAGE_V2);
        destroyed = true;
        expect((await swarm(["volume", "ls", "-q", "--filter", `name=${PREFIX}db-data`])).trim()).toBe(
            `${PREFIX}db-data`,
        );
        for (const kind of ["service", "network", "secret", "config"]) {
            const left = await swarm([kind, "ls", "--filter", `name=${PREFIX}`, "--format", "{{.Name}}"]);
            expect(`${kind}: ${left.trim()}`).toBe(`${kind}: `);
        }
    });
});
