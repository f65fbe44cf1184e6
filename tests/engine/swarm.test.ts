/**
 * Docker Swarm under the real Pulumi engine, on the single-node swarm of tests/infra/swarm.sh (its own engine in
 * its own network namespace; `PDC_SWARM_DOCKER_HOST`, `PDC_SWARM_NODE_IP`): the swarm resources of
 * @pulumi/docker (overlay networks, Secret, ServiceConfig, Service with a start-first rolling update and a port
 * published in host mode), as the docker plugin built here drives them, through `PostgresCluster`'s swarm form (its
 * bootstrap through the admin proxy on the node's address) and `AppServerPool`'s (tests/engine/programs/swarm-pool.ts)
 * behind `NginxLoadBalancer`'s, and a destroy that leaves only the data volume. About 3.5 min on the shared machine,
 * most of it the provider's convergence waits.
 */
import { engine, EngineRequest, EngineResult, stackDir, stateFiles, steps } from "../support/engine";
import { dockerAt, inTask as inTaskOf } from "../support/swarm";
import { loadWhile, requestOutcome } from "../support/load";

jest.setTimeout(600000);

const SWARM_HOST = process.env.PDC_SWARM_DOCKER_HOST ?? "unix:///tmp/pdc-swarm.sock";
const NODE_IP = process.env.PDC_SWARM_NODE_IP ?? "10.213.0.2";
const STACK = `sw${process.pid}`;
const dir = stackDir("swarmpool");
// Host-mode ports are bound on the node's own namespace: no clash with the shared engine's 127.0.0.1 ports.
const PORT = 20000 + (process.pid % 1000);
const ADMIN_PORT = PORT + 1000;
let nodeName = "";
/** The `conf` config value: the text of the pool's config file. */
let conf = "1";
/** nginx's config revision (a response header): a change is a config-only update of nginx. */
let nginxRev = "1";
/** nginx's image by ID (read from the node): a stop-first task given a tag first asks the registry (none here). */
let nginxImage = "";

const swarm = dockerAt(SWARM_HOST);
/** Runs `sh -c script` as root in the first running task container of a service. */
const inTask = (service: string, script: string) => inTaskOf(swarm, service, script);

async function run(op: EngineRequest["op"], rev = "1"): Promise<EngineResult> {
    const r = await engine({
        op,
        dir,
        project: "swarmpool",
        stack: STACK,
        program: { module: "tests/engine/programs/swarm-pool.ts", export: "swarmPoolProgram" },
        config: {
            "docker:host": { value: SWARM_HOST },
            port: { value: String(PORT) },
            rev: { value: rev },
            conf: { value: conf },
            node: { value: nodeName },
            adminAddress: { value: NODE_IP },
            adminPort: { value: String(ADMIN_PORT) },
            nginxRev: { value: nginxRev },
            nginxImage: { value: nginxImage },
        },
    });
    if (r.error) throw new Error(`pulumi ${op} failed: ${r.error}\n${r.output}`);
    return r;
}

let destroyed = false;
beforeAll(async () => {
    nodeName = (await swarm(["info", "-f", "{{.Name}}"])).trim();
    nginxImage = (await swarm(["image", "inspect", "-f", "{{.Id}}", "nginx:stable-bookworm"])).trim();
});
afterAll(async () => {
    if (!destroyed) await run("destroy", "2").catch((e: Error) => console.error(e.message));
    // The retained data volume is the test's to remove.
    await swarm(["volume", "rm", "-f", `swarmpool-${STACK}-db-data`]).catch((e: Error) => console.error(e.message));
});

describe("PostgresCluster and AppServerPool on a swarm network (real engine, single-node swarm)", () => {
    const SERVICE = `swarmpool-${STACK}-app`;
    const DB = `swarmpool-${STACK}-db-server`;
    const WEB_PORT = PORT;
    const WEB = `swarmpool-${STACK}-web`;
    /** `n` requests through nginx on the node: the replicas' host names seen and the revisions answered. */
    async function sample(n: number): Promise<{ hosts: Set<string>; revs: Set<string> }> {
        const hosts = new Set<string>();
        const revs = new Set<string>();
        for (let i = 0; i < n; i++) {
            const res = await fetch(`http://${NODE_IP}:${WEB_PORT}/`, { signal: AbortSignal.timeout(5000) });
            expect(res.status).toBe(200);
            const [host, rev] = (await res.text()).trim().split(" ");
            hosts.add(host);
            revs.add(rev);
        }
        return { hosts, revs };
    }

    it("up: one service, 2 healthy replicas, traffic through nginx (the only published port) from both", async () => {
        await run("up", "1");
        expect(
            (await swarm(["service", "ls", "--filter", `name=${SERVICE}`, "--format", "{{.Replicas}}"])).trim(),
        ).toBe("2/2");
        const health = await swarm([
            "ps",
            "--filter",
            `label=com.docker.swarm.service.name=${SERVICE}`,
            "--format",
            "{{.Status}}",
        ]);
        expect(
            health
                .trim()
                .split("\n")
                .map((s) => /\(healthy\)/.test(s)),
        ).toEqual([true, true]);
        const { hosts, revs } = await sample(20);
        expect(hosts.size).toBe(2);
        expect([...revs]).toEqual(["1"]);
    });

    it("Postgres: one pinned task, bootstrapped through the admin proxy; the pool gets the app URL as a secret file only", async () => {
        const placement = await swarm([
            "service",
            "inspect",
            "-f",
            "{{json .Spec.TaskTemplate.Placement.Constraints}} {{.Spec.UpdateConfig.Order}}",
            DB,
        ]);
        expect(placement.trim()).toBe(`["node.hostname == ${nodeName}"] stop-first`);
        // The bootstrap made the role and database (local socket: trusted inside the task).
        const roles = await inTask(
            DB,
            `psql -U postgres -d app -tAc "select rolname from pg_roles where rolname = 'app'"`,
        );
        expect(roles.trim()).toBe("app");
        const adminPassword = (await inTask(DB, "cat /run/secrets/pdc-postgres-admin-password")).trim();
        expect(adminPassword.length).toBeGreaterThanOrEqual(32);
        const url = (await inTask(SERVICE, 'cat "$DATABASE_URL_FILE"')).trim();
        expect(url).toMatch(/^postgresql:\/\/app:[^@]+@postgres:5432\/app/);
        // The owner password is in neither the pool's spec, its environment nor its secret files.
        const spec = await swarm(["service", "inspect", SERVICE]);
        const seen = await inTask(SERVICE, "env; cat /run/secrets/*");
        expect(spec).not.toContain(adminPassword);
        expect(seen).not.toContain(adminPassword);
        expect(spec).not.toContain(url);
        // The app role reaches its database over the db tier from a replica.
        const check = await inTask(
            SERVICE,
            `python3 -c "import socket; socket.create_connection(('postgres', 5432), 3); print('ok')"`,
        );
        expect(check.trim()).toBe("ok");
    });

    it("tiers are overlays; the pool's name resolves to both tasks (dnsrr) on its tier, not on the web tier alone", async () => {
        const net = (tier: string) =>
            swarm([
                "network",
                "inspect",
                "-f",
                "{{.Driver}} {{.Attachable}} {{.Scope}}",
                `swarmpool-${STACK}-net-${tier}`,
            ]);
        expect((await net("app")).trim()).toBe("overlay true swarm");
        expect((await net("web")).trim()).toBe("overlay true swarm");
        const web = await inTask(
            `swarmpool-${STACK}-web`,
            "getent hosts app | wc -l; getent hosts tasks.swarmpool-" + STACK + "-app | wc -l",
        );
        expect(web.trim().split("\n")).toEqual(["2", "2"]);
        // A plain container on the web tier alone (attachable) cannot resolve the pool.
        const probe = await swarm(
            [
                "run",
                "--rm",
                "--network",
                `swarmpool-${STACK}-net-web`,
                "pdc-example/three-tier-app:latest",
                "sh",
                "-c",
                "getent hosts app; echo rc=$?",
            ],
            120000,
        );
        expect(probe.trim()).toBe("rc=2");
        // nginx (web and app tiers) cannot resolve the database, which is on the db tier alone.
        const web2 = await inTask(`swarmpool-${STACK}-web`, "getent hosts postgres; echo rc=$?");
        expect(web2.trim()).toBe("rc=2");
    });

    it("secret file: a swarm secret at /run/secrets with its mode and owner, its path in TOKEN_FILE, not in the state", async () => {
        const out = await inTask(
            SERVICE,
            'stat -c "%a %u" /run/secrets/token; cat /run/secrets/token; echo; echo "$TOKEN_FILE"',
        );
        expect(out.trim().split("\n")).toEqual(["400 10001", "s3cret-token", "/run/secrets/token"]);
        expect(stateFiles(dir)).not.toContain("s3cret-token");
    });

    it("rolling update under bounded load through nginx: start-first, 0 failed requests, every replica new", async () => {
        const { load } = await loadWhile(WEB_PORT, run("up", "2"), {
            host: NODE_IP,
            concurrency: 2,
            maxSeconds: 240,
        });
        console.log(`swarm rolling update: ${JSON.stringify(load)}`);
        expect(load.requests).toBeGreaterThan(50);
        expect(load.failures).toEqual({});
        const state = await swarm([
            "service",
            "inspect",
            "-f",
            "{{.UpdateStatus.State}} {{json .Spec.UpdateConfig}}",
            SERVICE,
        ]);
        expect(state).toMatch(/^completed /);
        expect(state).toContain('"Order":"start-first"');
        expect(state).toContain('"FailureAction":"rollback"');
        const { hosts, revs } = await sample(20);
        expect(hosts.size).toBe(2);
        expect([...revs]).toEqual(["2"]);
    });

    it("config file: a new text is a new swarm config, the service rolls to it, then the old config is deleted", async () => {
        const FILE = "/etc/app/settings/app.conf";
        const poolConfigs = async () =>
            (await swarm(["config", "ls", "--filter", `name=${SERVICE}-config-`, "--format", "{{.Name}}"]))
                .trim()
                .split("\n")
                .filter(Boolean);
        const before = await poolConfigs();
        expect(before).toHaveLength(1);
        expect((await inTask(SERVICE, `stat -c "%a %u" ${FILE}; cat ${FILE}`)).trim().split("\n")).toEqual([
            "644 0",
            "conf=1",
        ]);
        conf = "2";
        const r = await run("up", "2");
        // Create-before-delete with the service moved in between: Docker refuses to delete a config in use.
        const order = steps(r.output);
        const at = (re: RegExp) => order.findIndex((s) => re.test(s));
        const created = at(/^created docker:index:ServiceConfig app-config-settings\/app\.conf$/);
        const updated = at(/^updated docker:index:Service app-service$/);
        const deleted = at(/^deleted docker:index:ServiceConfig app-config-settings\/app\.conf$/);
        expect([created >= 0, created < updated, updated < deleted]).toEqual([true, true, true]);
        const after = await poolConfigs();
        expect(after).toHaveLength(1);
        expect(after[0]).not.toBe(before[0]);
        // Every running task (old ones may still be stopping for a moment) reads the new text.
        let texts: string[] = [];
        for (let i = 0; i < 30; i++) {
            const ids = (await swarm(["ps", "-q", "--filter", `label=com.docker.swarm.service.name=${SERVICE}`]))
                .trim()
                .split("\n")
                .filter(Boolean);
            texts = await Promise.all(ids.map(async (id) => (await swarm(["exec", id, "cat", FILE])).trim()));
            if (texts.length === 2 && texts.every((t) => t === "conf=2")) break;
            await new Promise((res) => setTimeout(res, 1000));
        }
        expect(texts).toEqual(["conf=2", "conf=2"]);
        // The task spec as given (logs, restart policy, configs) reads back the same: nothing left to change.
        const again = await run("preview", "2");
        expect(Object.keys(again.changes ?? {})).toEqual(["same"]);
    });

    it("nginx: one pinned service publishing the port in host mode, its config a ServiceConfig named by its digest", async () => {
        const spec = JSON.parse(await swarm(["service", "inspect", "-f", "{{json .Spec}}", WEB]));
        expect(spec.TaskTemplate.Placement.Constraints).toEqual([`node.hostname == ${nodeName}`]);
        expect(spec.EndpointSpec.Ports).toEqual([
            { Protocol: "tcp", TargetPort: 80, PublishedPort: WEB_PORT, PublishMode: "host" },
        ]);
        expect(spec.UpdateConfig.Order).toBe("stop-first");
        const [config] = spec.TaskTemplate.ContainerSpec.Configs;
        expect(config.File.Name).toBe("/etc/nginx/nginx.conf");
        const digest = (await (await fetch(`http://${NODE_IP}:${WEB_PORT}/nginx-config`)).text()).trim();
        expect(config.ConfigName).toBe(`swarmpool-${STACK}-web-conf-${digest}`);
        // The config nginx loaded re-resolves the pool per request through swarm's DNS server.
        const conf = await inTask(WEB, "nginx -T 2>/dev/null");
        expect(conf).toContain("resolver 127.0.0.11 valid=1s ipv6=off;");
        expect(conf).toMatch(/set \$pdc_upstream_app app;\s+proxy_pass http:\/\/\$pdc_upstream_app:8000;/);
        expect(
            (await swarm(["service", "ps", "-q", "--filter", "desired-state=running", WEB])).trim().split("\n"),
        ).toHaveLength(1);
    });

    /** Probes nginx every 100 ms until `until` settles: the time from the first to the last failed probe. */
    async function outageWhile<T>(until: Promise<T>): Promise<{ outageMs: number; outcomes: string[] }> {
        let done = false;
        void until.finally(() => (done = true)).catch(() => undefined);
        const failed: number[] = [];
        const outcomes = new Set<string>();
        while (!done) {
            const t = Date.now();
            const outcome = await requestOutcome(WEB_PORT, "/", 2000, undefined, NODE_IP);
            if (outcome !== "ok") {
                failed.push(t);
                outcomes.add(outcome);
            }
            await new Promise((r) => setTimeout(r, 100));
        }
        await until;
        return { outageMs: failed.length ? failed[failed.length - 1] - failed[0] : 0, outcomes: [...outcomes] };
    }

    it("nginx config-only change under bounded load: a new config, the task replaced stop-first; only refused connections, the outage measured", async () => {
        const before = (
            await swarm([
                "service",
                "inspect",
                "-f",
                "{{(index .Spec.TaskTemplate.ContainerSpec.Configs 0).ConfigName}}",
                WEB,
            ])
        ).trim();
        nginxRev = "2";
        const up = run("up", "2");
        const [{ load }, outage] = await Promise.all([
            loadWhile(WEB_PORT, up, { host: NODE_IP, concurrency: 2, maxSeconds: 240 }),
            outageWhile(up),
        ]);
        console.log(`swarm nginx config change: ${JSON.stringify({ ...load, ...outage })}`);
        // Stop-first on the node's host port: new connections are refused between the old task and the new one;
        // requests in flight finish (graceful stop), and nginx never answers an error of its own.
        expect(Object.keys(load.failures).filter((k) => k !== "ECONNREFUSED")).toEqual([]);
        expect(outage.outcomes.filter((k) => k !== "ECONNREFUSED")).toEqual([]);
        // By tag the new task first waited for the registry (10 s DNS timeouts here): 21.3 s measured; by ID 1.7 s.
        expect(outage.outageMs).toBeLessThan(10000);
        const after = (
            await swarm([
                "service",
                "inspect",
                "-f",
                "{{(index .Spec.TaskTemplate.ContainerSpec.Configs 0).ConfigName}} {{.UpdateStatus.State}}",
                WEB,
            ])
        ).trim();
        expect(after).not.toContain(before);
        expect(after).toMatch(/ completed$/);
        // The old config is gone (deleted after the service moved off it).
        const configs = await swarm([
            "config",
            "ls",
            "--filter",
            `name=swarmpool-${STACK}-web-conf-`,
            "--format",
            "{{.Name}}",
        ]);
        expect(configs.trim().split("\n")).toEqual([after.split(" ")[0]]);
        const res = await fetch(`http://${NODE_IP}:${WEB_PORT}/`, { signal: AbortSignal.timeout(5000) });
        expect(res.status).toBe(200);
        expect(res.headers.get("x-nginx-rev")).toBe("2");
        expect(load.requests).toBeGreaterThan(20);
    });

    it("destroy: no service, network, secret or config of the stack is left; the data volume is kept", async () => {
        await run("destroy", "2");
        destroyed = true;
        const volumes = await swarm(["volume", "ls", "-q", "--filter", `name=swarmpool-${STACK}-db-data`]);
        expect(volumes.trim()).toBe(`swarmpool-${STACK}-db-data`);
        const proxy = await swarm(["ps", "-aq", "--filter", `name=swarmpool-${STACK}-db-admin-proxy`]);
        expect(proxy.trim()).toBe("");
        for (const kind of ["service", "network", "secret", "config"]) {
            const left = await swarm([kind, "ls", "--filter", `name=swarmpool-${STACK}-`, "--format", "{{.Name}}"]);
            expect(`${kind}: ${left.trim()}`).toBe(`${kind}: `);
        }
    });
});
