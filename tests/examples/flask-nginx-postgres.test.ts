import * as fs from "fs";
import * as path from "path";
import * as flaskProgram from "../../examples/flask-nginx-postgres/cluster";
import flaskIndex = require("../../examples/flask-nginx-postgres");
import { ArgumentError, FILES_DIGEST_LABEL, NGINX_CONF_PATH, STATIC_ROOT } from "../../sdk";
import { peek, publishing, runProgram, uploads } from "../support/graph";
import { dockerObjectNames, projectFile, REPO, schemaDefaults, stackConfig } from "../support/examples";

const DIR = path.join(REPO, "examples", "flask-nginx-postgres");
type Config = flaskProgram.Config;
const cfg = (over: Partial<Config> = {}): Config => ({ ...flaskProgram.defaults, buildAppImage: false, ...over });
const PROJECT = { project: "flask-nginx-postgres", stack: "dev" };

describe("examples/flask-nginx-postgres", () => {
    test("Pulumi.yaml: nodejs program with a typed config schema whose defaults are the program's", () => {
        expect(projectFile(DIR)).toMatchObject({ name: "flask-nginx-postgres", runtime: "nodejs", main: "index.ts" });
        expect(schemaDefaults(DIR)).toEqual(flaskProgram.defaults);
    });

    test("exact graph", async () => {
        const { graph } = await runProgram(() => flaskProgram.flaskNginxPostgres(cfg()), PROJECT);
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
            "net-app": "docker:index/network:Network",
            "net-db": "docker:index/network:Network",
            "net-web": "docker:index/network:Network",
            web: "dockercluster:loadbalancer:NginxLoadBalancer",
            "web-config": "docker:index/volume:Volume",
            "web-files": "docker:index/container:Container",
            "web-gate-token": "random:index/randomPassword:RandomPassword",
            "web-secrets": "docker:index/container:Container",
            "web-image": "docker:index/remoteImage:RemoteImage",
            "web-nginx": "docker:index/container:Container",
            "web-ready": "pulumi-nodejs:dynamic/readiness:HttpReadiness",
        });
        expect(graph.get("app-image-image").inputs.name).toBe("pdc-example/flask-nginx-postgres-app:latest");
    });

    test("placement: nginx on web+app, gunicorn on app+db, Postgres on db (internal) + admin; only nginx publishes", async () => {
        const { graph } = await runProgram(() => flaskProgram.flaskNginxPostgres(cfg()), PROJECT);
        const n = (t: string) => `flask-nginx-postgres-dev-net-${t}`;
        expect(graph.networksOf("web-nginx")).toEqual([n("app"), n("web")]);
        expect(graph.networksOf("app-r0")).toEqual([n("app"), n("db")]);
        expect(graph.networksOf("db-server")).toEqual(["flask-nginx-postgres-dev-db-admin", n("db")]);
        expect(graph.get("net-db").inputs.internal).toBe(true);
        expect(publishing(graph)).toEqual(["web-nginx"]);
        expect(graph.envOf("app-r0")).toMatchObject({ PORT: "8000", WEB_CONCURRENCY: "2", INSTANCE: "app-r0" });
    });

    test("the comment table comes from the bootstrap's migrations and content, before any replica; nginx last", async () => {
        const { graph } = await runProgram(() => flaskProgram.flaskNginxPostgres(cfg()), PROJECT);
        const sets = graph.get("db-bootstrap").inputs.migrationSets as {
            name: string;
            kind: string;
            files: Record<string, { sql: string }>;
        }[];
        expect(sets.map((s) => [s.name, s.kind, Object.keys(s.files)])).toEqual([
            ["app", "migrations", ["V1__create_comment.sql", "V2__comment_created_at_index.sql"]],
            ["content", "content", ["001_welcome_comment.sql"]],
        ]);
        expect(sets[0].files["V1__create_comment.sql"].sql).toContain("CREATE TABLE comment");
        for (const r of ["app-r0", "app-r1"]) {
            expect(graph.dependsOn(r, "db-bootstrap")).toBe(true);
            expect(graph.dependsOn("web-nginx", r)).toBe(true);
        }
        expect(graph.dependsOn("db-bootstrap", "db-server")).toBe(true);
    });

    test("nginx serves /static from the app's static files and proxies / to every replica", async () => {
        const { graph } = await runProgram(() => flaskProgram.flaskNginxPostgres(cfg()), PROJECT);
        const files = uploads(graph, "web-files");
        const conf = files.find((u) => u.file === NGINX_CONF_PATH)!.content!;
        const css = files.find((u) => u.file.endsWith("/css/style.css"))!;
        // Static files go to a directory named by their digest on the config volume; the config points there.
        const staticDir = css.file.slice(0, -"css/style.css".length);
        expect(staticDir).toMatch(new RegExp(`^${STATIC_ROOT}-[0-9a-f]{12}/$`));
        expect(conf).toContain(`location /static/ {\n            alias ${staticDir};`);
        expect(conf).toMatch(/server app-r0-[0-9a-f]{8}:8000/);
        expect(conf).toMatch(/server app-r1-[0-9a-f]{8}:8000/);
        expect(conf).toContain("client_max_body_size 64k;");
        expect(css?.content).toBe(fs.readFileSync(path.join(DIR, "app", "static", "css", "style.css"), "utf8"));
    });

    test("app.json and locale files land in the shared volumes before the replicas start", async () => {
        const { graph } = await runProgram(
            () => flaskProgram.flaskNginxPostgres(cfg({ locale: "de", title: "Kommentare" })),
            PROJECT,
        );
        const files = uploads(graph, "app-files");
        expect(files.map((u) => u.file)).toEqual([
            "/etc/app/app.json",
            "/srv/content/locale/de.json",
            "/srv/content/locale/en.json",
            "/srv/content/locale/fr.json",
        ]);
        expect(JSON.parse(files[0].content!)).toEqual({ title: "Kommentare", locale: "de", page_size: 100 });
        expect(graph.dependsOn("app-r0", "app-files")).toBe(true);
        const other = await runProgram(() => flaskProgram.flaskNginxPostgres(cfg({ locale: "fr" })), PROJECT);
        expect(other.graph.labelsOf("app-r0")[FILES_DIGEST_LABEL]).not.toBe(
            graph.labelsOf("app-r0")[FILES_DIGEST_LABEL],
        );
    });

    test("the data volume survives destroy (retainOnDelete) and keeps its name across runs", async () => {
        const a = await runProgram(() => flaskProgram.flaskNginxPostgres(cfg()), PROJECT);
        const b = await runProgram(() => flaskProgram.flaskNginxPostgres(cfg({ replicas: 3 })), PROJECT);
        expect(a.graph.get("db-data").retainOnDelete).toBe(true);
        expect(a.graph.get("db-data").inputs.name).toBe("flask-nginx-postgres-dev-db-data");
        expect(b.graph.get("db-data").inputs).toEqual(a.graph.get("db-data").inputs);
    });

    test("apps never see the owner password; DATABASE_URL is the app role's and secret", async () => {
        const { graph, result } = await runProgram(() => flaskProgram.flaskNginxPostgres(cfg()), PROJECT);
        for (const c of graph.containers().filter((c) => c.name.startsWith("app-"))) {
            expect(JSON.stringify(c.inputs)).not.toContain("pw-db-admin-password");
        }
        expect(graph.envOf("app-r1").DATABASE_URL).toBe("postgresql://app:pw-db-app-password@postgres:5432/app");
        expect(graph.get("app-r1").secretInputs.has("envs")).toBe(true);
        expect((await peek(result.outputs.databaseUrl)).secret).toBe(true);
    });

    test("replicas 2 -> 3 adds exactly app-r2; the others keep their names and inputs", async () => {
        const two = await runProgram(() => flaskProgram.flaskNginxPostgres(cfg({ replicas: 2 })), PROJECT);
        const three = await runProgram(() => flaskProgram.flaskNginxPostgres(cfg({ replicas: 3 })), PROJECT);
        expect(three.graph.names().filter((n) => !two.graph.names().includes(n))).toEqual(["app-r2", "app-r2-healthy"]);
        const changed = two.graph
            .names()
            .filter((n) => JSON.stringify(two.graph.get(n).inputs) !== JSON.stringify(three.graph.get(n).inputs));
        // nginx itself is untouched: a new config (the files container) and the readiness gate waiting for its reload.
        expect(changed).toEqual(["web-files", "web-ready"]);
    });

    test("dev and prod on one host: disjoint Docker names", async () => {
        const dev = await runProgram(() => flaskProgram.flaskNginxPostgres(cfg()), {
            project: "flask-nginx-postgres",
            stack: "dev",
        });
        const prod = await runProgram(() => flaskProgram.flaskNginxPostgres(cfg()), {
            project: "flask-nginx-postgres",
            stack: "prod",
        });
        expect(dockerObjectNames(dev.graph).filter((n) => dockerObjectNames(prod.graph).includes(n))).toEqual([]);
    });

    test("index program with Pulumi.prod.yaml: 3 replicas x 4 workers, port 80, protected data", async () => {
        const prod = await runProgram(() => flaskIndex(), {
            project: "flask-nginx-postgres",
            stack: "prod",
            config: stackConfig(DIR, "prod", { buildAppImage: "false" }),
        });
        expect(prod.graph.names().filter((n) => /^app-r\d$/.test(n))).toEqual(["app-r0", "app-r1", "app-r2"]);
        expect(prod.graph.envOf("app-r2").WEB_CONCURRENCY).toBe("4");
        expect(prod.graph.get("web-nginx").inputs.ports[0].external).toBe(80);
        expect(prod.graph.get("db-data").protect).toBe(true);
        expect(prod.graph.get("db-data").retainOnDelete).toBe(true);
    });

    test("bad config fails with a clear message before any resource is registered", async () => {
        for (const [over, msg] of [
            [{ replicas: 0 }, /flask-nginx-postgres config "dev": replicas is 0, must be an integer from 1 to 100/],
            [{ locale: "xx" }, /locale is "xx"; run `pulumi config set locale <en\|de\|fr>`/],
            [{ adminHostPort: 8080 }, /adminHostPort is 8080, the same host port as webPort/],
        ] as const) {
            const { graph, result } = await runProgram(() => {
                try {
                    flaskProgram.flaskNginxPostgres(cfg(over));
                } catch (e) {
                    return e;
                }
                return undefined;
            }, PROJECT);
            expect(result).toBeInstanceOf(ArgumentError);
            expect((result as Error).message).toMatch(msg);
            expect(graph.resources).toEqual([]);
        }
    });
});
