/**
 * flask-nginx-postgres (seed 004), brought up for real through the bring-up harness: comments through nginx,
 * /static from nginx itself, the bootstrap's migrations applied exactly once with 3 replicas, and the data volume
 * surviving a teardown and a second bring-up.
 */
import program = require("../../examples/flask-nginx-postgres");
import { dockerCli } from "./docker-api";
import { bringUp, BringUp, freshStack } from "./harness";
import { freePort, httpRequest } from "./support";

const stack = freshStack("fl");
// The administrator password must outlive the stack's state for the retained data to be reachable again: users
// set it with `pulumi config set --secret dbAdminPassword` (a generated one is gone after `pulumi destroy`).
const dbAdminPassword = `admin-${stack}`;
let cluster: BringUp | undefined;
let port = 0;

async function up(): Promise<BringUp> {
    const cfg = { ...program.defaults, webPort: port, replicas: 3, dbAdminPassword: require("@pulumi/pulumi").secret(dbAdminPassword) };
    return (await bringUp(() => program.flaskNginxPostgres(cfg), { project: "flask-nginx-postgres", stack })).cluster;
}

const psql = (c: BringUp, sql: string) => dockerCli(["exec", String(c.graph!.get("db-server").inputs.name), "psql", "-U", "postgres", "-d", "app", "-tA", "-c", sql]);

beforeAll(async () => {
    port = await freePort();
    cluster = await up();
}, 600000);

afterAll(async () => {
    await cluster?.teardown(true);
});

it("posts a comment through nginx and reads it back", async () => {
    const posted = await httpRequest(port, "/comments", { method: "POST", body: JSON.stringify({ text: "hello from the test" }), headers: { "Content-Type": "application/json" } });
    expect(posted.status).toBe(201);
    const list = await httpRequest(port, "/api/comments");
    expect(list.status).toBe(200);
    expect(JSON.parse(list.body).map((c: { text: string }) => c.text)).toContain("hello from the test");
    expect(list.headers["x-instance"]).toMatch(/^app-r[012]$|app/);
});

it("serves /static from nginx itself, not from an app replica", async () => {
    const css = await httpRequest(port, "/static/css/style.css");
    expect(css.status).toBe(200);
    expect(css.headers["content-type"]).toMatch(/^text\/css/);
    expect(css.headers["x-instance"]).toBeUndefined();
    expect(css.headers["cache-control"]).toBe("max-age=3600");
    const page = await httpRequest(port, "/");
    expect(page.headers["x-instance"]).toBeDefined();
});

it("with 3 replicas, the bootstrap's history shows every migration and the content exactly once", async () => {
    expect(await psql(cluster!, "SELECT script || ':' || count(*) FROM schema_history_app GROUP BY script ORDER BY script")).toBe(
        "V1__create_comment.sql:1\nV2__comment_created_at_index.sql:1\n",
    );
    expect((await psql(cluster!, "SELECT count(*) FROM content_history")).trim()).toBe("1");
    const replicas = cluster!.graph!.containers().filter((c) => /^app-r\d$/.test(c.name));
    expect(replicas.map((r) => r.name).sort()).toEqual(["app-r0", "app-r1", "app-r2"]);
});

it("keeps the comment across a teardown of everything but the retained data volume and a new bring-up", async () => {
    const volume = String(cluster!.graph!.get("db-data").inputs.name);
    await cluster!.teardown(false);
    const left = await dockerCli(["volume", "ls", "-q", "--filter", `name=${stack}`]);
    expect(left.trim().split("\n")).toEqual([volume]);
    expect((await dockerCli(["ps", "-aq", "--filter", `name=${stack}`])).trim()).toBe("");
    cluster = await up();
    const list = await httpRequest(port, "/api/comments");
    expect(JSON.parse(list.body).map((c: { text: string }) => c.text)).toContain("hello from the test");
    expect(await psql(cluster, "SELECT count(*) FROM schema_history_app")).toBe("2\n");
}, 600000);
