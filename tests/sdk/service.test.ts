import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import {
    AppServerPool,
    ArgumentError,
    NginxLoadBalancer,
    PostgresCluster,
    Service,
    ServiceArgs,
    ServiceImage,
    TieredNetwork,
} from "../../sdk";
import { peek, publishing, runProgram, thrownBy } from "../support/graph";

const PROJECT = { project: "shop", stack: "dev" };
const C = "docker:index/container:Container";

/** A network and one Service `svc` built from `args` (network filled in). */
function service(args: Omit<ServiceArgs, "network">, name = "svc"): { network: TieredNetwork; svc: Service } {
    const network = new TieredNetwork("net");
    return { network, svc: new Service(name, { network, ...args }) };
}

/** The message of what `construct` throws, asserting it is an ArgumentError. */
async function rejection(construct: () => unknown): Promise<{ message: string; names: string[] }> {
    const { graph, result } = await runProgram(() => thrownBy(construct), PROJECT);
    expect(result).toBeInstanceOf(ArgumentError);
    return { message: (result as Error).message, names: graph.names() };
}

describe("Service", () => {
    test("exact graph of one container: pulled image, <name>-r0 on the app tier under its name, nothing injected", async () => {
        const { graph, result } = await runProgram(() => service({ image: "redis:7" }, "cache").svc, PROJECT);
        expect(Object.fromEntries(Object.entries(graph.shape()).filter(([n]) => n.startsWith("cache")))).toEqual({
            cache: "dockercluster:service:Service",
            "cache-image": "docker:index/remoteImage:RemoteImage",
            "cache-r0": C,
        });
        const c = graph.get("cache-r0");
        expect(graph.parentName("cache-r0")).toBe("cache");
        expect(graph.parentName("cache-image")).toBe("cache");
        expect(graph.get("cache-image").inputs).toMatchObject({ name: "redis:7", keepLocally: true });
        expect(c.inputs.name).toBe("shop-dev-cache-r0");
        expect(c.inputs.image).toBe("sha256:cache-image");
        expect(c.inputs.networksAdvanced).toEqual([{ name: "shop-dev-net-app", aliases: ["cache"] }]);
        expect(c.inputs.restart).toBe("unless-stopped");
        expect(c.deleteBeforeReplace).toBe(true);
        // General purpose: no env, command, health check, volumes or ports unless asked for.
        for (const k of ["envs", "command", "healthcheck", "volumes", "ports", "hostname"])
            expect(c.inputs[k]).toBeUndefined();
        expect(graph.labelsOf("cache-r0")).toEqual({
            "dockercluster.component": "cache",
            "dockercluster.instance": "r0",
            "dockercluster.project": "shop",
            "dockercluster.role": "service",
            "dockercluster.stack": "dev",
        });
        expect(result.host).toBe("cache");
        expect((await peek(result.containerNames)).value).toEqual(["shop-dev-cache-r0"]);
    });

    test("replicas: <name>-r<i>, each on every tier with the shared aliases and its own <alias>-r<i>", async () => {
        const { graph, result } = await runProgram(
            () =>
                service({
                    image: "worker:1",
                    replicas: 3,
                    tiers: ["app", "db"],
                    aliases: ["jobs", "worker"],
                    command: ["bundle", "exec", "sidekiq"],
                    hostname: "wk",
                }).svc,
            PROJECT,
        );
        expect(graph.containers().map((c) => c.name)).toEqual(["svc-r0", "svc-r1", "svc-r2"]);
        for (const i of [0, 1, 2]) {
            const c = graph.get(`svc-r${i}`);
            expect(c.inputs.networksAdvanced).toEqual([
                { name: "shop-dev-net-app", aliases: ["jobs", "worker", `jobs-r${i}`] },
                { name: "shop-dev-net-db", aliases: ["jobs", "worker", `jobs-r${i}`] },
            ]);
            expect(c.inputs.command).toEqual(["bundle", "exec", "sidekiq"]);
            expect(c.inputs.hostname).toBe(`wk-r${i}`);
        }
        expect(result.replicaHosts.r1).toEqual(["jobs", "worker", "jobs-r1"]);
        expect(result.hosts).toEqual(["jobs", "worker"]);
    });

    test("an image Output (ServiceImage.ref) is used as it is, with no pull of its own", async () => {
        const { graph } = await runProgram(() => {
            const img = new ServiceImage("worker-image", { imageName: "shop/worker:1" });
            return service({ image: img.ref }).svc;
        }, PROJECT);
        expect(graph.has("svc-image")).toBe(false);
        expect(graph.get("svc-r0").inputs.image).toBe("sha256:worker-image-image");
    });

    test("env: sorted KEY=value; a secret value keeps the container's env secret", async () => {
        const { graph } = await runProgram(
            () =>
                service({
                    image: "rabbitmq:3.13",
                    env: { RABBITMQ_DEFAULT_USER: "mia", RABBITMQ_DEFAULT_PASS: pulumi.secret("s3cret") },
                }).svc,
            PROJECT,
        );
        expect(graph.get("svc-r0").inputs.envs).toEqual(["RABBITMQ_DEFAULT_PASS=s3cret", "RABBITMQ_DEFAULT_USER=mia"]);
        expect(graph.get("svc-r0").secretInputs.has("envs")).toBe(true);

        const plain = await runProgram(() => service({ image: "x:1", env: { A: "1" } }).svc, PROJECT);
        expect(plain.graph.get("svc-r0").secretInputs.has("envs")).toBe(false);
    });

    test("volumes: created ones retained on delete by default, existing ones by name or resource, host paths", async () => {
        const { graph, result } = await runProgram(() => {
            const shared = new docker.Volume("shared", { name: "shared-vol" });
            return service({
                image: "redis:7",
                volumes: [
                    { name: "data", containerPath: "/data" },
                    { name: "scratch", containerPath: "/scratch", retainOnDelete: false },
                    { volume: shared, containerPath: "/shared", readOnly: true },
                    { volume: "legacy-vol", containerPath: "/legacy" },
                    { hostPath: "/srv/conf", containerPath: "/conf", readOnly: true },
                ],
            }).svc;
        }, PROJECT);
        const data = graph.get("svc-vol-data");
        expect(data.type).toBe("docker:index/volume:Volume");
        expect(data.inputs.name).toBe("shop-dev-svc-vol-data");
        expect(data.retainOnDelete).toBe(true);
        expect(graph.parentName("svc-vol-data")).toBe("svc");
        expect(graph.get("svc-vol-scratch").retainOnDelete).toBe(false);
        expect(graph.get("svc-r0").inputs.volumes).toEqual([
            { volumeName: "shop-dev-svc-vol-data", containerPath: "/data", readOnly: false },
            { volumeName: "shop-dev-svc-vol-scratch", containerPath: "/scratch", readOnly: false },
            { volumeName: "shared-vol", containerPath: "/shared", readOnly: true },
            { volumeName: "legacy-vol", containerPath: "/legacy", readOnly: false },
            { hostPath: "/srv/conf", containerPath: "/conf", readOnly: true },
        ]);
        expect(graph.dependsOn("svc-r0", "shared")).toBe(true);
        expect(Object.keys(result.volumes)).toEqual(["data", "scratch"]);
    });

    test("ports: TCP and UDP published on 127.0.0.1 by default, claimed on the network", async () => {
        const { graph, result } = await runProgram(
            () =>
                service({
                    image: "coredns:1",
                    ports: [
                        { internal: 53, external: 1053, protocol: "udp" },
                        { internal: 53, external: 1053 },
                        { internal: 9153, ip: "0.0.0.0" },
                    ],
                }).svc,
            PROJECT,
        );
        const ports = [
            { internal: 53, external: 1053, protocol: "udp", ip: "127.0.0.1" },
            { internal: 53, external: 1053, protocol: "tcp", ip: "127.0.0.1" },
            { internal: 9153, external: 9153, protocol: "tcp", ip: "0.0.0.0" },
        ];
        expect(graph.get("svc-r0").inputs.ports).toEqual(ports);
        expect(result.ports).toEqual(ports);
        expect(publishing(graph)).toEqual(["svc-r0"]);
    });

    test("a host port nginx already publishes fails before anything of the Service exists; UDP on it does not", async () => {
        const cluster = (port: { internal: number; external: number; protocol?: "tcp" | "udp" }) => () => {
            const network = new TieredNetwork("net");
            const app = new AppServerPool("app", { network, image: "app:1", tiers: ["app"], replicas: 1 });
            new NginxLoadBalancer("web", { network, hostPort: 8080, routes: [{ path: "/", pool: app }] });
            return new Service("stats", { network, image: "statsd:1", ports: [port] });
        };
        const { message, names } = await rejection(cluster({ internal: 8125, external: 8080 }));
        expect(message).toBe(
            'Service "stats": ports[0].external 8080 is already published by NginxLoadBalancer "web" (hostPort); publish ports[0] on another host port or address',
        );
        expect(names.filter((n) => n.startsWith("stats"))).toEqual([]);

        const udp = await runProgram(cluster({ internal: 8125, external: 8080, protocol: "udp" }), PROJECT);
        expect(udp.graph.get("stats-r0").inputs.ports).toEqual([
            { internal: 8125, external: 8080, protocol: "udp", ip: "127.0.0.1" },
        ]);
    });

    test("two Services: a taken host port or host name is named with its owner", async () => {
        const { message } = await rejection(() => {
            const network = new TieredNetwork("net");
            new Service("a", { network, image: "x:1", ports: [{ internal: 6379, external: 6379 }] });
            new Service("b", { network, image: "x:1", aliases: ["a"], ports: [{ internal: 6379 }] });
        });
        expect(message.split("\n")).toEqual([
            'Service "b": aliases gives the host name "a", which Service "a" already answers to on tier "app"; set aliases (default: the Service\'s name) to host names no other container on those tiers uses',
            'Service "b": ports[0].external 6379 is already published by Service "a" (ports[0].external); publish ports[0] on another host port or address',
        ]);
    });

    test("health check: gated per container when given, and what depends on the Service waits for the gate", async () => {
        const { graph } = await runProgram(() => {
            const { network, svc } = service({
                image: "redis:7",
                replicas: 2,
                healthcheck: { test: ["CMD", "redis-cli", "ping"], interval: "1s" },
                healthTimeoutSeconds: 30,
            });
            return new AppServerPool("app", { network, image: "app:1", tiers: ["app"], startAfter: [svc] });
        }, PROJECT);
        expect(graph.get("svc-r0").inputs.healthcheck).toEqual({
            tests: ["CMD", "redis-cli", "ping"],
            interval: "1s",
            timeout: "3s",
            startPeriod: "1m0s",
            retries: 5,
        });
        for (const i of [0, 1]) {
            const gate = graph.get(`svc-r${i}-healthy`);
            expect(gate.type).toBe("pulumi-nodejs:dynamic/health:ContainerHealthGate");
            expect(gate.inputs).toMatchObject({ container: `shop-dev-svc-r${i}`, timeoutSeconds: 30 });
            expect(graph.dependsOn(`svc-r${i}-healthy`, `svc-r${i}`)).toBe(true);
            expect(graph.dependsOn("app-r0", `svc-r${i}-healthy`)).toBe(true);
        }

        const ungated = await runProgram(
            () => service({ image: "redis:7", healthcheck: { test: ["CMD", "true"] }, waitForHealthy: false }).svc,
            PROJECT,
        );
        expect(ungated.graph.has("svc-r0-healthy")).toBe(false);
        expect(ungated.graph.get("svc-r0").inputs.healthcheck.tests).toEqual(["CMD", "true"]);
    });

    test("startAfter: every container depends on the resources given (e.g. the database's bootstrap)", async () => {
        const { graph } = await runProgram(() => {
            const network = new TieredNetwork("net");
            const db = new PostgresCluster("db", { network, database: "shop" });
            return new Service("worker", {
                network,
                image: "worker:1",
                tiers: ["app", "db"],
                replicas: 2,
                startAfter: [db.bootstrap],
            });
        }, PROJECT);
        for (const r of ["worker-r0", "worker-r1"]) {
            expect(graph.dependencyNames(r)).toContain("db-bootstrap");
        }
    });

    test("resources and restart policy go to every container", async () => {
        const { graph } = await runProgram(
            () =>
                service({
                    image: "x:1",
                    replicas: 2,
                    resources: { memoryMb: 64, cpuShares: 512 },
                    restart: "on-failure",
                }).svc,
            PROJECT,
        );
        for (const r of ["svc-r0", "svc-r1"])
            expect(graph.get(r).inputs).toMatchObject({
                memory: 64,
                memorySwap: 64,
                cpuShares: 512,
                restart: "on-failure",
            });
    });

    test("every bad argument is reported at once, naming the argument and the fix, before any child exists", async () => {
        const { message, names } = await rejection(() =>
            service({
                image: "",
                replicas: 2,
                tiers: ["app", "mesh"],
                aliases: ["Bad_Name"],
                env: { "1X": "y" },
                ports: [{ internal: 70000, protocol: "sctp" as "tcp", ip: "localhost" }],
                volumes: [
                    { containerPath: "data" },
                    { name: "d", volume: "v", containerPath: "/x" },
                    { name: "d", containerPath: "/x" },
                ],
                waitForHealthy: true,
                healthTimeoutSeconds: 0,
            }),
        );
        const lines = message.split("\n");
        for (const expected of [
            'Service "svc": tiers names the unknown tier "mesh"; use one of the network\'s tiers: web, app, db',
            'Service "svc": aliases contains "Bad_Name", not a DNS label; use lower-case letters, digits and inner hyphens (at most 63 characters)',
            'Service "svc": image is empty; pass an image reference, e.g. "redis:7" or ServiceImage.ref',
            'Service "svc": env.1X is not a valid variable name; use letters, digits and underscores',
            'Service "svc": ports are published by a Service of several replicas, but a host port belongs to one container; set replicas: 1, or put the replicas behind a load balancer',
            'Service "svc": ports[0].internal is 70000, must be an integer from 1 to 65535; set ports[0].internal to a TCP port between 1 and 65535',
            'Service "svc": ports[0].protocol is "sctp"; use "tcp" or "udp", or leave it out ("tcp")',
            'Service "svc": ports[0].ip is "localhost", not a host address; use an IP address such as "127.0.0.1" (or "0.0.0.0" for every address), or leave it out ("127.0.0.1")',
            'Service "svc": volumes[0] names no source; set exactly one of name (a volume the Service creates), volume (an existing one) or hostPath',
            'Service "svc": volumes[0].containerPath is "data", not an absolute path; use an absolute path in the container, e.g. "/data"',
            'Service "svc": volumes[1] names more than one source; set exactly one of name (a volume the Service creates), volume (an existing one) or hostPath',
            'Service "svc": volumes[2].containerPath is "/x", already mounted by volumes[1]; mount each container path once',
            'Service "svc": volumes[2].name is "d" as volumes[1] is; name each volume once',
            'Service "svc": waitForHealthy is true without a healthcheck, so creation would wait for a health status that never comes; give a healthcheck, or leave waitForHealthy out',
            'Service "svc": healthTimeoutSeconds is 0, must be an integer from 1 to 3600; set healthTimeoutSeconds to a whole number of seconds from 1 to 3600, or leave it out (180)',
        ])
            expect(lines).toContain(expected);
        expect(names.filter((n) => n.startsWith("svc"))).toEqual([]);
    });

    test('a health check of ["NONE"] with waitForHealthy is refused; adopt takes one container only', async () => {
        const none = await rejection(() =>
            service({ image: "x:1", healthcheck: { test: ["NONE"] }, waitForHealthy: true }),
        );
        expect(none.message).toMatch(
            /healthcheck\.test is \["NONE"\] \(no health check\) while waitForHealthy is true/,
        );
        const adopt = await rejection(() => service({ image: "x:1", replicas: 2, adopt: { container: "old" } }));
        expect(adopt.message).toBe(
            'Service "svc": adopt takes over one container, but replicas is 2; adopt with replicas: 1, then scale in a later update',
        );
    });

    test("adopt: the one container keeps a hand-made container's Docker name and labels, aliased to the old root resources", async () => {
        const labels = { "dockercluster.component": "cache", "dockercluster.role": "cache" };
        const { graph } = await runProgram(
            () => service({ image: "memcached:1.6", adopt: { container: "memcached", labels } }, "cache").svc,
            PROJECT,
        );
        const c = graph.get("cache-r0");
        expect(c.inputs.name).toBe("shop-dev-memcached");
        expect(graph.labelsOf("cache-r0")).toEqual(labels);
        expect(c.aliases).toEqual([{ name: "memcached", noParent: true }]);
        expect(graph.get("cache-image").aliases).toEqual([{ name: "memcached-image", noParent: true }]);

        const fresh = await runProgram(() => service({ image: "memcached:1.6" }, "cache").svc, PROJECT);
        expect(fresh.graph.get("cache-r0").aliases).toEqual([]);
    });
});
