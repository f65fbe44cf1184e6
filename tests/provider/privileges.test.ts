/**
 * Database privilege presets end to end: the bootstrap provider closure-serialized and driven through Pulumi's
 * dynamic-provider host against the tests' Postgres (15+: `public` grants CREATE to no one but the database owner).
 * Each case acts as the application role, so what it may and may not do is what the server says.
 */
import { Client } from "pg";
import { BootstrapArgs } from "../../provider";
import { ProviderHost } from "../support/provider-host";
import { inputsFor, PG, query, uniqueName } from "../support/pg";

type Props = Record<string, any>;
type Preset = "owner" | "readwrite" | "readonly" | "none";
const host = new ProviderHost();

beforeAll(async () => {
    await host.start();
}, 60000);

afterAll(async () => {
    await host.stop();
});

/** Runs `sql` as `role`; the rows, or the server's error message. */
async function as(role: { name: string; password: string }, db: string, sql: string): Promise<unknown[] | string> {
    const c = new Client({ host: PG.host, port: PG.port, user: role.name, password: role.password, database: db });
    await c.connect();
    try {
        return (await c.query(sql)).rows;
    } catch (e) {
        return (e as Error).message;
    } finally {
        await c.end();
    }
}

/** One bootstrap, created and then updated in place, as the engine does (check → diff → update). */
class Stack {
    readonly db = uniqueName("priv");
    readonly app = { name: uniqueName("app"), password: `app-${Math.random().toString(36).slice(2)}` };
    readonly reader = { name: uniqueName("rd"), password: `rd-${Math.random().toString(36).slice(2)}` };
    /** Make the application role the database's owner (`database.owner`). */
    appOwnsDatabase = false;
    id = "";
    outs: Props = {};
    inputs: Props = {};

    args(app: Preset, scripts: Record<string, string>, reader?: Preset): Omit<BootstrapArgs, "connection"> {
        return {
            roles: [
                { name: this.app.name, password: this.app.password, privileges: app },
                ...(reader ? [{ name: this.reader.name, password: this.reader.password, privileges: reader }] : []),
            ],
            database: { name: this.db, ...(this.appOwnsDatabase ? { owner: this.app.name } : {}) },
            migrationSets: [{ name: "app", scripts }],
        };
    }

    async up(app: Preset, scripts: Record<string, string>, reader?: Preset): Promise<void> {
        const { inputs, failures } = await host.check(this.inputs, inputsFor(this.args(app, scripts, reader)));
        expect(failures).toEqual([]);
        if (!this.id) {
            const r = await host.create(inputs);
            this.id = r.id;
            this.outs = r.outs;
        } else {
            expect((await host.diff(this.id, this.outs, inputs)).changes).toBe("some");
            this.outs = await host.update(this.id, this.outs, inputs);
        }
        this.inputs = inputs;
        // Converged: a refresh finds the role as its preset wants it.
        expect((await host.read(this.id, this.outs)).props.drift).toEqual([]);
    }
}

const V1 = { "V1__first.sql": "CREATE TABLE first (id serial PRIMARY KEY, v text);" };
const V2 = { ...V1, "V2__later.sql": "CREATE TABLE later (id bigint GENERATED ALWAYS AS IDENTITY, v text);" };
const V3 = { ...V2, "V3__third.sql": "CREATE TABLE third (v text);" };

describe("privilege presets", () => {
    it("readwrite: rows of every table, including one a later migration makes, but no DDL and no history table", async () => {
        const s = new Stack();
        await s.up("readwrite", V1);
        expect(await as(s.app, s.db, "INSERT INTO first (v) VALUES ('a') RETURNING id")).toEqual([{ id: 1 }]);
        expect(await as(s.app, s.db, "UPDATE first SET v = 'b' RETURNING v")).toEqual([{ v: "b" }]);
        expect(await as(s.app, s.db, "CREATE TABLE mine (x int)")).toMatch(/permission denied for schema public/);
        expect(await as(s.app, s.db, "SELECT * FROM schema_history_app")).toMatch(/permission denied/);
        // In shape, the same inputs run no step (what lets a concurrent bootstrap find nothing left to do).
        await host.update(s.id, s.outs, s.inputs);
        await host.waitForLog(`[bootstrap ${s.db}] nothing to do`);

        await s.up("readwrite", V2);
        expect(await as(s.app, s.db, "INSERT INTO later (v) VALUES ('c') RETURNING id")).toEqual([{ id: "1" }]);
        expect(await as(s.app, s.db, "SELECT v FROM later")).toEqual([{ v: "c" }]);
        expect(await as(s.app, s.db, "DELETE FROM later RETURNING v")).toEqual([{ v: "c" }]);
        expect(await as(s.app, s.db, "ALTER TABLE later ADD COLUMN w int")).toMatch(/must be owner/);
        // A grant taken away out of band is drift, and the next up gives it back.
        await query(s.db, `REVOKE INSERT ON first FROM "${s.app.name}"`);
        const r = await host.read(s.id, s.outs);
        expect(r.props.drift).toEqual([
            `role ${s.app.name}: privileges differ from preset "readwrite" (up will grant INSERT on tables in public)`,
        ]);
        expect((await host.diff(s.id, r.props, s.inputs)).changes).toBe("some");
        s.outs = await host.update(s.id, r.props, s.inputs);
        expect(await as(s.app, s.db, "INSERT INTO first (v) VALUES ('d') RETURNING v")).toEqual([{ v: "d" }]);
        expect((await host.read(s.id, s.outs)).props.drift).toEqual([]);
    });

    it("readonly: SELECT on every table, now and later, nothing else", async () => {
        const s = new Stack();
        await s.up("readonly", V1);
        await query(s.db, "INSERT INTO first (v) VALUES ('seed')");
        expect(await as(s.app, s.db, "SELECT v FROM first")).toEqual([{ v: "seed" }]);
        expect(await as(s.app, s.db, "INSERT INTO first (v) VALUES ('x')")).toMatch(
            /permission denied for table first/,
        );
        expect(await as(s.app, s.db, "CREATE TABLE mine (x int)")).toMatch(/permission denied for schema public/);
        await s.up("readonly", V2);
        expect(await as(s.app, s.db, "SELECT count(*)::int AS n FROM later")).toEqual([{ n: 0 }]);
        expect(await as(s.app, s.db, "DELETE FROM later")).toMatch(/permission denied for table later/);
    });

    it("switching on a running database converges: readwrite → readonly revokes writes, → owner lets the app migrate, → none revokes", async () => {
        const s = new Stack();
        await s.up("readwrite", V1);
        expect(await as(s.app, s.db, "INSERT INTO first (v) VALUES ('a') RETURNING v")).toEqual([{ v: "a" }]);

        await s.up("readonly", V2);
        expect(await as(s.app, s.db, "INSERT INTO first (v) VALUES ('b')")).toMatch(
            /permission denied for table first/,
        );
        expect(await as(s.app, s.db, "INSERT INTO later (v) VALUES ('b')")).toMatch(
            /permission denied for table later/,
        );
        expect(await as(s.app, s.db, "SELECT v FROM first")).toEqual([{ v: "a" }]);
        expect(await as(s.app, s.db, "SELECT nextval('first_id_seq')")).toMatch(/permission denied for sequence/);

        await s.up("owner", V2);
        // The app migrates itself: its own tables, altered and indexed, beside the bootstrap's, which it may use.
        expect(await as(s.app, s.db, "CREATE TABLE mine (x int)")).toEqual([]);
        expect(await as(s.app, s.db, "ALTER TABLE mine ADD COLUMN y text")).toEqual([]);
        expect(await as(s.app, s.db, "CREATE INDEX mine_y ON mine (y)")).toEqual([]);
        expect(await as(s.app, s.db, "CREATE SCHEMA app_own")).toEqual([]);
        expect(await as(s.app, s.db, "INSERT INTO later (v) VALUES ('c') RETURNING v")).toEqual([{ v: "c" }]);
        expect(await as(s.app, s.db, "TRUNCATE first")).toEqual([]);

        await s.up("none", V3);
        expect(await as(s.app, s.db, "CREATE TABLE mine2 (x int)")).toMatch(/permission denied for schema public/);
        expect(await as(s.app, s.db, "SELECT * FROM later")).toMatch(/permission denied for table later/);
        expect(await as(s.app, s.db, "SELECT * FROM third")).toMatch(/permission denied for table third/);
        expect(await as(s.app, s.db, "SELECT count(*)::int AS n FROM mine")).toEqual([{ n: 0 }]); // still its own
        expect(
            await query(
                s.db,
                `SELECT count(*)::int AS n FROM pg_default_acl d, aclexplode(d.defaclacl) a
                 WHERE a.grantee = (SELECT oid FROM pg_roles WHERE rolname = $1)`,
                [s.app.name],
            ),
        ).toEqual([{ n: 0 }]);
    });

    it("owner on a fresh database: the app creates and alters its tables, and a readonly role reads them", async () => {
        const s = new Stack();
        await s.up("owner", {}, "readonly");
        expect(await as(s.app, s.db, "CREATE TABLE own (id serial PRIMARY KEY, v text)")).toEqual([]);
        expect(await as(s.app, s.db, "ALTER TABLE own ADD COLUMN w int")).toEqual([]);
        expect(await as(s.app, s.db, "INSERT INTO own (v) VALUES ('x') RETURNING id")).toEqual([{ id: 1 }]);
        // Default privileges for the owner role reach tables the app's own migrations create.
        expect(await as(s.reader, s.db, "SELECT v FROM own")).toEqual([{ v: "x" }]);
        expect(await as(s.reader, s.db, "INSERT INTO own (v) VALUES ('y')")).toMatch(/permission denied/);
        expect(await as(s.reader, s.db, "CREATE TABLE r (x int)")).toMatch(/permission denied for schema public/);
    });

    it("a role that owns the database keeps what ownership gives it, and its preset still converges", async () => {
        const s = new Stack();
        s.appOwnsDatabase = true;
        // The other role's "owner" grants CREATE on the database, so its ACL lists the owner's own privileges too.
        await s.up("readonly", V1, "owner");
        expect(await as(s.app, s.db, "CREATE SCHEMA mine")).toEqual([]);
        expect(await as(s.app, s.db, "SELECT count(*)::int AS n FROM first")).toEqual([{ n: 0 }]);
        await host.update(s.id, s.outs, s.inputs);
        await host.waitForLog(`[bootstrap ${s.db}] nothing to do`);
    });

    it("the default grants nothing: the migrations' own GRANTs are all the role has, and the wire carries no field", async () => {
        const db = uniqueName("priv");
        const app = { name: uniqueName("app"), password: "app-default-pw" };
        const args: Omit<BootstrapArgs, "connection"> = {
            roles: [{ name: app.name, password: app.password }],
            database: { name: db },
            migrationSets: [
                {
                    name: "app",
                    scripts: { "V1__t.sql": `CREATE TABLE t (v text);\nGRANT SELECT ON t TO "${app.name}";` },
                },
            ],
        };
        const inputs = inputsFor(args);
        expect(Object.keys(inputs.roles[app.name])).not.toContain("privileges");
        const { inputs: checked } = await host.check({}, inputs);
        const { id, outs } = await host.create(checked);
        expect(await as(app, db, "SELECT count(*)::int AS n FROM t")).toEqual([{ n: 0 }]);
        expect(await as(app, db, "INSERT INTO t VALUES ('x')")).toMatch(/permission denied for table t/);
        expect((await host.read(id, outs)).props.drift).toEqual([]);
    });
});
