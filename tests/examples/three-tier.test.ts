import * as path from "path";
import * as threeTierProgram from "../../examples/three-tier/cluster";
import threeTierIndex = require("../../examples/three-tier");
import { AppServerPool, ArgumentError } from "../../sdk";
import { peek, publishing, runProgram } from "../support/graph";
import { dockerObjectNames, projectFile, REPO, schemaDefaults, stackConfig } from "../support/examples";

const DIR = path.join(REPO, "examples", "three-tier");
type Config = threeTierProgram.Config;
/** As the bring-up tests run it: prebuilt local images. */
const cfg = (over: Partial<Config> = {}): Config => ({ ...threeTierProgram.defaults, buildAppImage: false, ...over });

describe("examples/three-tier", () => {
    test("Pulumi.yaml: nodejs program with a typed config schema whose defaults are the program's", () => {
        const p = projectFile(DIR);
        expect(p).toMatchObject({ name: "three-tier", runtime: "nodejs", main: "index.ts" });
        for (const v of Object.values(p.config)) expect(["integer", "string", "boolean"]).toContain(v.type);
        const { dbAdminPassword: _secret, ...defaults } = threeTierProgram.defaults as Config & {
            dbAdminPassword?: unknown;
        };
        expect(schemaDefaults(DIR)).toEqual(defaults);
    });

    test("exact graph", async () => {
        const { graph } = await runProgram(() => threeTierProgram.threeTier(cfg()), {
            project: "three-tier",
            stack: "dev",
        });
        expect(graph.shape()).toEqual({
            app: "dockercluster:app:AppServerPool",
            "app-config": "docker:index/volume:Volume",
            "app-content": "docker:index/volume:Volume",
            "app-files": "docker:index/container:Container",
            "app-image": "dockercluster:image:ServiceImage",
            "app-image-image": "docker:index/remoteImage:RemoteImage",
            "app-r0": "docker:index/container:Container",
            "app-r1": "docker:index/container:Container",
            "app-r0-healthy": "pulumi-nodejs:dynamic/health:ContainerHealthGate",
            "app-r1-healthy": "pulumi-nodejs:dynamic/health:ContainerHealthGate",
            db: "dockercluster:postgres:PostgresCluster",
            "db-admin": "docker:index/network:Network",
            "db-admin-password": "random:index/randomPassword:RandomPassword",
            "db-app-password": "random:index/randomPassword:RandomPassword",
            "db-bootstrap": "pulumi-nodejs:dynamic/postgres:Bootstrap",
            "db-data": "docker:index/volume:Volume",
            "db-image": "docker:index/remoteImage:RemoteImage",
            "db-server": "docker:index/container:Container",
            net: "dockercluster:network:TieredNetwork",
            "net-appdb": "docker:index/network:Network",
            "net-webapp": "docker:index/network:Network",
            web: "dockercluster:loadbalancer:NginxLoadBalancer",
            "web-config": "docker:index/volume:Volume",
            "web-files": "docker:index/container:Container",
            "web-gate-token": "random:index/randomPassword:RandomPassword",
            "web-secrets": "docker:index/container:Container",
            "web-image": "docker:index/remoteImage:RemoteImage",
            "web-nginx": "docker:index/container:Container",
            "web-ready": "pulumi-nodejs:dynamic/readiness:HttpReadiness",
        });
        expect(graph.get("app-image-image").inputs.name).toBe("pdc-example/three-tier-app:latest");
        expect(graph.get("db-image").inputs.name).toBe("postgres:15-bookworm");
        expect(graph.get("web-image").inputs.name).toBe("nginx:stable-bookworm");
        for (const top of ["net", "app-image", "db", "app", "web"]) expect(graph.parentName(top)).toBe("");
    });

    test("two networks: web on webapp, app on both, db on appdb (internal); web cannot reach db", async () => {
        const { graph } = await runProgram(() => threeTierProgram.threeTier(cfg()), {
            project: "three-tier",
            stack: "dev",
        });
        const webapp = "three-tier-dev-net-webapp";
        const appdb = "three-tier-dev-net-appdb";
        expect(graph.get("net-appdb").inputs.internal).toBe(true);
        expect(graph.get("net-webapp").inputs.internal).toBe(false);
        expect(graph.networksOf("web-nginx")).toEqual([webapp]);
        expect(graph.networksOf("app-r0")).toEqual([appdb, webapp]);
        expect(graph.networksOf("db-server")).toEqual(["three-tier-dev-db-admin", appdb]);
        expect(graph.networksOf("db-server").filter((n) => graph.networksOf("web-nginx").includes(n))).toEqual([]);
        expect(publishing(graph)).toEqual(["web-nginx"]);
        expect(graph.get("web-nginx").inputs.ports).toEqual([{ internal: 80, external: 8080, ip: "0.0.0.0" }]);
    });

    test("order: db server -> bootstrap (greeting migration) -> app replicas -> nginx", async () => {
        const { graph } = await runProgram(() => threeTierProgram.threeTier(cfg()));
        expect(graph.dependsOn("db-bootstrap", "db-server")).toBe(true);
        for (const r of ["app-r0", "app-r1"]) {
            expect(graph.dependsOn(r, "db-bootstrap")).toBe(true);
            expect(graph.dependsOn("web-nginx", r)).toBe(true);
        }
        const sets = graph.get("db-bootstrap").inputs.migrationSets as {
            name: string;
            files: Record<string, unknown>;
        }[];
        expect(sets.map((s) => s.name)).toEqual(["app"]);
        expect(Object.keys(sets[0].files)).toEqual(["V1__greeting.sql"]);
    });

    test("apps get the app role's URL, never the owner password; secrets stay secret", async () => {
        const { graph, result } = await runProgram(() => threeTierProgram.threeTier(cfg()));
        for (const r of ["app-r0", "app-r1"]) {
            expect(graph.envOf(r).DATABASE_URL).toBe("postgresql://app:pw-db-app-password@postgres:5432/app");
            expect(JSON.stringify(graph.get(r).inputs)).not.toContain("pw-db-admin-password");
            expect(graph.get(r).secretInputs.has("envs")).toBe(true);
        }
        expect((await peek(result.outputs.databaseUrl)).secret).toBe(true);
    });

    test("replicas 2 -> 3 adds exactly app-r2; nothing else changes but nginx's config", async () => {
        const two = await runProgram(() => threeTierProgram.threeTier(cfg({ replicas: 2 })));
        const three = await runProgram(() => threeTierProgram.threeTier(cfg({ replicas: 3 })));
        expect(three.graph.names().filter((n) => !two.graph.names().includes(n))).toEqual(["app-r2", "app-r2-healthy"]);
        const changed = two.graph
            .names()
            .filter((n) => JSON.stringify(two.graph.get(n).inputs) !== JSON.stringify(three.graph.get(n).inputs));
        // nginx itself is untouched: a new config (the files container) and the readiness gate waiting for its reload.
        expect(changed).toEqual(["web-files", "web-ready"]);
    });

    test("dev and prod stacks on one Docker host have disjoint container, volume and network names", async () => {
        const dev = await runProgram(() => threeTierProgram.threeTier(cfg()), { project: "three-tier", stack: "dev" });
        const prod = await runProgram(() => threeTierProgram.threeTier(cfg()), {
            project: "three-tier",
            stack: "prod",
        });
        const a = dockerObjectNames(dev.graph);
        expect(a.filter((n) => dockerObjectNames(prod.graph).includes(n))).toEqual([]);
    });

    test("index program: reads Pulumi.dev.yaml / Pulumi.prod.yaml (replicas, port, protection) and a secret password", async () => {
        const dev = await runProgram(() => threeTierIndex(), {
            project: "three-tier",
            stack: "dev",
            config: stackConfig(DIR, "dev", { buildAppImage: "false" }),
        });
        expect(dev.graph.names().filter((n) => /^app-r\d$/.test(n))).toEqual(["app-r0", "app-r1"]);
        expect(dev.graph.get("web-nginx").inputs.ports[0].external).toBe(8080);
        expect(dev.graph.get("db-data").protect).toBe(false);

        const prodConfig = stackConfig(DIR, "prod", { dbAdminPassword: "s3cret-from-config" });
        const prod = await runProgram(() => threeTierIndex(), {
            project: "three-tier",
            stack: "prod",
            config: prodConfig,
            secretKeys: ["three-tier:dbAdminPassword"],
        });
        expect(prod.graph.names().filter((n) => /^app-r\d$/.test(n))).toEqual(["app-r0", "app-r1", "app-r2"]);
        expect(prod.graph.get("web-nginx").inputs.ports[0].external).toBe(80);
        expect(prod.graph.get("db-data").protect).toBe(true);
        expect(prod.graph.get("app-r0").inputs.memory).toBe(512);
        expect(prod.graph.has("db-admin-password")).toBe(false);
        expect(prod.graph.envOf("db-server").POSTGRES_PASSWORD).toBeUndefined();
        expect(prod.graph.get("db-server").inputs.uploads.map((u: { content: string }) => u.content)).toContain(
            "s3cret-from-config",
        );
        expect(prod.graph.get("db-server").secretInputs.has("uploads")).toBe(true);
        expect(prod.graph.get("db-bootstrap").secretInputs.has("connection")).toBe(true);
        // Default: the image is built from the example's own Dockerfile.
        expect(prod.graph.get("app-image-image").type).toBe("docker:index/remoteImage:RemoteImage");
        expect(prod.graph.get("app-image-image").inputs.build).toBeDefined();
        expect(prod.graph.get("app-image-image").inputs.build.context).toBe(path.join(DIR, "app"));
    });

    test("target swarm: the same program as services, Postgres and nginx pinned to swarmNode, the URL a secret file", async () => {
        const { graph } = await runProgram(
            () => threeTierProgram.threeTier(cfg({ target: "swarm", swarmNode: "node-1", adminAddress: "10.0.0.5" })),
            { project: "three-tier", stack: "dev" },
        );
        const kinds = (type: string) =>
            Object.entries(graph.shape())
                .filter(([, t]) => t === type)
                .map(([n]) => n)
                .sort();
        expect(kinds("docker:index/service:Service")).toEqual(["app-service", "db-server", "web-service"]);
        // The only plain container: the database's admin proxy, the bootstrap's way in.
        expect(kinds("docker:index/container:Container")).toEqual(["db-admin-proxy"]);
        for (const net of ["net-webapp", "net-appdb"]) expect(graph.get(net).inputs.driver).toBe("overlay");
        expect(graph.get("net-appdb").inputs.internal).toBe(true);
        for (const svc of ["db-server", "web-service"])
            expect(graph.get(svc).inputs.taskSpec.placement.constraints).toEqual(["node.hostname == node-1"]);
        expect(graph.get("db-admin-proxy").inputs.ports).toEqual([
            expect.objectContaining({ internal: 5432, external: 15432, ip: "10.0.0.5" }),
        ]);
        const app = graph.get("app-service").inputs.taskSpec.containerSpec;
        // The image every node can pull: its repository digest (the mocks give one), not the manager's image ID.
        expect(app.image).toBe("pdc-example/three-tier-app:latest@sha256:app-image-image");
        expect(app.env.DATABASE_URL).toBeUndefined();
        expect(app.env.DATABASE_URL_FILE).toMatch(/^\/run\/secrets\//);
        // nginx publishes the only port, in host mode on its node.
        expect(graph.get("web-service").inputs.endpointSpec.ports).toEqual([
            expect.objectContaining({ publishedPort: 8080, publishMode: "host" }),
        ]);
        expect(graph.get("app-service").inputs.endpointSpec.ports).toBeUndefined();
    });

    test("bad config fails with a clear message before any resource is registered", async () => {
        for (const [over, msg] of [
            [
                { replicas: 0 },
                /three-tier config "dev": replicas is 0, must be an integer from 1 to 100; run `pulumi config set replicas <1..100>`/,
            ],
            [{ webPort: 15432, adminHostPort: 15432 }, /adminHostPort is 15432, the same host port as webPort/],
            [{ webPort: 70000 }, /webPort is 70000, must be an integer from 1 to 65535/],
            [{ target: "k8s" }, /target is "k8s", must be "host" or "swarm"; run `pulumi config set target host`/],
            [
                { target: "swarm" },
                /swarmNode is not set, and the swarm target needs it; run `pulumi config set swarmNode "\$\(docker info/,
            ],
            [
                { swarmNode: "n1" },
                /swarmNode is set, but it is only for target "swarm"; run `pulumi config rm swarmNode`/,
            ],
        ] as const) {
            const { graph, result } = await runProgram(
                () => {
                    try {
                        threeTierProgram.threeTier(cfg(over));
                    } catch (e) {
                        return e;
                    }
                    return undefined;
                },
                { project: "three-tier", stack: "dev" },
            );
            expect(result).toBeInstanceOf(ArgumentError);
            expect((result as Error).message).toMatch(msg);
            expect(graph.resources).toEqual([]);
        }
    });

    test("the components' own checks still apply when the program is driven another way", async () => {
        const run = runProgram(() => {
            const p = threeTierProgram.threeTier(cfg());
            return new AppServerPool("extra", { network: p.network, image: "img", tiers: ["webapp", "public"] });
        });
        await expect(run).rejects.toThrow(
            /AppServerPool "extra": tiers names the unknown tier "public"; use one of the network's tiers: webapp, appdb/,
        );
    });
});
