/**
 * AppServerPool for apps not written for it: `appContract: false`, volumes, published ports, the container
 * pass-through; and that a program using none of them produces exactly what it produced before they existed.
 */
import { createHash } from "crypto";
import * as docker from "@pulumi/docker";
import {
    APP_CONFIG_DIR,
    AppServerPool,
    ArgumentError,
    NginxLoadBalancer,
    PostgresCluster,
    ServiceDiscovery,
    TieredNetwork,
} from "../../sdk";
import type { AppServerPoolArgs } from "../../sdk";
import { Graph, runProgram, thrownBy } from "../support/graph";

const VOLUME = "docker:index/volume:Volume";

function cluster(extra: Partial<AppServerPoolArgs> = {}, withDb = true) {
    const network = new TieredNetwork("net");
    const db = withDb ? new PostgresCluster("db", { network }) : undefined;
    const app = new AppServerPool("app", { network, image: "sha256:appimage", database: db, ...extra });
    return { network, db, app };
}

/** The message of what `construct` throws, run as a program (fails the test when it is not an ArgumentError). */
async function refusal(construct: () => unknown): Promise<string> {
    const { result } = await runProgram(() => thrownBy(construct));
    expect(result).toBeInstanceOf(ArgumentError);
    return (result as Error).message;
}

/** sha256 over every pool child as registered: name, type, inputs, options and dependencies. */
function poolFingerprint(graph: Graph): string {
    const pool = graph.resources.filter((r) => r.name === "app" || r.name.startsWith("app-"));
    const urnName = (u: string) => graph.resources.find((r) => r.urn === u)?.name ?? u;
    const canonical = pool
        .map((r) => ({
            name: r.name,
            type: r.type,
            inputs: r.inputs,
            dbr: r.deleteBeforeReplace,
            retain: r.retainOnDelete,
            deps: [...r.dependencies].map(urnName).sort(),
        }))
        .sort((a, b) => a.name.localeCompare(b.name));
    return createHash("sha256").update(JSON.stringify(canonical)).digest("hex").slice(0, 16);
}

describe("AppServerPool: existing programs unchanged", () => {
    // Pinned: the same generation and the same registrations byte for byte, so `pulumi up` after an upgrade shows
    // no diff. Pinned from wip-base, before appContract, volumes, ports and container existed, then re-pinned once
    // for issue 16 (bounded logs and no-new-privileges on every replica: a new generation, the pool rolls once).
    const programs: [string, () => ReturnType<typeof cluster>][] = [
        ["no files (like rails-consul's backends)", () => cluster()],
        [
            "files, env, resources, discovery",
            () => {
                const network = new TieredNetwork("net");
                const db = new PostgresCluster("db", { network });
                const discovery = new ServiceDiscovery("sd", { network, tier: "app" });
                const app = new AppServerPool("app", {
                    network,
                    image: "sha256:appimage",
                    database: db,
                    discovery,
                    replicas: 3,
                    env: { A: "1" },
                    configFiles: { "app.json": "{}\n" },
                    contentFiles: { "locale/en.json": "{}\n" },
                    resources: { memoryMb: 256 },
                });
                return { network, db, app };
            },
        ],
    ];
    const pinned: Record<string, { generation: string; fingerprint: string }> = {
        "no files (like rails-consul's backends)": { generation: "366ae73e", fingerprint: "78d3a8c4159ce13b" },
        "files, env, resources, discovery": { generation: "4558c9b0", fingerprint: "59e4bdcf4b8da89f" },
    };
    test.each(programs)("%s", async (label, program) => {
        const { graph, result } = await runProgram(program, { project: "shop", stack: "dev" });
        expect({ generation: result.app.generation, fingerprint: poolFingerprint(graph) }).toEqual(pinned[label]);
    });
});

describe("AppServerPool: appContract: false (general-purpose defaults)", () => {
    test("one replica, no injected variables, no empty volumes, no health check and no wait", async () => {
        const { graph, result } = await runProgram(() => cluster({ appContract: false, env: { PORT: "3000" } }));
        expect(result.app.replicaIds).toEqual(["r0"]);
        expect(graph.ofType(VOLUME).map((v) => v.name)).toEqual(["db-data"]);
        expect(graph.has("app-files")).toBe(false);
        expect(graph.has("app-r0-healthy")).toBe(false);
        const r0 = graph.get("app-r0");
        expect(r0.inputs.healthcheck).toBeUndefined();
        expect(r0.inputs.volumes ?? []).toEqual([]);
        // The user's own PORT is allowed and kept; the pool adds only DATABASE_URL.
        expect(Object.keys(graph.envOf("app-r0")).sort()).toEqual(["DATABASE_URL", "PORT"]);
        expect(graph.envOf("app-r0").PORT).toBe("3000");
        expect(result.app.configVolume).toBeUndefined();
        expect(result.app.healthPath).toBe("/");
    });

    test("a config volume only when it has files; a health check and the wait when healthPath is given", async () => {
        const { graph } = await runProgram(() =>
            cluster({ appContract: false, configFiles: { "app.json": "{}" }, healthPath: "/up", port: 3000 }),
        );
        expect(
            graph
                .ofType(VOLUME)
                .map((v) => v.name)
                .sort(),
        ).toEqual(["app-config", "db-data"]);
        expect(graph.get("app-files").inputs.volumes.map((v: { containerPath: string }) => v.containerPath)).toEqual([
            APP_CONFIG_DIR,
        ]);
        expect(graph.get("app-r0").inputs.volumes).toEqual([
            expect.objectContaining({ containerPath: APP_CONFIG_DIR, readOnly: true }),
        ]);
        expect(graph.get("app-r0").inputs.healthcheck.tests.join(" ")).toContain("http://127.0.0.1:3000/up");
        expect(graph.has("app-r0-healthy")).toBe(true);
    });

    test("refused: the wait without a health check; DATABASE_URL in env with a database", async () => {
        const m = await refusal(() => cluster({ appContract: false, waitForHealthy: true }));
        expect(m).toMatch(
            /waitForHealthy is true but the replicas have no health check.*give healthcheck or healthPath/,
        );
        expect(await refusal(() => cluster({ appContract: false, env: { DATABASE_URL: "x" } }))).toMatch(
            /env\.DATABASE_URL conflicts with a variable the pool sets; pass database instead/,
        );
        // Without a database the app may reach its own.
        const own = await runProgram(() =>
            thrownBy(() => cluster({ appContract: false, env: { DATABASE_URL: "postgres://x" } }, false)),
        );
        expect(own.result).toBeUndefined();
    });

    test("the app contract still injects and refuses PORT", async () => {
        expect(await refusal(() => cluster({ env: { PORT: "1" } }))).toMatch(
            /env\.PORT conflicts.*set the port argument/,
        );
    });
});

describe("AppServerPool: volumes", () => {
    test("a named volume kept on delete, shared with a second pool, a host path; read-write unless readOnly", async () => {
        const { graph, result } = await runProgram(
            () => {
                const { network, db, app } = cluster({
                    volumes: [
                        { name: "uploads", containerPath: "/data/uploads" },
                        { hostPath: "/srv/plugins", containerPath: "/plugins", readOnly: true },
                        { name: "cache", containerPath: "/cache", retainOnDelete: false },
                    ],
                });
                const worker = new AppServerPool("worker", {
                    network,
                    image: "sha256:appimage",
                    database: db,
                    replicas: 1,
                    volumes: [{ volume: app.volumes.uploads, containerPath: "/uploads", readOnly: true }],
                });
                return { app, worker };
            },
            { project: "shop", stack: "dev" },
        );
        const uploads = graph.get("app-vol-uploads");
        expect(uploads.type).toBe(VOLUME);
        expect(uploads.inputs.name).toBe("shop-dev-app-vol-uploads");
        expect(uploads.retainOnDelete).toBe(true);
        expect(graph.get("app-vol-cache").retainOnDelete).toBe(false);
        expect(graph.parentName("app-vol-uploads")).toBe("app");
        const mounts = graph.get("app-r0").inputs.volumes.slice(2);
        expect(mounts).toEqual([
            { volumeName: "shop-dev-app-vol-uploads", containerPath: "/data/uploads", readOnly: false },
            { hostPath: "/srv/plugins", containerPath: "/plugins", readOnly: true },
            { volumeName: "shop-dev-app-vol-cache", containerPath: "/cache", readOnly: false },
        ]);
        // One volume, two pools.
        expect(graph.ofType(VOLUME).filter((v) => v.name.includes("uploads"))).toHaveLength(1);
        expect(graph.get("worker-r0").inputs.volumes).toContainEqual({
            volumeName: "shop-dev-app-vol-uploads",
            containerPath: "/uploads",
            readOnly: true,
        });
        expect(result.worker.volumes).toEqual({});
    });

    test("a mount is part of the generation: adding one rolls the replicas", async () => {
        const plain = await runProgram(() => cluster());
        const mounted = await runProgram(() => cluster({ volumes: [{ name: "data", containerPath: "/data" }] }));
        expect(mounted.result.app.generation).not.toBe(plain.result.app.generation);
    });

    test("refused: no or two sources, relative paths, the files' mount points, duplicates, retainOnDelete elsewhere", async () => {
        const m = await refusal(() =>
            cluster({
                volumes: [
                    { containerPath: "/a" },
                    { name: "x", hostPath: "/h", containerPath: "/b" },
                    { name: "Bad_Name", containerPath: "c" },
                    { hostPath: "relative", containerPath: APP_CONFIG_DIR },
                    { volume: "shared", containerPath: "/d", retainOnDelete: false },
                    { volume: "shared2", containerPath: "/d" },
                ],
            }),
        );
        expect(m).toMatch(/volumes\[0\] names 0 sources; give exactly one of name, volume or hostPath/);
        expect(m).toMatch(/volumes\[1\] names 2 sources/);
        expect(m).toMatch(/volumes\[2\]\.name is "Bad_Name", not a DNS label/);
        expect(m).toMatch(/volumes\[2\]\.containerPath is "c", not an absolute path/);
        expect(m).toMatch(/volumes\[3\]\.hostPath is "relative", not an absolute path/);
        expect(m).toMatch(/volumes\[3\]\.containerPath is \/etc\/app, where the pool mounts its configFiles/);
        expect(m).toMatch(/volumes\[4\]\.retainOnDelete is set on a volume the pool does not create/);
        expect(m).toMatch(/volumes\[5\]\.containerPath \/d is mounted twice/);
    });

    test("a docker.Volume made by the program is mounted by its name", async () => {
        const { graph } = await runProgram(
            () => {
                const shared = new docker.Volume("shared", { name: "my-shared" });
                return cluster({ volumes: [{ volume: shared, containerPath: "/shared" }] });
            },
            { project: "shop", stack: "dev" },
        );
        expect(graph.get("app-r0").inputs.volumes).toContainEqual({
            volumeName: "my-shared",
            containerPath: "/shared",
            readOnly: false,
        });
    });
});

describe("AppServerPool: published ports", () => {
    test("TCP and UDP on one replica, replaced in place (no generation in its name)", async () => {
        const { graph, result } = await runProgram(() =>
            cluster({
                replicas: 1,
                ports: [{ internal: 53, external: 5353, protocol: "udp", ip: "127.0.0.1" }, { internal: 8080 }],
            }),
        );
        const r0 = graph.resources.find((r) => r.name === "app-r0");
        expect(r0).toBeDefined();
        expect(r0!.deleteBeforeReplace).toBe(true);
        expect(r0!.inputs.ports).toEqual([
            { internal: 53, external: 5353, protocol: "udp", ip: "127.0.0.1" },
            { internal: 8080, external: 8080, protocol: "tcp", ip: "0.0.0.0" },
        ]);
        // The generation's host name still changes with the generation, so a load balancer's config follows it.
        expect(result.app.upstreamServers[0].host).toBe(`app-r0-${result.app.generation}`);
    });

    test("refused: more than one replica, bad values, a host port another component publishes", async () => {
        expect(await refusal(() => cluster({ ports: [{ internal: 8080 }] }))).toMatch(
            /ports\[0\] publishes host port 8080, which only one container can bind, while the pool runs 2 replicas; set replicas: 1/,
        );
        const m = await refusal(() =>
            cluster({
                replicas: 1,
                ports: [
                    { internal: 0 },
                    { internal: 1, protocol: "sctp" as "tcp", ip: "localhost" },
                    { internal: 2, external: 9 },
                    { internal: 3, external: 9 },
                ],
            }),
        );
        expect(m).toMatch(/ports\[0\]\.internal is 0/);
        expect(m).toMatch(/ports\[1\]\.protocol is "sctp"; use "tcp" or "udp"/);
        expect(m).toMatch(/ports\[1\]\.ip is "localhost", not an IP address/);
        expect(m).toMatch(/ports\[3\] publishes tcp 0\.0\.0\.0:9 twice/);
        const clash = await refusal(() => {
            const network = new TieredNetwork("net");
            const api = new AppServerPool("api", { network, image: "i" });
            new NginxLoadBalancer("web", { network, hostPort: 8080, routes: [{ path: "/", pool: api }] });
            new AppServerPool("app", { network, image: "i", replicas: 1, ports: [{ internal: 80, external: 8080 }] });
        });
        expect(clash).toMatch(/ports\[0\].*8080.*NginxLoadBalancer "web"/);
    });
});

describe("AppServerPool: container pass-through", () => {
    test("applied to every replica, not to the never-started files container; part of the generation", async () => {
        const container = {
            user: "1000:1000",
            readOnly: true,
            tmpfs: { "/tmp": "size=64m" },
            securityOpts: ["no-new-privileges"],
            capabilities: { drops: ["ALL"], adds: ["NET_BIND_SERVICE"] },
            ulimits: [{ name: "nofile", soft: 1024, hard: 2048 }],
            init: true,
            shmSize: 128,
        };
        const logging = { driver: "json-file", options: { "max-size": "10m" } };
        const { graph, result } = await runProgram(() =>
            cluster({ container, logging, configFiles: { "a.json": "{}" } }),
        );
        for (const r of ["app-r0", "app-r1"])
            expect(graph.get(r).inputs).toMatchObject({
                ...container,
                logDriver: "json-file",
                logOpts: { "max-size": "10m", "max-file": "3" },
            });
        expect(graph.get("app-files").inputs.user).toBeUndefined();
        const plain = await runProgram(() => cluster({ configFiles: { "a.json": "{}" } }));
        expect(result.app.generation).not.toBe(plain.result.app.generation);
    });

    test("refused: a setting the pool makes itself (naming its argument) and an unknown one", async () => {
        const m = await refusal(() =>
            cluster({
                container: {
                    envs: ["A=1"],
                    volumes: [],
                    healthcheck: {},
                    logDriver: "local",
                    shmSize: 0,
                    bogus: 1,
                } as never,
            }),
        );
        expect(m).toMatch(
            /container\.envs is a container setting the component manages itself; use the env argument instead/,
        );
        expect(m).toMatch(/container\.volumes .*use the volumes argument instead/);
        expect(m).toMatch(/container\.healthcheck .*use the healthcheck argument instead/);
        expect(m).toMatch(
            /container\.logDriver is a container setting the component manages itself; use the logging argument instead/,
        );
        expect(m).toMatch(/container\.bogus is not a container setting the pass-through takes/);
        expect(m).toMatch(/container\.shmSize is 0/);
    });
});

describe("env on PostgresCluster and NginxLoadBalancer", () => {
    test("added after the server's own variables; refused where the component sets it; nginx's only when given", async () => {
        const { graph } = await runProgram(() => {
            const network = new TieredNetwork("net");
            const db = new PostgresCluster("db", { network, env: { TZ: "UTC" } });
            const api = new AppServerPool("api", { network, image: "i", database: db });
            new NginxLoadBalancer("web", { network, routes: [{ path: "/", pool: api }], env: { TZ: "UTC" } });
            new NginxLoadBalancer("plain", {
                network,
                hostPort: 8081,
                routes: [{ path: "/", pool: api }],
            });
        });
        expect((graph.get("db-server").inputs.envs as string[]).slice(-1)).toEqual(["TZ=UTC"]);
        expect(graph.envOf("db-server").POSTGRES_USER).toBeDefined();
        expect(graph.get("web-nginx").inputs.envs).toEqual(["TZ=UTC"]);
        expect(graph.get("plain-nginx").inputs.envs).toBeUndefined();
        const m = await refusal(() => {
            const network = new TieredNetwork("net");
            new PostgresCluster("db", { network, env: { POSTGRES_USER: "x", "BAD-NAME": "y" } });
        });
        expect(m).toMatch(
            /env\.POSTGRES_USER is a variable the component sets itself; use the adminUser argument instead/,
        );
        expect(m).toMatch(/env\.BAD-NAME is not a valid variable name/);
    });
});
