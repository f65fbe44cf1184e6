/**
 * The default cluster (the repository's root program: Pulumi.yaml and index.ts, running examples/flask-nginx-postgres,
 * what `bash scripts/up.sh` deploys) under the real engine: a second `up` that changes nothing, comments through
 * nginx, /static from nginx itself, the bootstrap's migrations and content applied exactly once with 3 replicas,
 * and the data surviving `pulumi destroy` and a new `pulumi up` with a newly generated admin password.
 */
import * as path from "path";
import { dockerCli } from "../support/docker-api";
import { httpRequest } from "../support/http";
import { freePort } from "../support/net";
import { engine, EngineRequest, EngineResult, stackDir } from "../support/engine";

jest.setTimeout(600000);

const ROOT = path.resolve(__dirname, "../..");
const STACK = `fl${process.pid}`;
const PREFIX = `pulumi-docker-cluster-${STACK}-`;
const dir = stackDir("flask");
let port = 0;

async function run(op: EngineRequest["op"], config?: EngineRequest["config"]): Promise<EngineResult> {
    const r = await engine({
        op,
        dir,
        project: "pulumi-docker-cluster",
        stack: STACK,
        projectFile: path.join(ROOT, "Pulumi.yaml"),
        program: { module: "index.ts" },
        config,
    });
    if (r.error) throw new Error(`pulumi ${op} failed: ${r.error}`);
    return r;
}

const psql = (sql: string) =>
    dockerCli(["exec", `${PREFIX}db-server`, "psql", "-U", "postgres", "-d", "app", "-tA", "-c", sql]);

beforeAll(async () => {
    port = await freePort();
});

it("preview of the new stack plans every resource and creates nothing; up brings it up", async () => {
    const p = await run("preview", { webPort: { value: String(port) }, replicas: { value: "3" } });
    expect(Object.keys(p.changes ?? {})).toEqual(["create"]);
    expect((await dockerCli(["ps", "-aq", "--filter", `name=^${PREFIX}`])).trim()).toBe("");
    const up = await run("up");
    expect(up.changes?.create).toBe(p.changes?.create);
});

afterAll(async () => {
    await run("destroy").catch(() => undefined);
    await dockerCli(["volume", "rm", "-f", `${PREFIX}db-data`]).catch(() => undefined);
});

it("a second pulumi up changes nothing", async () => {
    const again = await run("up", { webPort: { value: String(port) }, replicas: { value: "3" } });
    expect(Object.keys(again.changes ?? {})).toEqual(["same"]);
});

it("posts a comment through nginx and reads it back", async () => {
    const posted = await httpRequest(port, "/comments", {
        method: "POST",
        body: JSON.stringify({ text: "hello from the test" }),
        headers: { "Content-Type": "application/json" },
    });
    expect(posted.status).toBe(201);
    const list = await httpRequest(port, "/api/comments");
    expect(list.status).toBe(200);
    expect(JSON.parse(list.body).map((c: { text: string }) => c.text)).toContain("hello from the test");
    expect(list.headers["x-instance"]).toMatch(/^app-r[012]$/);
});

it("serves /static from nginx itself, not from an app replica", async () => {
    const css = await httpRequest(port, "/static/css/style.css");
    expect(css.status).toBe(200);
    expect(css.headers["content-type"]).toMatch(/^text\/css/);
    expect(css.headers["x-instance"]).toBeUndefined();
    expect(css.headers["cache-control"]).toBe("max-age=3600");
});

it("with 3 replicas, the bootstrap's history shows every migration and the content exactly once", async () => {
    expect(await psql("SELECT script || ':' || count(*) FROM schema_history_app GROUP BY script ORDER BY script")).toBe(
        "V1__create_comment.sql:1\nV2__comment_created_at_index.sql:1\n",
    );
    expect((await psql("SELECT count(*) FROM content_history")).trim()).toBe("1");
    const names = (await dockerCli(["ps", "--format", "{{.Names}}", "--filter", `name=^${PREFIX}app-r`]))
        .split("\n")
        .filter(Boolean)
        .sort();
    expect(names.map((n) => n.replace(/-[0-9a-f]{8}$/, ""))).toEqual([
        `${PREFIX}app-r0`,
        `${PREFIX}app-r1`,
        `${PREFIX}app-r2`,
    ]);
});

it("keeps the comment across pulumi destroy (the data volume stays) and a new pulumi up with a new generated admin password", async () => {
    await run("destroy");
    expect((await dockerCli(["ps", "-aq", "--filter", `name=^${PREFIX}`])).trim()).toBe("");
    expect((await dockerCli(["volume", "ls", "-q", "--filter", `name=^${PREFIX}`])).trim().split("\n")).toEqual([
        `${PREFIX}db-data`,
    ]);
    await run("up", { webPort: { value: String(port) }, replicas: { value: "3" } });
    const list = await httpRequest(port, "/api/comments");
    expect(JSON.parse(list.body).map((c: { text: string }) => c.text)).toContain("hello from the test");
    expect(await psql("SELECT count(*) FROM schema_history_app")).toBe("2\n");
});
