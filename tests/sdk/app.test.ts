import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import {
    APP_CONFIG_DIR,
    AppServerPool,
    ArgumentError,
    CONTENT_DIR,
    FILES_DIGEST_LABEL,
    filesDigest,
    imageRevision,
    PostgresCluster,
    ServiceDiscovery,
    ServiceImage,
    TieredNetwork,
} from "../../sdk";
import type { AppServerPoolArgs } from "../../sdk";
import { generationless, Graph, peek, runProgram, thrownBy } from "../support/graph";

const CONTAINER = "docker:index/container:Container";
const GATE = "pulumi-nodejs:dynamic/health:ContainerHealthGate";

/** A network + database + pool; `extra` overrides pool args. */
function cluster(extra: Partial<AppServerPoolArgs> = {}) {
    const network = new TieredNetwork("net");
    const db = new PostgresCluster("db", { network });
    const app = new AppServerPool("app", { network, image: "sha256:appimage", database: db, ...extra });
    return { network, db, app };
}

/** The 12-hex digest suffix of a shared volume holding `files` (relative path → text). */
function suffix(files: Record<string, string> = {}): string {
    return filesDigest(Object.fromEntries(Object.entries(files).map(([k, v]) => [k, Buffer.from(v, "utf8")]))).slice(
        0,
        12,
    );
}

function poolChildren(graph: Graph): Record<string, string> {
    return Object.fromEntries(
        Object.entries(graph.shape())
            .filter(([n]) => n === "app" || n.startsWith("app-"))
            .map(([n, t]) => [generationless(n), t]),
    );
}

describe("AppServerPool", () => {
    test("exact graph: config + content volumes, files container, one container per replica, all parented", async () => {
        const { graph, result } = await runProgram(() => cluster({ configFiles: { "app.json": "{}\n" } }), {
            project: "shop",
            stack: "dev",
        });
        expect(poolChildren(graph)).toEqual({
            app: "dockercluster:app:AppServerPool",
            "app-config": "docker:index/volume:Volume",
            "app-content": "docker:index/volume:Volume",
            "app-files": CONTAINER,
            "app-r0": CONTAINER,
            "app-r0-healthy": GATE,
            "app-r1": CONTAINER,
            "app-r1-healthy": GATE,
        });
        for (const c of ["app-config", "app-content", "app-files", "app-r0", "app-r1", "app-r0-healthy"])
            expect(graph.parentName(c)).toBe("app");
        const gen = result.app.generation;
        expect(gen).toMatch(/^[0-9a-f]{8}$/);
        expect(graph.get("app-r0").name).toBe(`app-r0-${gen}`);
        expect(graph.get("app-r0").inputs.name).toBe(`shop-dev-app-r0-${gen}`);
        expect(graph.get("app-files").inputs.name).toBe(`shop-dev-app-files-${result.app.filesDigest.slice(0, 12)}`);
        expect(graph.get("app-config").inputs.name).toBe(`shop-dev-app-config-${suffix({ "app.json": "{}\n" })}`);
        expect(graph.get("app-content").inputs.name).toBe(`shop-dev-app-content-${suffix()}`);
    });

    test("replicas start after the bootstrap (after Postgres) and after the shared files", async () => {
        const { graph } = await runProgram(() => cluster({ contentFiles: { "locale/en.json": "{}" } }));
        for (const r of ["app-r0", "app-r1"]) {
            const deps = graph.get(r).dependencies;
            expect(deps).toContain(graph.get("db-bootstrap").urn);
            expect(deps).toContain(graph.get("app-files").urn);
            expect(graph.dependsOn(r, "db-server")).toBe(true);
        }
        expect(graph.dependsOn("db-bootstrap", "db-server")).toBe(true);
    });

    test("replica: app + db tiers with shared and own alias, env contract, read-only shared volumes, health check, labels", async () => {
        const { graph, result } = await runProgram(() => cluster({ env: { WEB_CONCURRENCY: "4" } }), {
            project: "shop",
            stack: "dev",
        });
        const r1 = graph.get("app-r1");
        const gen = result.app.generation;
        // The generation's own host name is what nginx's upstream names: never shared with the replica it replaces.
        expect(r1.inputs.networksAdvanced).toEqual([
            { name: "shop-dev-net-app", aliases: ["app", "app-r1", `app-r1-${gen}`] },
            { name: "shop-dev-net-db", aliases: ["app", "app-r1", `app-r1-${gen}`] },
        ]);
        expect(graph.envOf("app-r1")).toEqual({
            APP_CONFIG_DIR: "/etc/app",
            CONTENT_DIR: "/srv/content",
            DATABASE_URL: "postgresql://app:pw-db-app-password@postgres:5432/app",
            INSTANCE: "app-r1",
            PORT: "8000",
            WEB_CONCURRENCY: "4",
        });
        expect(r1.inputs.volumes).toEqual([
            { volumeName: `shop-dev-app-config-${suffix()}`, containerPath: APP_CONFIG_DIR, readOnly: true },
            { volumeName: `shop-dev-app-content-${suffix()}`, containerPath: CONTENT_DIR, readOnly: true },
        ]);
        expect(r1.inputs.healthcheck.tests[0]).toBe("CMD-SHELL");
        expect(r1.inputs.healthcheck.tests[1]).toContain("http://127.0.0.1:8000/healthz");
        // Health is waited for by the gate (which reports the last health output), not the docker provider's wait.
        expect(r1.inputs.wait).toBeUndefined();
        expect(graph.get("app-r1-healthy").inputs).toMatchObject({
            container: `shop-dev-app-r1-${gen}`,
            timeoutSeconds: 180,
        });
        expect(graph.dependsOn("app-r1-healthy", "app-r1")).toBe(true);
        // Batches of one: r1 starts once r0 is healthy. Old replicas stop gracefully.
        expect(graph.dependencyNames("app-r1").map(generationless)).toContain("app-r0-healthy");
        expect(r1.inputs.destroyGraceSeconds).toBe(10);
        expect(r1.inputs.ports).toBeUndefined();
        expect(graph.labelsOf("app-r1")).toMatchObject({
            "dockercluster.instance": "app-r1",
            "dockercluster.stack": "dev",
        });
        expect(Object.keys(graph.labelsOf("app-r1")).some((k) => k.startsWith("SERVICE_"))).toBe(false);
    });

    test("replicas never receive the owner password; DATABASE_URL (and so envs) is secret", async () => {
        const { graph, result } = await runProgram(() => cluster());
        const owner = "pw-db-admin-password";
        for (const c of graph.containers().filter((c) => c.name.startsWith("app-"))) {
            expect(JSON.stringify(c.inputs)).not.toContain(owner);
            expect(c.secretInputs.has("envs")).toBe(true);
        }
        // Only Postgres itself has it, as an uploaded file (not in its Env either).
        expect(JSON.stringify(graph.get("db-server").inputs.envs)).not.toContain(owner);
        expect(graph.get("db-server").inputs.uploads.map((u: { content: string }) => u.content)).toContain(owner);
        expect((await peek(result.db.applicationUrl)).secret).toBe(true);
    });

    test("shared files: uploaded by a data-only container (never started) into the volumes; digest label on replicas", async () => {
        const { graph, result } = await runProgram(() =>
            cluster({
                configFiles: { "app.json": '{"name":"x"}\n' },
                contentFiles: { "locale/en.json": '{"hi":"Hello"}\n' },
            }),
        );
        const files = graph.get("app-files");
        expect(files.inputs).toMatchObject({ start: false, mustRun: false, image: "sha256:appimage" });
        expect(files.inputs.uploads).toEqual([
            { file: "/etc/app/app.json", content: '{"name":"x"}\n' },
            { file: "/srv/content/locale/en.json", content: '{"hi":"Hello"}\n' },
        ]);
        expect(files.inputs.volumes.map((v: { readOnly?: boolean }) => v.readOnly ?? false)).toEqual([false, false]);
        expect(graph.labelsOf("app-r0")[FILES_DIGEST_LABEL]).toBe(result.app.filesDigest);

        const changed = await runProgram(() =>
            cluster({
                configFiles: { "app.json": '{"name":"y"}\n' },
                contentFiles: { "locale/en.json": '{"hi":"Hello"}\n' },
            }),
        );
        expect(changed.graph.labelsOf("app-r0")[FILES_DIGEST_LABEL]).not.toBe(result.app.filesDigest);
    });

    test("shared volumes hold exactly the current files: a removed file means a fresh volume, never a stale one", async () => {
        const both = { "app.json": "{}\n", "old.json": "{}\n" };
        const before = await runProgram(
            () => cluster({ configFiles: both, contentFiles: { "locale/en.json": "{}" } }),
            { project: "shop", stack: "dev" },
        );
        const after = await runProgram(
            () => cluster({ configFiles: { "app.json": "{}\n" }, contentFiles: { "locale/en.json": "{}" } }),
            { project: "shop", stack: "dev" },
        );
        const name = (g: Graph, v: string): string => g.get(v).inputs.name;

        // The config volume is a new one, holding only what the files container uploads now (no old.json)...
        expect(name(before.graph, "app-config")).toBe(`shop-dev-app-config-${suffix(both)}`);
        expect(name(after.graph, "app-config")).toBe(`shop-dev-app-config-${suffix({ "app.json": "{}\n" })}`);
        expect(after.graph.get("app-files").inputs.uploads.map((u: { file: string }) => u.file)).toEqual([
            "/etc/app/app.json",
            "/srv/content/locale/en.json",
        ]);
        expect(after.graph.get("app-files").inputs.volumes.map((v: { volumeName: string }) => v.volumeName)).toEqual([
            name(after.graph, "app-config"),
            name(after.graph, "app-content"),
        ]);
        // ...the unchanged content volume stays, and every replica mounts the new volume (and is replaced: new digest).
        expect(name(after.graph, "app-content")).toBe(name(before.graph, "app-content"));
        for (const r of ["app-r0", "app-r1"]) {
            expect(after.graph.get(r).inputs.volumes.map((v: { volumeName: string }) => v.volumeName)).toEqual([
                name(after.graph, "app-config"),
                name(after.graph, "app-content"),
            ]);
            expect(after.graph.dependencyNames(r)).toEqual(
                expect.arrayContaining(["app-config", "app-content", "app-files"]),
            );
        }
        expect(after.graph.labelsOf("app-r0")[FILES_DIGEST_LABEL]).not.toBe(
            before.graph.labelsOf("app-r0")[FILES_DIGEST_LABEL],
        );
        // Create the new volume before deleting the old one: deleting first would fail while replicas still use it.
        for (const v of ["app-config", "app-content"]) expect(after.graph.get(v).deleteBeforeReplace).toBe(false);
        expect(after.graph.labelsOf("app-config")[FILES_DIGEST_LABEL]).toBe(
            filesDigest({ "app.json": Buffer.from("{}\n") }),
        );

        // Removing every file: no files container, and empty volumes replace the ones that held files.
        const none = await runProgram(() => cluster(), { project: "shop", stack: "dev" });
        expect(none.graph.has("app-files")).toBe(false);
        expect(name(none.graph, "app-config")).toBe(`shop-dev-app-config-${suffix()}`);
        expect(name(none.graph, "app-content")).toBe(`shop-dev-app-content-${suffix()}`);
        expect(name(none.graph, "app-content")).not.toBe(name(before.graph, "app-content"));
    });

    test("no shared files: no files container", async () => {
        const { graph } = await runProgram(() => cluster());
        expect(graph.has("app-files")).toBe(false);
    });

    test("scaling 2 -> 3 adds exactly one replica and leaves the others' names and inputs unchanged", async () => {
        const two = await runProgram(() => cluster({ replicas: 2 }));
        const three = await runProgram(() => cluster({ replicas: 3 }));
        const names = (g: Graph) =>
            g
                .containers()
                .map((c) => generationless(c.name))
                .filter((n) => /^app-r\d+$/.test(n))
                .sort();
        expect(names(two.graph)).toEqual(["app-r0", "app-r1"]);
        expect(names(three.graph).filter((n) => !names(two.graph).includes(n))).toEqual(["app-r2"]);
        for (const n of names(two.graph)) {
            expect(three.graph.get(n).inputs).toEqual(two.graph.get(n).inputs);
        }
    });

    test("explicit replicaNames let a middle replica go without renaming the rest", async () => {
        const { graph, result } = await runProgram(() => cluster({ replicaNames: ["r0", "r2"] }));
        expect(
            graph
                .containers()
                .map((c) => generationless(c.name))
                .filter((n) => n.startsWith("app-r"))
                .sort(),
        ).toEqual(["app-r0", "app-r2"]);
        const gen = result.app.generation;
        expect(result.app.upstreamServers).toEqual([
            { host: `app-r0-${gen}`, port: 8000 },
            { host: `app-r2-${gen}`, port: 8000 },
        ]);
    });

    test("rollout generation: what the replicas are made of makes a new one (new names), scaling and the same program do not", async () => {
        const gen = async (extra: Partial<AppServerPoolArgs>) =>
            (await runProgram(() => cluster(extra))).result.app.generation;
        const base = await gen({});
        expect(await gen({})).toBe(base);
        expect(await gen({ replicas: 4 })).toBe(base);
        expect(await gen({ updateBatchSize: 2 })).toBe(base);
        for (const change of [
            { image: "sha256:other" },
            { env: { A: "1" } },
            { command: ["serve", "--fast"] },
            { configFiles: { "app.json": "{}" } },
            { resources: { memoryMb: 128 } },
            { healthPath: "/ready" },
        ] as Partial<AppServerPoolArgs>[]) {
            expect(await gen(change)).not.toBe(base);
        }
        // A value known only at deployment enters by name only: its change is a restart under the same names.
        expect(await gen({ env: { TOKEN: pulumi.secret("a") } })).toBe(
            await gen({ env: { TOKEN: pulumi.secret("b") } }),
        );
    });

    test("a ServiceImage's ref carries its build recipe's revision into the generation", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pdc-gen-"));
        fs.writeFileSync(path.join(dir, "Dockerfile"), "FROM scratch\n");
        const withImage = () => {
            const network = new TieredNetwork("net");
            const image = new ServiceImage("img", { imageName: "shop/app:dev", build: { context: dir } });
            const app = new AppServerPool("app", { network, tiers: ["app"], image: image.ref });
            return { image, app };
        };
        const one = (await runProgram(withImage)).result;
        expect(imageRevision(one.image.ref)).toBe(one.image.revision);
        expect((await runProgram(withImage)).result.app.generation).toBe(one.app.generation);
        fs.writeFileSync(path.join(dir, "app.txt"), "v2\n");
        const two = (await runProgram(withImage)).result;
        expect(two.image.revision).not.toBe(one.image.revision);
        expect(two.app.generation).not.toBe(one.app.generation);
    });

    test("two stacks on one host get disjoint container and volume names", async () => {
        const dockerNames = (g: Graph) =>
            g.resources
                .filter((r) => /container:Container|volume:Volume|network:Network/.test(r.type))
                .map((r) => r.inputs.name as string);
        const dev = await runProgram(() => cluster(), { project: "shop", stack: "dev" });
        const prod = await runProgram(() => cluster(), { project: "shop", stack: "prod" });
        const a = dockerNames(dev.graph);
        const b = dockerNames(prod.graph);
        expect(a.length).toBeGreaterThan(5);
        expect(a.filter((n) => b.includes(n))).toEqual([]);
    });

    test("with discovery: registrator labels SERVICE_<port>_NAME/_TAGS/_CHECK_HTTP and the registration address", async () => {
        const { graph, result } = await runProgram(() => {
            const network = new TieredNetwork("net");
            const discovery = new ServiceDiscovery("sd", { network });
            return new AppServerPool("user", {
                network,
                tiers: ["app"],
                image: "img",
                discovery,
                serviceTags: ["backend", "user"],
                port: 3000,
            });
        });
        expect(graph.labelsOf("user-r0")).toMatchObject({
            SERVICE_3000_NAME: "user",
            SERVICE_3000_TAGS: "backend,user",
            SERVICE_3000_CHECK_HTTP: "/healthz",
            // Registered under the generation's host name: old and new replicas of a rollout are distinct instances.
            "dockercluster.address": `user-r0-${result.generation}`,
        });
        expect(graph.envOf("user-r0").PORT).toBe("3000");
        expect(graph.get("user-r0").secretInputs.has("envs")).toBe(false); // no database, nothing secret
    });

    test("accepted: a health path with a query, and NONE when not waiting for health", async () => {
        const { graph } = await runProgram(() => cluster({ healthPath: "/health/v1.2_x~y:z@a+b,c=d&e?full=1" }));
        expect(graph.get("app-r0").inputs.healthcheck.tests[1]).toContain(
            "http://127.0.0.1:8000/health/v1.2_x~y:z@a+b,c=d&e?full=1",
        );
        const none = await runProgram(() => cluster({ healthcheck: { test: ["NONE"] }, waitForHealthy: false }));
        expect(none.graph.get("app-r0").inputs.healthcheck.tests).toEqual(["NONE"]);
    });

    test("host names are unique per tier: a second pool with the same service or replica names is rejected", async () => {
        const attempt = (second: Partial<AppServerPoolArgs> & { name: string }) =>
            runProgram(() => {
                const network = new TieredNetwork("net");
                new AppServerPool("api", { network, tiers: ["app"], image: "img" });
                const { name, ...rest } = second;
                return thrownBy(() => new AppServerPool(name, { network, image: "img", ...rest }));
            });
        const same = await attempt({ name: "api2", tiers: ["app"], serviceName: "api" });
        expect(same.result).toBeInstanceOf(ArgumentError);
        expect((same.result as Error).message).toMatch(
            /AppServerPool "api2": serviceName gives the host name "api", which AppServerPool "api" already answers to on tier "app"/,
        );
        expect(same.graph.names().filter((n) => n.startsWith("api2"))).toEqual([]);
        const replica = await attempt({ name: "api-r1", tiers: ["app"] });
        expect((replica.result as Error).message).toMatch(
            /serviceName gives the host name "api-r1", which AppServerPool "api" already answers to on tier "app"/,
        );
        // Another tier is another DNS namespace.
        expect((await attempt({ name: "api2", tiers: ["web"], serviceName: "api" })).result).toBeUndefined();
    });

    test("bad configuration fails with a clear message before any child is registered", async () => {
        const cases: [Partial<AppServerPoolArgs>, RegExp][] = [
            [
                { replicas: 0 },
                /AppServerPool "app": replicas is 0, must be an integer from 1 to 100; run at least 1 replica/,
            ],
            [{ replicas: 1.5 }, /replicas is 1.5, must be an integer/],
            [
                { tiers: ["app", "backend"] },
                /tiers names the unknown tier "backend"; use one of the network's tiers: web, app, db/,
            ],
            [
                { tiers: ["web", "app"] },
                /tiers \(web, app\) do not include the database's tier "db"; add "db" to tiers/,
            ],
            [
                { env: { PORT: "9000" } },
                /env.PORT conflicts with a variable the pool sets; set the port argument instead/,
            ],
            [
                { env: { DATABASE_URL: "postgresql://postgres:owner@db/app" } },
                /env.DATABASE_URL conflicts with a variable the pool sets; pass database instead/,
            ],
            [{ replicas: 3, replicaNames: ["a", "b"] }, /replicas is 3 but replicaNames lists 2; set only one of them/],
            [{ replicaNames: ["a", "a"] }, /replicaNames lists "a" twice/],
            [
                { updateBatchSize: 0 },
                /updateBatchSize is 0, must be an integer from 1 to 100; set updateBatchSize to a whole number/,
            ],
            [{ stopGraceSeconds: -1 }, /stopGraceSeconds is -1, must be an integer from 0 to 600/],
            [{ healthTimeoutSeconds: 0 }, /healthTimeoutSeconds is 0, must be an integer from 1 to 3600/],
            [
                { serviceName: "a-very-long-service-name-for-this-pool-of-apps", replicaNames: ["replica-one"] },
                /gives the host name "a-very-long-service-name-for-this-pool-of-apps-replica-one-00000000" \(with its generation\), not a DNS label/,
            ],
            [{ port: 0 }, /port is 0, must be an integer from 1 to 65535/],
            [{ configFiles: { "../etc/passwd": "x" } }, /configFiles\["..\/etc\/passwd"\] is not a safe relative path/],
            // healthPath lands in nginx.conf (proxy_pass ...;), single-quoted shell and a printf format.
            [
                { healthPath: "/healthz'; touch /tmp/pwned; '" },
                /healthPath is "\/healthz'; touch \/tmp\/pwned; '", not a plain URL path; use "\/" followed by letters/,
            ],
            [{ healthPath: "/health check" }, /healthPath is "\/health check", not a plain URL path/],
            [{ healthPath: "/h;return 200" }, /healthPath is "\/h;return 200", not a plain URL path/],
            [{ healthPath: "/h/$x" }, /healthPath is "\/h\/\$x", not a plain URL path/],
            [{ healthPath: "/100%" }, /healthPath is "\/100%", not a plain URL path/],
            [{ healthPath: "healthz" }, /healthPath is "healthz", not a plain URL path/],
            // A disabled health check can never report healthy, and waitForHealthy defaults to true.
            [
                { healthcheck: { test: ["NONE"] } },
                /healthcheck\.test is \["NONE"\] \(no health check\) while waitForHealthy is true.*; set waitForHealthy: false, or give a real health check/,
            ],
            // The database answers to "postgres" on the db tier; a pool of that name would share its DNS name.
            [
                { serviceName: "postgres" },
                /serviceName gives the host name "postgres", which PostgresCluster "db" already answers to on tier "db"; set serviceName/,
            ],
        ];
        for (const [extra, message] of cases) {
            const run = runProgram(() => {
                const network = new TieredNetwork("net");
                const db = new PostgresCluster("db", { network });
                return thrownBy(() => new AppServerPool("app", { network, image: "img", database: db, ...extra }));
            });
            const { graph, result } = await run;
            expect(result).toBeInstanceOf(ArgumentError);
            expect((result as Error).message).toMatch(message);
            expect(graph.names().filter((n) => n === "app" || n.startsWith("app-"))).toEqual([]);
        }
    });
});
