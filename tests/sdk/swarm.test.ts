/**
 * The network target (issue 14, first slice): `TieredNetwork({ target: "swarm" })` makes overlay networks, the
 * default "host" leaves every network as it was, and the components that have no swarm form yet refuse a swarm
 * network by name instead of building plain containers its services could not reach.
 */
import * as pulumi from "@pulumi/pulumi";
import {
    AppServerPool,
    AppServerPoolArgs,
    ArgumentError,
    NginxLoadBalancer,
    PostgresCluster,
    Service,
    ServiceDiscovery,
    TieredNetwork,
} from "../../sdk";
import { runProgram } from "../support/graph";

const refusal = (owner: string) =>
    new RegExp(
        `${owner}: network targets "swarm", which ${owner} does not support yet; ` +
            `use a TieredNetwork with target "host" \\(the default\\)`,
    );

async function failure(program: () => unknown): Promise<string> {
    const run = runProgram(program);
    await expect(run).rejects.toThrow(ArgumentError);
    return run.then(
        () => "",
        (e: Error) => e.message,
    );
}

describe("TieredNetwork target", () => {
    test('"swarm": every tier an overlay network, attachable, db internal; the target readable by components', async () => {
        const { graph, result } = await runProgram(() => new TieredNetwork("net", { target: "swarm" }), {
            project: "shop",
            stack: "dev",
        });
        expect(result.target).toBe("swarm");
        for (const tier of ["web", "app", "db"]) {
            const n = graph.get(`net-${tier}`);
            expect(n.type).toBe("docker:index/network:Network");
            expect(n.inputs.name).toBe(`shop-dev-net-${tier}`);
            expect(n.inputs.driver).toBe("overlay");
            expect(n.inputs.attachable).toBe(true);
            expect(n.inputs.internal).toBe(tier === "db");
        }
    });

    test('"swarm": attachable can be switched off per tier; attachService gives the service attachments', async () => {
        const { graph, result } = await runProgram(() => {
            const n = new TieredNetwork("n", {
                target: "swarm",
                tiers: { app: {}, db: { internal: true, attachable: false } },
            });
            return { n, att: n.attachService(["db"], ["postgres"]) };
        });
        expect(graph.get("n-db").inputs.attachable).toBe(false);
        expect(graph.get("n-app").inputs.attachable).toBe(true);
        expect(result.att).toHaveLength(1);
        expect(result.att[0].aliases).toEqual(["postgres"]);
        expect(() => result.n.attachService(["web"], [])).toThrow(/unknown tier "web"; use one of: app, db/);
    });

    test('the default "host" keeps bridge networks with exactly the inputs they had (no attachable)', async () => {
        const implicit = await runProgram(() => new TieredNetwork("net"), { project: "shop", stack: "dev" });
        const explicit = await runProgram(() => new TieredNetwork("net", { target: "host" }), {
            project: "shop",
            stack: "dev",
        });
        expect(implicit.result.target).toBe("host");
        for (const tier of ["web", "app", "db"]) {
            const inputs = implicit.graph.get(`net-${tier}`).inputs;
            expect(Object.keys(inputs).sort()).toEqual(["driver", "internal", "labels", "name"]);
            expect(inputs.driver).toBe("bridge");
            expect(explicit.graph.get(`net-${tier}`).inputs).toEqual(inputs);
        }
    });

    test("settings without meaning on a target are refused, naming the argument and the fix", async () => {
        const bridgeInSwarm = await failure(
            () => new TieredNetwork("net", { target: "swarm", tiers: { app: { driver: "bridge" } } }),
        );
        expect(bridgeInSwarm).toMatch(
            /TieredNetwork "net": tiers.app.driver is "bridge", but a swarm's services join only overlay networks; leave it out/,
        );
        const attachableOnHost = await failure(
            () => new TieredNetwork("net", { tiers: { app: { attachable: true } } }),
        );
        expect(attachableOnHost).toMatch(
            /tiers.app.attachable has no meaning with target "host" \(bridge networks are always attachable\); leave it out, or set target: "swarm"/,
        );
        const unknown = await failure(() => new TieredNetwork("net", { target: "kubernetes" as unknown as "host" }));
        expect(unknown).toMatch(/TieredNetwork "net": target is "kubernetes"; use one of "host", "swarm"/);
    });
});

describe("AppServerPool on a swarm network", () => {
    const swarmPool = (extra: Partial<AppServerPoolArgs> = {}) => {
        const network = new TieredNetwork("net", { target: "swarm" });
        const gate = new TieredNetwork("other"); // stands for the bootstrap the pool must start after
        const pool = new AppServerPool("app", {
            network,
            image: "sha256:appimage",
            replicas: 3,
            updateBatchSize: 2,
            env: { GREETING: "hi" },
            command: ["serve", "--fast"],
            secretFiles: {
                "api-key": { value: pulumi.secret("k3y-value"), env: "API_KEY_FILE", mode: "0400", owner: 10001 },
            },
            startAfter: [gate],
            ...extra,
        });
        return { network, pool };
    };

    test("one service with N replicas, dnsrr on its tiers, start-first rolling update with rollback, after startAfter", async () => {
        const { graph, result } = await runProgram(() => swarmPool(), { project: "shop", stack: "dev" });
        const own = Object.entries(graph.shape()).filter(([n]) => n === "app" || n.startsWith("app-"));
        expect(Object.fromEntries(own)).toEqual({
            app: "dockercluster:app:AppServerPool",
            "app-service": "docker:index/service:Service",
            "app-secret-api-key": "docker:index/secret:Secret",
            "app-secret-api-key-id": "random:index/randomId:RandomId",
        });
        expect(graph.containers()).toEqual([]);
        const svc = graph.get("app-service");
        expect(graph.parentName("app-service")).toBe("app");
        expect(svc.inputs.name).toBe("shop-dev-app");
        expect(svc.inputs.mode).toEqual({ replicated: { replicas: 3 } });
        expect(svc.inputs.endpointSpec).toEqual({ mode: "dnsrr" });
        expect(svc.inputs.updateConfig).toEqual({ parallelism: 2, order: "start-first", failureAction: "rollback" });
        expect(svc.inputs.rollbackConfig).toEqual({ parallelism: 2, order: "start-first", failureAction: "pause" });
        expect(svc.inputs.convergeConfig).toEqual({ delay: "1s", timeout: "180s" });
        const task = svc.inputs.taskSpec;
        expect(task.networksAdvanceds.map((n: { name: string; aliases: string[] }) => [n.name, n.aliases])).toEqual([
            ["shop-dev-net-app", ["app"]],
            ["shop-dev-net-db", ["app"]],
        ]);
        expect(task.containerSpec.image).toBe("sha256:appimage");
        expect(task.containerSpec.args).toEqual(["serve", "--fast"]);
        expect(task.containerSpec.commands).toBeUndefined();
        expect(task.containerSpec.healthcheck.tests[0]).toBe("CMD-SHELL");
        expect(task.containerSpec.stopGracePeriod).toBe("10s");
        expect(task.containerSpec.env).toEqual({
            GREETING: "hi",
            PORT: "8000",
            APP_CONFIG_DIR: "/etc/app",
            CONTENT_DIR: "/srv/content",
            INSTANCE: "app-{{.Task.Slot}}",
            API_KEY_FILE: "/run/secrets/api-key",
        });
        // A component in dependsOn stands for its children.
        expect(graph.dependencyNames("app-service")).toEqual(expect.arrayContaining(["other-web", "other-db"]));
        expect(result.pool.upstreamServers).toEqual([{ host: "app", port: 8000 }]);
        expect(result.pool.service).toBeDefined();
    });

    test("secret files: a swarm secret each (value secret, never in the env), mounted with mode and owner", async () => {
        const { graph } = await runProgram(() => swarmPool(), { project: "shop", stack: "dev" });
        const secret = graph.get("app-secret-api-key");
        expect(Buffer.from(secret.inputs.data, "base64").toString()).toBe("k3y-value");
        expect(secret.secretInputs.has("data")).toBe(true);
        // The random suffix is renewed with the value (a swarm secret cannot change), so it is keyed on it, secretly.
        expect(graph.get("app-secret-api-key-id").secretInputs.has("keepers")).toBe(true);
        const [mount] = graph.get("app-service").inputs.taskSpec.containerSpec.secrets;
        expect(mount).toMatchObject({
            fileName: "/run/secrets/api-key",
            fileMode: 0o400,
            fileUid: "10001",
            fileGid: "0",
        });
        expect(JSON.stringify(graph.get("app-service").inputs)).not.toContain("k3y-value");
    });

    test("waitForHealthy: false leaves out the convergence wait; appContract: false injects nothing", async () => {
        const { graph } = await runProgram(() =>
            swarmPool({ appContract: false, waitForHealthy: false, secretFiles: undefined, env: { A: "1" } }),
        );
        const svc = graph.get("app-service");
        expect(svc.inputs.convergeConfig).toBeUndefined();
        expect(svc.inputs.taskSpec.containerSpec.env).toEqual({ A: "1" });
        expect(svc.inputs.taskSpec.containerSpec.healthcheck).toBeUndefined();
    });

    test("arguments with no swarm form yet are refused, each named, nothing registered", async () => {
        const message = await failure(() =>
            swarmPool({
                replicaNames: ["a", "b"],
                configFiles: { "app.json": "{}" },
                volumes: [{ name: "data", containerPath: "/data" }],
                ports: [{ internal: 53, protocol: "udp" }],
                restart: "always",
                logging: { driver: "local" },
            }),
        );
        for (const arg of ["replicaNames", "configFiles", "volumes", "ports", "restart", "logging"])
            expect(message).toContain(
                `AppServerPool "app": ${arg} has no swarm form yet (the network's target is "swarm"); leave it out, or use a TieredNetwork with target "host"`,
            );
    });
});

describe("components on a swarm network (no swarm form yet)", () => {
    test("each refuses it under `network`, before any child exists", async () => {
        const swarm = () => new TieredNetwork("net", { target: "swarm" });
        expect(await failure(() => new PostgresCluster("db", { network: swarm() }))).toMatch(
            refusal('PostgresCluster "db"'),
        );
        expect(await failure(() => new Service("cache", { network: swarm(), image: "redis:7" }))).toMatch(
            refusal('Service "cache"'),
        );
        expect(await failure(() => new ServiceDiscovery("sd", { network: swarm() }))).toMatch(
            refusal('ServiceDiscovery "sd"'),
        );
        const lb = await failure(() => {
            const network = swarm();
            const app = new AppServerPool("app", { network, image: "i" });
            return new NginxLoadBalancer("web", { network, routes: [{ path: "/", pool: app }] });
        });
        expect(lb).toMatch(refusal('NginxLoadBalancer "web"'));
    });

    test("nothing is registered under the refused component", async () => {
        let names: string[] = [];
        await runProgram(() => {
            new TieredNetwork("net", { target: "swarm" });
            try {
                new PostgresCluster("db", { network: new TieredNetwork("n2", { target: "swarm" }) });
            } catch {
                // expected: refused
            }
        }).then(({ graph }) => (names = Object.keys(graph.shape())));
        expect(names.filter((n) => n === "db" || n.startsWith("db-"))).toEqual([]);
    });
});
