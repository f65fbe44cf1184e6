/**
 * The network target (issue 14, first slice): `TieredNetwork({ target: "swarm" })` makes overlay networks, the
 * default "host" leaves every network as it was, and the components that have no swarm form yet refuse a swarm
 * network by name instead of building plain containers its services could not reach.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import {
    AppServerPool,
    AppServerPoolArgs,
    ArgumentError,
    NginxLoadBalancer,
    NginxLoadBalancerArgs,
    PostgresCluster,
    PostgresClusterArgs,
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
                volumes: [{ name: "data", containerPath: "/data" }],
                ports: [{ internal: 53, protocol: "udp" }],
                container: { user: "app" },
            }),
        );
        for (const arg of ["replicaNames", "volumes", "ports", "container"])
            expect(message).toContain(
                `AppServerPool "app": ${arg} has no swarm form yet (the network's target is "swarm"); leave it out, or use a TieredNetwork with target "host"`,
            );
        // Those the swarm form takes are not among them.
        for (const arg of ["configFiles", "contentFiles", "resources", "restart", "logging"])
            expect(message).not.toContain(`${arg} has no swarm form`);
    });

    /** The first 12 hex digits of sha256 over role/path, NUL, bytes, NUL: a shared file's config digest. */
    const fileDigest = (role: string, p: string, text: string) =>
        createHash("sha256").update(`${role}/${p}\u0000${text}\u0000`).digest("hex").slice(0, 12);

    test("config and content files: a swarm config each, named by its digest, mounted where the host form puts them", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pdc-swarm-content-"));
        fs.mkdirSync(path.join(dir, "locale"));
        fs.writeFileSync(path.join(dir, "locale", "en.json"), '{"hello":"Hello"}');
        fs.writeFileSync(path.join(dir, "locale", "fr.json"), '{"hello":"Bonjour"}');
        const { graph, result } = await runProgram(
            () =>
                swarmPool({
                    configFiles: { "app.json": "{}\n", "conf/extra.ini": "{}\n" },
                    contentDirectory: dir,
                    contentFiles: { "locale/fr.json": '{"hello":"Salut"}' },
                }),
            { project: "shop", stack: "dev" },
        );
        const files: [string, string, string][] = [
            ["config", "app.json", "{}\n"],
            ["config", "conf/extra.ini", "{}\n"],
            ["content", "locale/en.json", '{"hello":"Hello"}'],
            ["content", "locale/fr.json", '{"hello":"Salut"}'], // the inline text over the directory's
        ];
        const mounts = graph.get("app-service").inputs.taskSpec.containerSpec.configs;
        expect(mounts).toHaveLength(4);
        files.forEach(([role, p, text], i) => {
            const config = graph.get(`app-${role}-${p}`);
            expect(config.type).toBe("docker:index/serviceConfig:ServiceConfig");
            expect(graph.parentName(`app-${role}-${p}`)).toBe("app");
            const name = `shop-dev-app-${role}-${p.replace("/", "-")}-${fileDigest(role, p, text)}`;
            expect(config.inputs.name).toBe(name);
            expect(Buffer.from(config.inputs.data, "base64").toString()).toBe(text);
            expect(result.pool.swarmConfigs[`${role}/${p}`]).toBeDefined();
            // The host form's paths, and its uploads' mode and owner (0644, root), in path order.
            expect(mounts[i]).toMatchObject({
                configName: name,
                fileName: `${role === "config" ? "/etc/app" : "/srv/content"}/${p}`,
                fileMode: 0o644,
                fileUid: "0",
                fileGid: "0",
            });
            expect(graph.dependencyNames("app-service")).toContain(`app-${role}-${p}`);
        });
        // One text in two files: two configs, each with its own name.
        expect(graph.get("app-config-app.json").inputs.name).not.toBe(
            graph.get("app-config-conf/extra.ini").inputs.name,
        );
        // The app contract's variables point at the directories the files are mounted in.
        expect(graph.get("app-service").inputs.taskSpec.containerSpec.env).toMatchObject({
            APP_CONFIG_DIR: "/etc/app",
            CONTENT_DIR: "/srv/content",
        });
    });

    test("a changed file renames its config only (a new config the service moves to); no files, no configs", async () => {
        const names = async (text: string) => {
            const { graph } = await runProgram(() => swarmPool({ configFiles: { "a.json": text, "b.json": "b" } }));
            return [graph.get("app-config-a.json").inputs.name, graph.get("app-config-b.json").inputs.name];
        };
        const [a1, b1] = await names("one");
        const [a2, b2] = await names("two");
        expect(a2).not.toBe(a1);
        expect(b2).toBe(b1);
        const { graph } = await runProgram(() => swarmPool());
        expect(graph.ofType("docker:index/serviceConfig:ServiceConfig")).toEqual([]);
        expect(graph.get("app-service").inputs.taskSpec.containerSpec.configs).toBeUndefined();
    });

    test("a long pool name keeps its config names within swarm's 64 characters, the digest whole", async () => {
        const { graph } = await runProgram(
            () =>
                new AppServerPool("a-very-long-pool-name-for-configs", {
                    network: new TieredNetwork("net", { target: "swarm" }),
                    image: "i",
                    configFiles: { "some/deeply/nested/settings-file.json": "{}" },
                }),
            { project: "a-long-project-name", stack: "staging" },
        );
        const name: string = graph.get("a-very-long-pool-name-for-configs-config-some/deeply/nested/settings-file.json")
            .inputs.name;
        expect(name).toBe(
            `a-long-project-name-staging-a-very-long-pool-name-f-${fileDigest("config", "some/deeply/nested/settings-file.json", "{}")}`,
        );
        expect(name).toHaveLength(64);
    });

    test("files swarm cannot hold are refused, naming where each came from; the host form takes them", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pdc-swarm-config-"));
        fs.writeFileSync(path.join(dir, "big.bin"), Buffer.alloc(1024000));
        const message = await failure(() =>
            swarmPool({ configDirectory: dir, contentFiles: { "empty.txt": "", "ok.txt": "x" } }),
        );
        expect(message).toContain(
            `configDirectory's file "big.bin" is 1024000 bytes; a swarm config holds 1 to 1023999; bake large files into the image instead`,
        );
        expect(message).toContain(
            'contentFiles["empty.txt"] is 0 bytes; a swarm config holds 1 to 1023999; give the file some content (a newline will do) or leave it out',
        );
        expect(message).not.toContain("ok.txt");
        // The host form's own checks still apply on swarm.
        expect(await failure(() => swarmPool({ configFiles: { "../x": "1" } }))).toContain(
            'configFiles["../x"] is not a safe relative path',
        );
        await expect(
            runProgram(
                () => new AppServerPool("app", { network: new TieredNetwork("net"), image: "i", configDirectory: dir }),
            ),
        ).resolves.toBeDefined();
    });

    test("resources, restart and logging: the task's memory limit, restart condition and log driver", async () => {
        const defaults = (await runProgram(() => swarmPool())).graph.get("app-service").inputs.taskSpec;
        // The host form's defaults: rotated json-file logs, restarted whatever the exit ("unless-stopped"), no limit.
        expect(defaults.logDriver).toEqual({ name: "json-file", options: { "max-size": "10m", "max-file": "3" } });
        expect(defaults.restartPolicy).toEqual({ condition: "any", delay: "5s", maxAttempts: 0, window: "0s" });
        expect(defaults.resources).toBeUndefined();
        const given = (
            await runProgram(() =>
                swarmPool({
                    resources: { memoryMb: 256 },
                    restart: "on-failure",
                    logging: { options: { "max-size": "50m" } },
                }),
            )
        ).graph.get("app-service").inputs.taskSpec;
        expect(given.resources).toEqual({ limits: { memoryBytes: 256 * 1024 * 1024 } });
        expect(given.restartPolicy.condition).toBe("on-failure");
        expect(given.logDriver).toEqual({ name: "json-file", options: { "max-size": "50m", "max-file": "3" } });
        const other = (await runProgram(() => swarmPool({ restart: "no", logging: { driver: "local" } }))).graph.get(
            "app-service",
        ).inputs.taskSpec;
        expect(other.restartPolicy.condition).toBe("none");
        expect(other.logDriver).toEqual({ name: "local" });
        expect(
            (await runProgram(() => swarmPool({ restart: "always" }))).graph.get("app-service").inputs.taskSpec
                .restartPolicy.condition,
        ).toBe("any");
    });

    test("durations in the form the provider reads a service back (else every up updates it); no env, no env key", async () => {
        const pool = (await runProgram(() => swarmPool())).graph.get("app-service").inputs.taskSpec.containerSpec;
        expect(pool.healthcheck).toMatchObject({ interval: "2s", timeout: "3s", startPeriod: "1m", retries: 5 });
        const custom = (
            await runProgram(() =>
                swarmPool({ healthcheck: { test: ["CMD", "true"], interval: "90s", startPeriod: "3600s" } }),
            )
        ).graph.get("app-service").inputs.taskSpec.containerSpec;
        expect(custom.healthcheck).toMatchObject({ interval: "1m30s", startPeriod: "1h" });
        const db = (
            await runProgram(
                () =>
                    new PostgresCluster("db", {
                        network: new TieredNetwork("net", { target: "swarm" }),
                        swarmNode: "node-1",
                    }),
            )
        ).graph.get("db-server").inputs.taskSpec.containerSpec;
        expect(db.healthcheck.startPeriod).toBe("2m");
        const bare = (
            await runProgram(() => swarmPool({ appContract: false, secretFiles: undefined, env: undefined }))
        ).graph.get("app-service").inputs.taskSpec.containerSpec;
        expect(bare.env).toBeUndefined();
    });

    test("resources are checked as on the host; cpuShares, a relative weight swarm has not, is refused", async () => {
        const message = await failure(() => swarmPool({ resources: { memoryMb: 2, cpuShares: 512 } }));
        expect(message).toContain("resources.memoryMb");
        expect(message).toContain(
            "resources.cpuShares has no swarm form (a swarm task has no relative CPU weight); leave it out on a swarm network (resources.memoryMb is taken)",
        );
    });
});

describe("PostgresCluster on a swarm network", () => {
    const swarmDb = (extra: Partial<PostgresClusterArgs> = {}) => {
        const network = new TieredNetwork("net", { target: "swarm" });
        const db = new PostgresCluster("db", {
            network,
            swarmNode: "node-1",
            adminPassword: pulumi.secret("adm1n-pw"),
            appPassword: pulumi.secret("app-pw"),
            ...extra,
        });
        return { network, db };
    };

    test("one pinned single-replica service, stop-first, with its volume, configs and the admin password secret", async () => {
        const { graph, result } = await runProgram(() => swarmDb({ stopTimeout: 45 }), {
            project: "shop",
            stack: "dev",
        });
        const own = Object.entries(graph.shape()).filter(([n]) => n === "db" || n.startsWith("db-"));
        expect(Object.fromEntries(own)).toEqual({
            db: "dockercluster:postgres:PostgresCluster",
            "db-data": "docker:index/volume:Volume",
            "db-admin": "docker:index/network:Network",
            "db-hba": "docker:index/serviceConfig:ServiceConfig",
            "db-entrypoint": "docker:index/serviceConfig:ServiceConfig",
            "db-admin-password-id": "random:index/randomId:RandomId",
            "db-admin-password": "docker:index/secret:Secret",
            "db-server": "docker:index/service:Service",
            "db-admin-proxy": "docker:index/container:Container",
            "db-bootstrap": "pulumi-nodejs:dynamic/postgres:Bootstrap",
        });
        expect(result.db.container).toBeUndefined();
        const svc = graph.get("db-server");
        expect(svc.inputs.name).toBe("shop-dev-db-server");
        expect(svc.inputs.mode).toEqual({ replicated: { replicas: 1 } });
        expect(svc.inputs.updateConfig).toEqual({ parallelism: 1, order: "stop-first", failureAction: "pause" });
        const task = svc.inputs.taskSpec;
        expect(task.placement.constraints).toEqual(["node.hostname == node-1"]);
        expect(task.networksAdvanceds.map((n: { name: string; aliases: string[] }) => [n.name, n.aliases])).toEqual([
            ["shop-dev-net-db", ["postgres"]],
            ["shop-dev-db-admin", ["postgres"]],
        ]);
        const spec = task.containerSpec;
        expect(spec.image).toBe("postgres:15-bookworm");
        expect(spec.stopSignal).toBe("SIGINT");
        expect(spec.stopGracePeriod).toBe("45s");
        expect(spec.mounts).toEqual([
            { type: "volume", source: "shop-dev-db-data", target: "/var/lib/postgresql/data" },
        ]);
        expect(spec.env.POSTGRES_PASSWORD_FILE).toBe("/run/secrets/pdc-postgres-admin-password");
        expect(spec.env.POSTGRES_PASSWORD).toBeUndefined();
        expect(spec.secrets).toEqual([
            expect.objectContaining({
                fileName: "/run/secrets/pdc-postgres-admin-password",
                fileMode: 0o400,
                fileUid: "999",
                fileGid: "999",
            }),
        ]);
        expect(JSON.stringify(svc.inputs)).not.toContain("adm1n-pw");
        const secret = graph.get("db-admin-password");
        expect(secret.secretInputs.has("data")).toBe(true);
        expect(Buffer.from(secret.inputs.data, "base64").toString()).toBe("adm1n-pw");
        // The swarm wrapper has no chown (the secret is read-only and already the postgres user's).
        const entry = Buffer.from(graph.get("db-entrypoint").inputs.data, "base64").toString();
        expect(entry).toContain("ALTER ROLE");
        expect(entry).not.toContain("chown");
        expect(graph.get("db-entrypoint").inputs.name).toMatch(/^shop-dev-db-entrypoint-[0-9a-f]{8}$/);
        const volume = graph.get("db-data");
        expect(volume.retainOnDelete).toBe(true);
    });

    test("admin proxy: on the admin overlay only, published on adminAddress; the bootstrap connects there after it", async () => {
        const { graph } = await runProgram(() => swarmDb({ adminAddress: "10.213.0.2", adminHostPort: 25432 }), {
            project: "shop",
            stack: "dev",
        });
        const admin = graph.get("db-admin").inputs;
        expect(admin).toMatchObject({ driver: "overlay", attachable: true, internal: false });
        const proxy = graph.get("db-admin-proxy").inputs;
        expect(proxy.networksAdvanced).toEqual([{ name: "shop-dev-db-admin" }]);
        expect(proxy.logDriver).toBe("json-file");
        expect(proxy.logOpts).toEqual({ "max-size": "10m", "max-file": "3" });
        expect(proxy.securityOpts).toEqual(["no-new-privileges:true"]);
        expect(proxy.ports).toEqual([{ internal: 5432, external: 25432, ip: "10.213.0.2" }]);
        expect(proxy.uploads[0].content).toContain("proxy_pass $pg:5432;");
        expect(proxy.uploads[0].content).toContain("set $pg postgres;");
        expect(graph.dependencyNames("db-admin-proxy")).toContain("db-server");
        const boot = graph.get("db-bootstrap").inputs;
        expect(boot.connection).toMatchObject({ host: "10.213.0.2", port: 25432 });
        expect(graph.dependencyNames("db-bootstrap")).toContain("db-admin-proxy");
    });

    test("defaults: the proxy on 127.0.0.1:15432; pg_hba admits the administrator from the admin overlay only", async () => {
        const { graph } = await runProgram(() => swarmDb(), { project: "shop", stack: "dev" });
        expect(graph.get("db-admin-proxy").inputs.ports).toEqual([
            { internal: 5432, external: 15432, ip: "127.0.0.1" },
        ]);
        expect(graph.get("db-bootstrap").inputs.connection).toMatchObject({ host: "127.0.0.1", port: 15432 });
        const hba = Buffer.from(graph.get("db-hba").inputs.data, "base64").toString();
        expect(hba).toMatch(/^host all postgres \S+ scram-sha-256$/m);
        expect(hba).toContain("host all postgres all reject");
    });

    test("a pool with the database: URL as a swarm secret file, never in env; databaseUrlAs env refused", async () => {
        const { graph } = await runProgram(() => {
            const { network, db } = swarmDb();
            return new AppServerPool("app", { network, image: "i", database: db, databaseUrlAs: "file" });
        });
        const secret = graph.get("app-secret-database-url");
        expect(Buffer.from(secret.inputs.data, "base64").toString()).toMatch(
            /^postgresql:\/\/app:app-pw@postgres:5432\/app/,
        );
        const spec = graph.get("app-service").inputs.taskSpec.containerSpec;
        expect(spec.env.DATABASE_URL_FILE).toBe("/run/secrets/database-url");
        expect(JSON.stringify(spec)).not.toContain("app-pw");
        expect(JSON.stringify(graph.get("app-service").inputs)).not.toContain("adm1n-pw");
        expect(graph.dependencyNames("app-service")).toContain("db-bootstrap");
        const env = await failure(() => {
            const { network, db } = swarmDb();
            return new AppServerPool("app", { network, image: "i", database: db });
        });
        expect(env).toContain('AppServerPool "app": databaseUrlAs must be "file" with a database on a swarm network');
    });

    test("resources, restart and logging: the task's memory limit, restart policy and log driver", async () => {
        const { graph } = await runProgram(() =>
            swarmDb({
                resources: { memoryMb: 512 },
                restart: "on-failure",
                logging: { options: { "max-size": "50m" } },
            }),
        );
        const task = graph.get("db-server").inputs.taskSpec;
        expect(task.resources).toEqual({ limits: { memoryBytes: 512 * 1024 * 1024 } });
        expect(task.restartPolicy).toEqual({ condition: "on-failure", delay: "5s", maxAttempts: 0, window: "0s" });
        expect(task.logDriver).toEqual({ name: "json-file", options: { "max-size": "50m", "max-file": "3" } });
        // The host form's defaults: restarted whatever the exit, rotated json-file logs, no memory limit.
        const plain = (await runProgram(() => swarmDb())).graph.get("db-server").inputs.taskSpec;
        expect(plain.restartPolicy.condition).toBe("any");
        expect(plain.logDriver).toEqual({ name: "json-file", options: { "max-size": "10m", "max-file": "3" } });
        expect(plain.resources).toBeUndefined();
        // The default stop grace (60 s) as the provider reads it back ("1m"): "60s" was an update on every up.
        expect(plain.containerSpec.stopGracePeriod).toBe("1m");
    });

    test("swarmNode required; arguments without a swarm form refused; swarm arguments refused on host", async () => {
        const message = await failure(
            () =>
                new PostgresCluster("db", {
                    network: new TieredNetwork("net", { target: "swarm" }),
                    container: { shmSize: 256 },
                    resources: { cpuShares: 512 },
                }),
        );
        expect(message).toContain('PostgresCluster "db": swarmNode is required on a swarm network');
        expect(message).toContain(`container has no swarm form yet (the network's target is "swarm")`);
        expect(message).toContain("resources.cpuShares has no swarm form (a swarm task has no relative CPU weight)");
        const host = await failure(
            () => new PostgresCluster("db", { network: new TieredNetwork("net"), swarmNode: "n1" }),
        );
        expect(host).toContain('swarmNode has no meaning with a host network (it is for target "swarm")');
    });
});

describe("NginxLoadBalancer on a swarm network", () => {
    const swarmLb = (extra: Partial<NginxLoadBalancerArgs> = {}, poolNetwork?: TieredNetwork) => {
        const network = new TieredNetwork("net", { target: "swarm" });
        const pool = new AppServerPool("app", { network: poolNetwork ?? network, image: "sha256:appimage" });
        const lb = new NginxLoadBalancer("web", {
            network,
            hostPort: 8080,
            swarmNode: "node-1",
            routes: [{ path: "/", pool }],
            ...extra,
        });
        return { network, pool, lb };
    };

    test("one service: host-mode port pinned to swarmNode, stop-first, healthy before `pulumi up` ends, after the pool", async () => {
        const { graph, result } = await runProgram(() => swarmLb(), { project: "shop", stack: "dev" });
        const own = Object.entries(graph.shape()).filter(([n]) => n === "web" || n.startsWith("web-"));
        expect(Object.fromEntries(own)).toEqual({
            web: "dockercluster:loadbalancer:NginxLoadBalancer",
            "web-service": "docker:index/service:Service",
            "web-conf": "docker:index/serviceConfig:ServiceConfig",
        });
        expect(graph.containers()).toEqual([]);
        const svc = graph.get("web-service");
        expect(graph.parentName("web-service")).toBe("web");
        expect(svc.inputs.name).toBe("shop-dev-web");
        expect(svc.inputs.mode).toEqual({ replicated: { replicas: 1 } });
        expect(svc.inputs.endpointSpec).toEqual({
            mode: "dnsrr",
            ports: [{ targetPort: 80, publishedPort: 8080, publishMode: "host", protocol: "tcp" }],
        });
        expect(svc.inputs.updateConfig).toEqual({ parallelism: 1, order: "stop-first", failureAction: "rollback" });
        expect(svc.inputs.rollbackConfig).toEqual({ parallelism: 1, order: "stop-first", failureAction: "pause" });
        expect(svc.inputs.convergeConfig).toEqual({ delay: "1s", timeout: "120s" });
        const task = svc.inputs.taskSpec;
        expect(task.placement).toEqual({ constraints: ["node.hostname == node-1"] });
        expect(task.networksAdvanceds.map((n: { name: string; aliases: string[] }) => [n.name, n.aliases])).toEqual([
            ["shop-dev-net-web", ["web"]],
            ["shop-dev-net-app", ["web"]],
        ]);
        const c = task.containerSpec;
        expect(c.image).toBe("nginx:stable-bookworm");
        expect([c.commands, c.args]).toEqual([["nginx"], ["-g", "daemon off;"]]);
        expect(c.stopGracePeriod).toBe("30s");
        expect(c.healthcheck.tests[0]).toBe("CMD-SHELL");
        expect(c.healthcheck.tests[1]).toContain("/nginx-health");
        // The host form's hardening: read-only root, tmpfs where nginx writes, the master's capabilities only.
        expect(c.readOnly).toBe(true);
        expect(c.mounts).toEqual([
            { type: "tmpfs", target: "/var/cache/nginx" },
            { type: "tmpfs", target: "/var/lib/nginx" },
            { type: "tmpfs", target: "/run" },
        ]);
        expect(c.capDrops).toEqual(["ALL"]);
        expect(c.capAdds).toEqual(["CAP_CHOWN", "CAP_NET_BIND_SERVICE", "CAP_SETGID", "CAP_SETUID"]);
        expect(c.env).toBeUndefined();
        expect(graph.dependencyNames("web-service")).toEqual(expect.arrayContaining(["app-service", "web-conf"]));
        expect(result.lb.service).toBeDefined();
        expect(result.lb.container).toBeUndefined();
        expect(result.lb.readiness).toBeUndefined();
        expect(result.lb.url).toBe("http://node-1:8080/");
    });

    test("the config: a ServiceConfig named by its digest, mounted as nginx.conf, resolving the pool per request", async () => {
        const { graph, result } = await runProgram(() => swarmLb(), { project: "shop", stack: "dev" });
        const conf = graph.get("web-conf");
        expect(conf.inputs.name).toBe(`shop-dev-web-conf-${result.lb.configDigest}`);
        expect(result.lb.configDigest).toMatch(/^[0-9a-f]{16}$/);
        const text = Buffer.from(conf.inputs.data, "base64").toString();
        expect(text).toBe(result.lb.nginxConf);
        expect(text).toContain("resolver 127.0.0.11 valid=1s ipv6=off;");
        expect(text).toContain("set $pdc_upstream_app app;\n            proxy_pass http://$pdc_upstream_app:8000;");
        expect(text).toContain(`return 200 "${result.lb.configDigest}\\n";`);
        expect(text).not.toMatch(/upstream app \{|nginx-ready/);
        const [mount] = graph.get("web-service").inputs.taskSpec.containerSpec.configs;
        expect(mount).toEqual({
            configId: "web-conf-id",
            configName: conf.inputs.name,
            fileName: "/etc/nginx/nginx.conf",
            fileMode: 0o444,
        });
        // Another text, another config (a swarm config cannot change); the same text, the same name.
        const again = await runProgram(() => swarmLb(), { project: "shop", stack: "dev" });
        expect(again.graph.get("web-conf").inputs.name).toBe(conf.inputs.name);
        const other = await runProgram(() => swarmLb({ clientMaxBodySize: "5m" }), { project: "shop", stack: "dev" });
        expect(other.graph.get("web-conf").inputs.name).not.toBe(conf.inputs.name);
        expect(other.graph.get("web-conf").inputs.name).toBe(`shop-dev-web-conf-${other.result.lb.configDigest}`);
    });

    test("without swarmNode: no placement, url on localhost; env passed to the service", async () => {
        const { graph, result } = await runProgram(() => swarmLb({ swarmNode: undefined, env: { TZ: "UTC" } }));
        const task = graph.get("web-service").inputs.taskSpec;
        expect(task.placement).toBeUndefined();
        expect(task.containerSpec.env).toEqual({ TZ: "UTC" });
        expect(result.lb.url).toBe("http://localhost:8080/");
    });

    test("arguments with no swarm form yet are refused, each named, nothing registered", async () => {
        let names: string[] = [];
        const message = await failure(() =>
            swarmLb({
                static: { files: { "a.css": "" } },
                tls: { certificate: "c", key: "k" },
                drainSeconds: 2,
                container: { readOnly: false },
                resources: { cpuShares: 64 },
                hostIp: "127.0.0.1",
                mode: "consul-template",
                swarmNode: "bad node",
            }),
        );
        for (const arg of ["static", "tls", "drainSeconds", "container"])
            expect(message).toContain(
                `NginxLoadBalancer "web": ${arg} has no swarm form yet (the network's target is "swarm"); leave it out, or use a TieredNetwork with target "host"`,
            );
        expect(message).toContain("resources.cpuShares has no swarm form");
        expect(message).toContain('mode is "consul-template", which has no swarm form yet');
        expect(message).toContain("hostIp cannot be set on a swarm network");
        expect(message).toContain('swarmNode is "bad node", not a node host name');
        await runProgram(() => {
            try {
                swarmLb({ container: { readOnly: false } });
            } catch {
                // expected: refused
            }
        }).then(({ graph }) => (names = Object.keys(graph.shape())));
        expect(names.filter((n) => n === "web" || n.startsWith("web-"))).toEqual([]);
    });

    test("resources, restart and logging: the task's memory limit, restart policy and log driver", async () => {
        const { graph } = await runProgram(() =>
            swarmLb({ resources: { memoryMb: 64 }, restart: "on-failure", logging: { driver: "local" } }),
        );
        const task = graph.get("web-service").inputs.taskSpec;
        expect(task.resources).toEqual({ limits: { memoryBytes: 64 * 1024 * 1024 } });
        expect(task.restartPolicy.condition).toBe("on-failure");
        expect(task.logDriver).toEqual({ name: "local" });
        const plain = (await runProgram(() => swarmLb())).graph.get("web-service").inputs.taskSpec;
        expect(plain.logDriver).toEqual({ name: "json-file", options: { "max-size": "10m", "max-file": "3" } });
        expect(plain.restartPolicy.condition).toBe("any");
    });

    test("a route to a pool that is not a swarm service is refused; swarmNode on a host network too", async () => {
        const routed = await failure(() => swarmLb({}, new TieredNetwork("hostnet")));
        expect(routed).toContain(
            'NginxLoadBalancer "web": routes[0].pool ("app") is not a swarm service, so nginx\'s service could not reach it',
        );
        const host = await failure(() => {
            const network = new TieredNetwork("net");
            const pool = new AppServerPool("app", { network, image: "i" });
            return new NginxLoadBalancer("web", { network, swarmNode: "n1", routes: [{ path: "/", pool }] });
        });
        expect(host).toContain('swarmNode has no meaning with a host network (it is for target "swarm")');
    });
});

describe("components on a swarm network (no swarm form yet)", () => {
    test("each refuses it under `network`, before any child exists", async () => {
        const swarm = () => new TieredNetwork("net", { target: "swarm" });
        expect(await failure(() => new Service("cache", { network: swarm(), image: "redis:7" }))).toMatch(
            refusal('Service "cache"'),
        );
        expect(await failure(() => new ServiceDiscovery("sd", { network: swarm() }))).toMatch(
            refusal('ServiceDiscovery "sd"'),
        );
    });

    test("nothing is registered under the refused component", async () => {
        let names: string[] = [];
        await runProgram(() => {
            new TieredNetwork("net", { target: "swarm" });
            try {
                new Service("db", { network: new TieredNetwork("n2", { target: "swarm" }), image: "redis:7" });
            } catch {
                // expected: refused
            }
        }).then(({ graph }) => (names = Object.keys(graph.shape())));
        expect(names.filter((n) => n === "db" || n.startsWith("db-"))).toEqual([]);
    });
});
