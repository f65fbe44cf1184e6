/**
 * Readiness waits and a server that dies mid-migration, against a private Postgres cluster this file starts and
 * stops itself. Driven through Pulumi's dynamic-provider host, as the engine does.
 */
import { Client } from "pg";
import { ProviderHost } from "../support/provider-host";
import { inputsFor } from "../support/pg";
import { PrivateCluster } from "../support/cluster";

const host = new ProviderHost();
const cluster = new PrivateCluster(55491);

beforeAll(async () => {
    await host.start();
}, 60000);

afterAll(async () => {
    await host.stop();
    cluster.destroy();
    expect(host.stderr).not.toContain(cluster.password);
});

async function historyCount(db: string): Promise<number> {
    const c = new Client({ ...cluster.connection, database: db });
    await c.connect();
    try {
        const exists = await c.query("SELECT to_regclass('schema_history_app')::text AS t");
        if (exists.rows[0].t === null) return 0;
        return (await c.query("SELECT count(*)::int AS n FROM schema_history_app")).rows[0].n;
    } finally {
        await c.end();
    }
}

it("fails after the timeout with host:port, user and the last error when nothing listens", async () => {
    const inputs = inputsFor({
        connection: { ...cluster.connection, port: 55492 },
        wait: { timeoutSeconds: 2, maxBackoffMs: 200 },
        database: { name: "never" },
    });
    const { inputs: checked } = await host.check({}, inputs);
    const started = Date.now();
    const err = await host.create(checked).then(
        () => undefined,
        (e: Error) => e,
    );
    const took = Date.now() - started;
    expect(err?.message).toMatch(
        /postgres at 127\.0\.0\.1:55492 \(database "postgres", user "postgres"\) did not answer an authenticated SELECT 1 within 2s \(\d+ attempts\); last error: connect ECONNREFUSED 127\.0\.0\.1:55492/,
    );
    expect(err?.message).not.toContain(cluster.password);
    expect(took).toBeGreaterThanOrEqual(2000);
    expect(took).toBeLessThan(15000);
});

it("fails at once on a wrong password, naming the user", async () => {
    cluster.start();
    const inputs = inputsFor({
        connection: { ...cluster.connection, password: "wrong-password" },
        database: { name: "never" },
    });
    const { inputs: checked } = await host.check({}, inputs);
    const started = Date.now();
    await expect(host.create(checked)).rejects.toThrow(
        /cannot log in to postgres at 127\.0\.0\.1:55491 database "postgres" as user "postgres": password authentication failed/,
    );
    expect(Date.now() - started).toBeLessThan(10000);
    cluster.stop();
});

it("picks up a server that comes up during the wait", async () => {
    const inputs = inputsFor({
        connection: cluster.connection,
        wait: { timeoutSeconds: 60, maxBackoffMs: 250 },
        roles: [{ name: "late_app", password: "late-pw" }],
        database: { name: "late_db", owner: "late_app" },
        migrationSets: [{ name: "app", scripts: { "V1__t.sql": "CREATE TABLE t (id int);" } }],
    });
    const { inputs: checked } = await host.check({}, inputs);
    const creating = host.create(checked);
    await new Promise((r) => setTimeout(r, 2000));
    cluster.start();
    const { outs } = await creating;
    expect(Object.keys(outs.applied.app)).toEqual(["V1__t.sql"]);
    await host.waitForLog("[bootstrap late_db] postgres 127.0.0.1:55491 ready after");
    expect(await historyCount("late_db")).toBe(1);
});

it("a server stopped during a long migration leaves no partial record; the rerun completes", async () => {
    const scripts = {
        "V1__t.sql": "CREATE TABLE base (id int);",
        "V2__long.sql":
            "CREATE TABLE long_one (id int);\nINSERT INTO long_one SELECT g FROM generate_series(1, 1000) g;\nSELECT pg_sleep(30);",
    };
    const inputs = inputsFor({
        connection: cluster.connection,
        wait: { timeoutSeconds: 20, maxBackoffMs: 250 },
        database: { name: "crash_db" },
        migrationSets: [{ name: "app", scripts }],
    });
    const { inputs: checked } = await host.check({}, inputs);
    const creating = host.create(checked).then(
        () => undefined,
        (e: Error) => e,
    );
    // Wait until the long migration is running, then crash the server.
    const deadline = Date.now() + 20000;
    for (;;) {
        const c = new Client({ ...cluster.connection, database: "postgres" });
        await c.connect();
        const r = await c.query(
            "SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE '%pg_sleep(30)%' AND pid <> pg_backend_pid()",
        );
        await c.end();
        if (r.rows[0].n > 0) break;
        if (Date.now() > deadline) throw new Error("the long migration never started");
        await new Promise((r) => setTimeout(r, 100));
    }
    cluster.stop("immediate");
    const err = await creating;
    expect(err?.message).toMatch(/V2__long.sql failed: .*rolled back and not recorded/);
    cluster.start();
    expect(await historyCount("crash_db")).toBe(1);
    const c = new Client({ ...cluster.connection, database: "crash_db" });
    await c.connect();
    expect((await c.query("SELECT to_regclass('long_one')::text AS t")).rows).toEqual([{ t: null }]);
    await c.end();

    const quick = inputsFor({
        connection: cluster.connection,
        database: { name: "crash_db" },
        migrationSets: [
            {
                name: "app",
                scripts: { ...scripts, "V2__long.sql": scripts["V2__long.sql"].replace("pg_sleep(30)", "pg_sleep(0)") },
            },
        ],
    });
    const { inputs: rerun } = await host.check({}, quick);
    // The file changed, but it was never recorded, so there is nothing to refuse.
    await host.create(rerun);
    expect(await historyCount("crash_db")).toBe(2);
});
