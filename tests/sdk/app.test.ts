import { APP_CONFIG_DIR, AppServerPool, ArgumentError, CONTENT_DIR, FILES_DIGEST_LABEL, PostgresCluster, ServiceDiscovery, TieredNetwork } from "../../sdk";
import type { AppServerPoolArgs } from "../../sdk";
import { Graph, peek, runProgram } from "./support/graph";

const CONTAINER = "docker:index/container:Container";

/** A network + database + pool; `extra` overrides pool args. */
function cluster(extra: Partial<AppServerPoolArgs> = {}) {
    const network = new TieredNetwork("net");
    const db = new PostgresCluster("db", { network });
    const app = new AppServerPool("app", { network, image: "sha256:appimage", database: db, ...extra });
    return { network, db, app };
}

function poolChildren(graph: Graph): Record<string, string> {
    return Object.fromEntries(Object.entries(graph.shape()).filter(([n]) => n === "app" || n.startsWith("app-")));
}

describe("AppServerPool", () => {
    test("exact graph: config + content volumes, files container, one container per replica, all parented", async () => {
        const { graph } = await runProgram(() => cluster({ configFiles: { "app.json": "{}\n" } }), { project: "shop", stack: "dev" });
        expect(poolChildren(graph)).toEqual({
            app: "dockercluster:app:AppServerPool",
            "app-config": "docker:index/volume:Volume",
            "app-content": "docker:index/volume:Volume",
            "app-files": CONTAINER,
            "app-r0": CONTAINER,
            "app-r1": CONTAINER,
        });
        for (const c of ["app-config", "app-content", "app-files", "app-r0", "app-r1"]) expect(graph.parentName(c)).toBe("app");
        expect(graph.get("app-r0").inputs.name).toBe("shop-dev-app-r0");
        expect(graph.get("app-config").inputs.name).toBe("shop-dev-app-config");
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
        const { graph } = await runProgram(() => cluster({ env: { WEB_CONCURRENCY: "4" } }), { project: "shop", stack: "dev" });
        const r1 = graph.get("app-r1");
        expect(r1.inputs.networksAdvanced).toEqual([
            { name: "shop-dev-net-app", aliases: ["app", "app-r1"] },
            { name: "shop-dev-net-db", aliases: ["app", "app-r1"] },
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
            { volumeName: "shop-dev-app-config", containerPath: APP_CONFIG_DIR, readOnly: true },
            { volumeName: "shop-dev-app-content", containerPath: CONTENT_DIR, readOnly: true },
        ]);
        expect(r1.inputs.healthcheck.tests[0]).toBe("CMD-SHELL");
        expect(r1.inputs.healthcheck.tests[1]).toContain("http://127.0.0.1:8000/healthz");
        expect(r1.inputs.wait).toBe(true);
        expect(r1.inputs.ports).toBeUndefined();
        expect(graph.labelsOf("app-r1")).toMatchObject({ "dockercluster.instance": "app-r1", "dockercluster.stack": "dev" });
        expect(Object.keys(graph.labelsOf("app-r1")).some((k) => k.startsWith("SERVICE_"))).toBe(false);
    });

    test("replicas never receive the owner password; DATABASE_URL (and so envs) is secret", async () => {
        const { graph, result } = await runProgram(() => cluster());
        const owner = "pw-db-admin-password";
        for (const c of graph.containers().filter((c) => c.name.startsWith("app-"))) {
            expect(JSON.stringify(c.inputs)).not.toContain(owner);
            expect(c.secretInputs.has("envs")).toBe(true);
        }
        expect(graph.envOf("db-server").POSTGRES_PASSWORD).toBe(owner); // only Postgres itself has it
        expect((await peek(result.db.applicationUrl)).secret).toBe(true);
    });

    test("shared files: uploaded by a data-only container (never started) into the volumes; digest label on replicas", async () => {
        const { graph, result } = await runProgram(() =>
            cluster({ configFiles: { "app.json": '{"name":"x"}\n' }, contentFiles: { "locale/en.json": '{"hi":"Hello"}\n' } }),
        );
        const files = graph.get("app-files");
        expect(files.inputs).toMatchObject({ start: false, mustRun: false, image: "sha256:appimage" });
        expect(files.inputs.uploads).toEqual([
            { file: "/etc/app/app.json", content: '{"name":"x"}\n' },
            { file: "/srv/content/locale/en.json", content: '{"hi":"Hello"}\n' },
        ]);
        expect(files.inputs.volumes.map((v: { readOnly?: boolean }) => v.readOnly ?? false)).toEqual([false, false]);
        expect(graph.labelsOf("app-r0")[FILES_DIGEST_LABEL]).toBe(result.app.filesDigest);

        const changed = await runProgram(() => cluster({ configFiles: { "app.json": '{"name":"y"}\n' }, contentFiles: { "locale/en.json": '{"hi":"Hello"}\n' } }));
        expect(changed.graph.labelsOf("app-r0")[FILES_DIGEST_LABEL]).not.toBe(result.app.filesDigest);
    });

    test("no shared files: no files container", async () => {
        const { graph } = await runProgram(() => cluster());
        expect(graph.has("app-files")).toBe(false);
    });

    test("scaling 2 -> 3 adds exactly one replica and leaves the others' names and inputs unchanged", async () => {
        const two = await runProgram(() => cluster({ replicas: 2 }));
        const three = await runProgram(() => cluster({ replicas: 3 }));
        const names = (g: Graph) => g.containers().map((c) => c.name).filter((n) => /^app-r\d+$/.test(n)).sort();
        expect(names(two.graph)).toEqual(["app-r0", "app-r1"]);
        expect(names(three.graph).filter((n) => !names(two.graph).includes(n))).toEqual(["app-r2"]);
        for (const n of names(two.graph)) {
            expect(three.graph.get(n).inputs).toEqual(two.graph.get(n).inputs);
        }
    });

    test("explicit replicaNames let a middle replica go without renaming the rest", async () => {
        const { graph, result } = await runProgram(() => cluster({ replicaNames: ["r0", "r2"] }));
        expect(graph.containers().map((c) => c.name).filter((n) => n.startsWith("app-r")).sort()).toEqual(["app-r0", "app-r2"]);
        expect(result.app.upstreamServers).toEqual([{ host: "app-r0", port: 8000 }, { host: "app-r2", port: 8000 }]);
    });

    test("two stacks on one host get disjoint container and volume names", async () => {
        const dockerNames = (g: Graph) =>
            g.resources.filter((r) => /container:Container|volume:Volume|network:Network/.test(r.type)).map((r) => r.inputs.name as string);
        const dev = await runProgram(() => cluster(), { project: "shop", stack: "dev" });
        const prod = await runProgram(() => cluster(), { project: "shop", stack: "prod" });
        const a = dockerNames(dev.graph);
        const b = dockerNames(prod.graph);
        expect(a.length).toBeGreaterThan(5);
        expect(a.filter((n) => b.includes(n))).toEqual([]);
    });

    test("with discovery: registrator labels SERVICE_<port>_NAME/_TAGS/_CHECK_HTTP and the registration address", async () => {
        const { graph } = await runProgram(() => {
            const network = new TieredNetwork("net");
            const discovery = new ServiceDiscovery("sd", { network });
            return new AppServerPool("user", { network, tiers: ["app"], image: "img", discovery, serviceTags: ["backend", "user"], port: 3000 });
        });
        expect(graph.labelsOf("user-r0")).toMatchObject({
            SERVICE_3000_NAME: "user",
            SERVICE_3000_TAGS: "backend,user",
            SERVICE_3000_CHECK_HTTP: "/healthz",
            "dockercluster.address": "user-r0",
        });
        expect(graph.envOf("user-r0").PORT).toBe("3000");
        expect(graph.get("user-r0").secretInputs.has("envs")).toBe(false); // no database, nothing secret
    });

    test("bad configuration fails with a clear message before any child is registered", async () => {
        const cases: [Partial<AppServerPoolArgs>, RegExp][] = [
            [{ replicas: 0 }, /AppServerPool "app": replicas is 0, must be an integer from 1 to 100; run at least 1 replica/],
            [{ replicas: 1.5 }, /replicas is 1.5, must be an integer/],
            [{ tiers: ["app", "backend"] }, /tiers names the unknown tier "backend"; use one of the network's tiers: web, app, db/],
            [{ tiers: ["web", "app"] }, /tiers \(web, app\) do not include the database's tier "db"; add "db" to tiers/],
            [{ env: { PORT: "9000" } }, /env.PORT conflicts with a variable the pool sets; set the port argument instead/],
            [{ env: { DATABASE_URL: "postgresql://postgres:owner@db/app" } }, /env.DATABASE_URL conflicts with a variable the pool sets; pass database instead/],
            [{ replicas: 3, replicaNames: ["a", "b"] }, /replicas is 3 but replicaNames lists 2; set only one of them/],
            [{ replicaNames: ["a", "a"] }, /replicaNames lists "a" twice/],
            [{ port: 0 }, /port is 0, must be an integer from 1 to 65535/],
            [{ configFiles: { "../etc/passwd": "x" } }, /configFiles\["..\/etc\/passwd"\] is not a safe relative path/],
        ];
        for (const [extra, message] of cases) {
            const run = runProgram(() => {
                const network = new TieredNetwork("net");
                const db = new PostgresCluster("db", { network });
                let thrown: unknown;
                try {
                    new AppServerPool("app", { network, image: "img", database: db, ...extra });
                } catch (e) {
                    thrown = e;
                }
                return thrown;
            });
            const { graph, result } = await run;
            expect(result).toBeInstanceOf(ArgumentError);
            expect((result as Error).message).toMatch(message);
            expect(graph.names().filter((n) => n === "app" || n.startsWith("app-"))).toEqual([]);
        }
    });
});
