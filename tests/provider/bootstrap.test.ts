/**
 * The bootstrap provider end to end: closure-serialized, driven over gRPC through Pulumi's dynamic-provider
 * host, against the real Postgres cluster started by .ci/run.
 */
import { Client } from "pg";
import { flywayChecksum } from "../../provider/migrations";

/** What a history row records: Flyway's checksum (an integer column; `applied` carries it as text). */
const crc = (sql: string) => flywayChecksum(sql);
import { ProviderHost } from "../support/provider-host";
import { inputsFor, PG, query } from "../support/pg";
import { fixture, withScripts } from "../support/bootstrap-fixtures";

type Props = Record<string, any>;
const host = new ProviderHost();
const secrets: string[] = [PG.password];

beforeAll(async () => {
    await host.start();
}, 60000);

afterAll(async () => {
    await host.stop();
    // No password may appear in anything the provider logged during the whole file.
    for (const s of secrets) expect(host.stderr).not.toContain(s);
});

/** check → create, as the engine does for a new resource. */
async function create(inputs: Props): Promise<{ id: string; outs: Props; checked: Props }> {
    const { inputs: checked, failures } = await host.check({}, inputs);
    expect(failures).toEqual([]);
    const { id, outs } = await host.create(checked);
    return { id, outs, checked };
}

/** check → diff → update, as the engine does for a changed resource. Returns outs and the diff. */
async function update(
    id: string,
    olds: Props,
    oldInputs: Props,
    inputs: Props,
): Promise<{ outs: Props; changes: string; checked: Props }> {
    const { inputs: checked, failures } = await host.check(oldInputs, inputs);
    expect(failures).toEqual([]);
    const { changes, replaces } = await host.diff(id, olds, checked);
    expect(replaces).toEqual([]);
    const outs = await host.update(id, olds, checked);
    return { outs, changes, checked };
}

async function history(
    db: string,
    table: string,
    schema = "public",
): Promise<{ version: string | null; script: string; checksum: string; success: boolean }[]> {
    return query(
        db,
        `SELECT version, script, checksum, success FROM "${schema}"."${table}" ORDER BY installed_rank`,
    ) as any;
}

describe("fresh create", () => {
    it("waits, creates roles and database, applies both migration sets and content; a second run changes nothing", async () => {
        const f = fixture();
        secrets.push(f.ownerPassword, f.appPassword);
        const { id, outs, checked } = await create(f.inputs());
        expect(id).toBe(f.db);

        const roles = await query(
            "postgres",
            "SELECT rolname, rolcanlogin, rolconnlimit FROM pg_roles WHERE rolname = ANY($1) ORDER BY rolname",
            [[f.owner, f.app]],
        );
        expect(roles).toEqual(
            [
                { rolname: f.app, rolcanlogin: true, rolconnlimit: 20 },
                { rolname: f.owner, rolcanlogin: true, rolconnlimit: -1 },
            ].sort((a, b) => (a.rolname < b.rolname ? -1 : 1)),
        );
        const dbs = await query(
            "postgres",
            "SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = $1",
            [f.db],
        );
        expect(dbs).toEqual([{ owner: f.owner }]);
        expect((await history(f.db, "schema_history_app")).map((r) => r.script)).toEqual([
            "V1__init.sql",
            "V1.1__add_price.sql",
            "R__item_view.sql",
        ]);
        expect((await history(f.db, "schema_history_sso", "sso")).map((r) => r.script)).toEqual(["V1__sso_schema.sql"]);
        expect((await history(f.db, "content_history")).map((r) => r.script)).toEqual(["001_welcome.sql"]);
        expect(await query(f.db, "SELECT name, price FROM item")).toEqual([{ name: "welcome", price: "0" }]);
        expect(await query(f.db, "SELECT extname FROM pg_extension WHERE extname = 'pgcrypto'")).toEqual([
            { extname: "pgcrypto" },
        ]);

        // The application role logs in with its own password and sees what the migration granted.
        const appClient = new Client({
            host: PG.host,
            port: PG.port,
            user: f.app,
            password: f.appPassword,
            database: f.db,
        });
        await appClient.connect();
        expect((await appClient.query("SELECT count(*)::int AS n FROM item")).rows).toEqual([{ n: 1 }]);
        await appClient.end();

        expect(Object.keys(outs.applied.app).sort()).toEqual([
            "R__item_view.sql",
            "V1.1__add_price.sql",
            "V1__init.sql",
        ]);
        expect(outs.applied.sso).toEqual({
            "V1__sso_schema.sql": String(
                crc("CREATE TABLE sso.account (id serial PRIMARY KEY, login text UNIQUE NOT NULL);"),
            ),
        });
        // State keeps a digest per set, not the SQL (or even a row) for every migration ever written.
        expect(outs.migrationSets[0]).toEqual(
            expect.objectContaining({ name: "app", fileCount: 3, filesDigest: expect.stringMatching(/^sha256:/) }),
        );
        expect(outs.migrationSets[0].files).toBeUndefined();
        expect(outs.roleNames).toEqual([f.owner, f.app].sort());
        expect(outs.databaseName).toBe(f.db);

        // Same inputs again: the diff is empty and a forced update applies nothing.
        expect((await host.diff(id, outs, checked)).changes).toBe("none");
        const before = await query(f.db, "SELECT count(*)::int AS n FROM schema_history_app");
        const again = await host.update(id, outs, checked);
        expect(await query(f.db, "SELECT count(*)::int AS n FROM schema_history_app")).toEqual(before);
        expect(await query(f.db, "SELECT count(*)::int AS n FROM item")).toEqual([{ n: 1 }]);
        expect(again.applied).toEqual(outs.applied);
        await host.waitForLog(`[bootstrap ${f.db}] nothing to do`);
    });
});

describe("incremental updates", () => {
    const f = fixture();
    let id = "";
    let outs: Props = {};
    let inputs: Props = {};
    const appScripts = (f.args.migrationSets![0].scripts ?? {}) as Record<string, string>;

    beforeAll(async () => {
        secrets.push(f.ownerPassword, f.appPassword);
        const r = await create(f.inputs());
        id = r.id;
        outs = r.outs;
        inputs = r.checked;
    });

    async function step(args: typeof f.args): Promise<string> {
        const r = await update(id, outs, inputs, inputsFor(args));
        outs = r.outs;
        inputs = r.checked;
        return r.changes;
    }

    it("adding a migration applies only it", async () => {
        const before = await history(f.db, "schema_history_app");
        f.args = withScripts(f.args, "app", {
            ...appScripts,
            "V2__add_sku.sql": "ALTER TABLE item ADD COLUMN sku text;",
        });
        expect(await step(f.args)).toBe("some");
        const after = await history(f.db, "schema_history_app");
        expect(after.slice(0, before.length)).toEqual(before);
        expect(after.slice(before.length).map((r) => r.script)).toEqual(["V2__add_sku.sql"]);
        expect(Object.keys(outs.applied.app).sort()).toEqual([
            "R__item_view.sql",
            "V1.1__add_price.sql",
            "V1__init.sql",
            "V2__add_sku.sql",
        ]);
    });

    it("changing a repeatable re-applies only it", async () => {
        const before = await history(f.db, "schema_history_app");
        const scripts = {
            ...(f.args.migrationSets![0].scripts as Record<string, string>),
            "R__item_view.sql": "CREATE OR REPLACE VIEW item_names AS SELECT name, sku FROM item;",
        };
        f.args = withScripts(f.args, "app", scripts);
        await step(f.args);
        const after = await history(f.db, "schema_history_app");
        expect(after.slice(before.length)).toEqual([
            { version: null, script: "R__item_view.sql", checksum: crc(scripts["R__item_view.sql"]), success: true },
        ]);
        expect(
            (
                await query(
                    f.db,
                    "SELECT column_name FROM information_schema.columns WHERE table_name = 'item_names' ORDER BY ordinal_position",
                )
            ).map((r) => r.column_name),
        ).toEqual(["name", "sku"]);
        expect((await history(f.db, "schema_history_sso", "sso")).length).toBe(1);
    });

    it("changing content redeploys it, and only it", async () => {
        f.args = {
            ...f.args,
            content: {
                items: {
                    "001_welcome.sql":
                        "INSERT INTO item (name) SELECT 'hello' WHERE NOT EXISTS (SELECT 1 FROM item WHERE name = 'hello');",
                },
            },
        };
        const appBefore = await history(f.db, "schema_history_app");
        await step(f.args);
        expect((await history(f.db, "content_history")).length).toBe(2);
        expect(await history(f.db, "schema_history_app")).toEqual(appBefore);
        expect((await query(f.db, "SELECT name FROM item ORDER BY id")).map((r) => r.name)).toEqual([
            "welcome",
            "hello",
        ]);
    });

    /** Runs an update that must be refused; asserts nothing was applied anywhere. */
    async function refused(args: typeof f.args, ...fragments: string[]): Promise<void> {
        const snapshot = async () => [
            await history(f.db, "schema_history_app"),
            await history(f.db, "schema_history_sso", "sso"),
            await history(f.db, "content_history"),
        ];
        const before = await snapshot();
        const { inputs: checked } = await host.check(inputs, inputsFor(args));
        const err = await host.update(id, outs, checked).then(
            () => undefined,
            (e: Error) => e,
        );
        expect(err).toBeInstanceOf(Error);
        for (const frag of fragments) expect(err!.message).toContain(frag);
        expect(err!.message).toContain("nothing was applied");
        expect(await snapshot()).toEqual(before);
        expect(await query(f.db, "SELECT to_regclass('never_created')::text AS t")).toEqual([{ t: null }]);
    }
    const current = () => f.args.migrationSets![0].scripts as Record<string, string>;
    const never = { "V9__never.sql": "CREATE TABLE never_created (id int);" };

    it("an edited applied migration is refused, naming the file and both checksums", async () => {
        const edited = { ...current(), "V1__init.sql": current()["V1__init.sql"] + "\n-- edited", ...never };
        await refused(
            withScripts(f.args, "app", edited),
            "V1__init.sql",
            "edited after it was applied",
            String(crc(current()["V1__init.sql"])),
            String(crc(edited["V1__init.sql"])),
        );
    });

    it("a missing applied file is refused unless ignoreMissing is set", async () => {
        const { ["V1.1__add_price.sql"]: _gone, ...rest } = current();
        await refused(
            withScripts(f.args, "app", { ...rest, ...never }),
            "V1.1__add_price.sql",
            "its file is gone",
            "ignoreMissing",
        );
        const allowed = {
            ...f.args,
            migrationSets: f.args.migrationSets!.map((s) =>
                s.name === "app" ? { ...s, scripts: rest, ignoreMissing: true } : s,
            ),
        };
        const r = await update(id, outs, inputs, inputsFor(allowed));
        expect(Object.keys(r.outs.applied.app)).toContain("V1.1__add_price.sql");
    });

    it("a new version below the highest applied is refused unless outOfOrder is set", async () => {
        const late = { ...current(), "V1.5__late.sql": "CREATE TABLE late (id int);", ...never };
        await refused(
            withScripts(f.args, "app", late),
            "V1.5__late.sql",
            "lower than the highest applied version 2",
            "outOfOrder",
        );
        const allowed = {
            ...f.args,
            migrationSets: f.args.migrationSets!.map((s) =>
                s.name === "app"
                    ? {
                          ...s,
                          scripts: { ...current(), "V1.5__late.sql": "CREATE TABLE late (id int);" },
                          outOfOrder: true,
                      }
                    : s,
            ),
        };
        const r = await update(id, outs, inputs, inputsFor(allowed));
        expect(Object.keys(r.outs.applied.app)).toContain("V1.5__late.sql");
        expect(await query(f.db, "SELECT to_regclass('late')::text AS t")).toEqual([{ t: "late" }]);
        f.args = allowed;
        outs = r.outs;
        inputs = r.checked;
    });

    it("duplicate versions are rejected by check (V3 and V003)", async () => {
        const dup = { ...current(), "V3__a.sql": "SELECT 1;", "V003__b.sql": "SELECT 2;" };
        const { failures } = await host.check(inputs, inputsFor(withScripts(f.args, "app", dup)));
        expect(failures.map((x) => x.reason).join("\n")).toMatch(
            /V003__b.sql.*V3__a.sql.*version 3|V3__a.sql.*V003__b.sql.*version 3/,
        );
    });

    it("psql meta-commands are rejected by check and refused by the planner", async () => {
        const meta = {
            ...current(),
            "V3__meta.sql": "\\connect other\nCREATE TABLE x (id int);",
            "V4__copy.sql": "COPY item (name) FROM stdin;\nfoo\n\\.\n",
        };
        const { failures } = await host.check(inputs, inputsFor(withScripts(f.args, "app", meta)));
        const text = failures.map((x) => x.reason).join("\n");
        expect(text).toContain("V3__meta.sql line 1 has a psql meta-command (\\connect other)");
        expect(text).toContain("V4__copy.sql line 1 has a psql meta-command (COPY item (name) FROM stdin)");
        await refused(withScripts(f.args, "app", { ...meta, ...never }), "V3__meta.sql", "meta-command");
    });

    it("a failing migration rolls back, leaves no history row, and the fixed file completes", async () => {
        const before = await history(f.db, "schema_history_app");
        const broken = { ...current(), "V3__broken.sql": "CREATE TABLE half_done (id int);\nSELECT 1/0;" };
        const { inputs: checked } = await host.check(inputs, inputsFor(withScripts(f.args, "app", broken)));
        await expect(host.update(id, outs, checked)).rejects.toThrow(
            /V3__broken.sql failed: division by zero.*rolled back and not recorded/,
        );
        expect(await history(f.db, "schema_history_app")).toEqual(before);
        expect(await query(f.db, "SELECT to_regclass('half_done')::text AS t")).toEqual([{ t: null }]);
        // A syntax error is placed by its character in the file (line 2 starts at character 34).
        const typo = { ...current(), "V3__broken.sql": "CREATE TABLE half_done (id int);\nSELEC 1;" };
        const { inputs: typoChecked } = await host.check(inputs, inputsFor(withScripts(f.args, "app", typo)));
        await expect(host.update(id, outs, typoChecked)).rejects.toThrow(
            /V3__broken.sql failed: syntax error at or near "SELEC" \(SQLSTATE 42601\) at character 34\./,
        );
        expect(await history(f.db, "schema_history_app")).toEqual(before);
        expect(await query(f.db, "SELECT to_regclass('half_done')::text AS t")).toEqual([{ t: null }]);
        f.args = withScripts(f.args, "app", { ...current(), "V3__broken.sql": "CREATE TABLE half_done (id int);" });
        await step(f.args);
        expect((await history(f.db, "schema_history_app")).map((r) => r.script).slice(-1)).toEqual(["V3__broken.sql"]);
    });

    it("a migration marked no-transaction runs CREATE INDEX CONCURRENTLY", async () => {
        f.args = withScripts(f.args, "app", {
            ...current(),
            "V4__index.sql":
                "-- bootstrap:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS item_name_idx ON item (name);\nCREATE INDEX CONCURRENTLY IF NOT EXISTS item_sku_idx ON item (sku);",
        });
        await step(f.args);
        expect(
            (
                await query(
                    f.db,
                    "SELECT indexname FROM pg_indexes WHERE tablename = 'item' AND indexname LIKE 'item_%_idx' ORDER BY 1",
                )
            ).map((r) => r.indexname),
        ).toEqual(["item_name_idx", "item_sku_idx"]);
    });

    it("a file of statements PostgreSQL runs only outside a transaction runs so without a marker, and a byte-order mark is dropped, as Flyway does", async () => {
        f.args = withScripts(f.args, "app", {
            ...current(),
            "V4.1__price_index.sql":
                "CREATE INDEX CONCURRENTLY IF NOT EXISTS item_price_idx ON item (price);\nVACUUM ANALYZE item;",
            // Saved by an editor that writes a UTF-8 byte-order mark: dropped, as Flyway drops it.
            "V4.2__bom.sql": "\uFEFFCREATE TABLE bom_saved (id int);",
        });
        await step(f.args);
        expect((await query(f.db, "SELECT indexname FROM pg_indexes WHERE indexname = 'item_price_idx'")).length).toBe(
            1,
        );
        expect((await history(f.db, "schema_history_app")).slice(-2)).toEqual([
            expect.objectContaining({ script: "V4.1__price_index.sql", success: true }),
            expect.objectContaining({
                script: "V4.2__bom.sql",
                success: true,
                checksum: crc("CREATE TABLE bom_saved (id int);"),
            }),
        ]);
        // Beside another statement it is refused by check, before anything runs, naming the way out.
        const mixed = inputsFor(
            withScripts(f.args, "app", {
                ...current(),
                "V4.3__mixed.sql":
                    "ALTER TABLE item ADD COLUMN note text;\nCREATE INDEX CONCURRENTLY item_note_idx ON item (note);",
            }),
        );
        const { failures } = await host.check(inputs, mixed);
        expect(failures.map((x) => x.reason)).toEqual([
            expect.stringContaining('V4.3__mixed.sql mixes "CREATE INDEX CONCURRENTLY ITEM_NOTE_IDX'),
        ]);
    });

    it("refresh sees a role dropped out of band; the next update restores it", async () => {
        await query("postgres", `DROP ROLE "${f.app}"`).catch(async () => {
            await query(f.db, `REASSIGN OWNED BY "${f.app}" TO postgres; DROP OWNED BY "${f.app}"`);
            await query("postgres", `DROP ROLE "${f.app}"`);
        });
        const r = await host.read(id, outs);
        expect(r.props.drift).toContain(`role ${f.app} is missing`);
        expect(Object.keys(r.props.roles)).not.toContain(f.app);
        expect(r.inputs).toBeUndefined();
        const { changes } = await host.diff(id, r.props, inputs);
        expect(changes).toBe("some");
        outs = await host.update(id, r.props, inputs);
        expect(await query("postgres", "SELECT rolname FROM pg_roles WHERE rolname = $1", [f.app])).toEqual([
            { rolname: f.app },
        ]);
        expect((await host.read(id, outs)).props.drift).toEqual([]);
    });

    it("refresh sees an extension dropped out of band; the next update creates it again", async () => {
        await query(f.db, "DROP EXTENSION pgcrypto");
        const r = await host.read(id, outs);
        expect(r.props.drift).toContain("extensions missing: pgcrypto");
        outs = await host.update(id, r.props, inputs);
        expect(await query(f.db, "SELECT extname FROM pg_extension WHERE extname = 'pgcrypto'")).toEqual([
            { extname: "pgcrypto" },
        ]);
    });

    it("refresh sees a password changed out of band; the next update sets it back", async () => {
        await query("postgres", `ALTER ROLE "${f.app}" PASSWORD 'changed-by-hand'`);
        const r = await host.read(id, outs);
        expect(r.props.drift).toContain(`role ${f.app}: password was changed outside Pulumi`);
        outs = await host.update(id, r.props, inputs);
        const c = new Client({ host: PG.host, port: PG.port, user: f.app, password: f.appPassword, database: f.db });
        await c.connect();
        await c.end();
    });

    it("refresh sees an edited history row, and the next update refuses it", async () => {
        await query(f.db, "UPDATE schema_history_app SET checksum = 12345 WHERE script = 'V2__add_sku.sql'");
        const r = await host.read(id, outs);
        expect(r.props.drift).toContain(
            'migration set "app": V2__add_sku.sql is recorded with checksum 12345, expected ' +
                crc("ALTER TABLE item ADD COLUMN sku text;"),
        );
        await expect(host.update(id, r.props, inputs)).rejects.toThrow(
            /V2__add_sku.sql was edited after it was applied \(applied checksum 12345,/,
        );
        await query(f.db, "UPDATE schema_history_app SET checksum = $1 WHERE script = 'V2__add_sku.sql'", [
            crc("ALTER TABLE item ADD COLUMN sku text;"),
        ]);
    });

    it("a role removed from the inputs is left in place, and dropped only with dropRemovedRoles", async () => {
        const extra = { name: `${f.app}_x`, login: false };
        f.args = { ...f.args, roles: [...f.args.roles!, extra] };
        await step(f.args);
        f.args = { ...f.args, roles: f.args.roles!.filter((r) => r.name !== extra.name) };
        await step(f.args);
        await host.waitForLog(`role ${extra.name} was removed from the inputs and is left in place`);
        expect(await query("postgres", "SELECT 1 AS x FROM pg_roles WHERE rolname = $1", [extra.name])).toEqual([
            { x: 1 },
        ]);
        // dropRemovedRoles acts on roles removed in that same update.
        f.args = { ...f.args, roles: [...f.args.roles!, extra] };
        await step(f.args);
        f.args = { ...f.args, roles: f.args.roles!.filter((r) => r.name !== extra.name), dropRemovedRoles: true };
        await step(f.args);
        expect(await query("postgres", "SELECT 1 AS x FROM pg_roles WHERE rolname = $1", [extra.name])).toEqual([]);
    });

    it("renaming the database is refused by check, never a replacement", async () => {
        const { failures } = await host.check(
            inputs,
            inputsFor({ ...f.args, database: { ...f.args.database, name: `${f.db}_renamed` } }),
        );
        expect(failures).toEqual([
            expect.objectContaining({
                property: "database.name",
                reason: expect.stringContaining(`changing the name of existing database "${f.db}"`),
            }),
        ]);
    });

    it("delete retains database and roles by default and says so", async () => {
        await host.delete(id, outs);
        await host.waitForLog(`onDelete is "retain": database ${f.db}`);
        expect(await query("postgres", "SELECT 1 AS x FROM pg_database WHERE datname = $1", [f.db])).toEqual([
            { x: 1 },
        ]);
    });
});

describe("refresh of a dropped database", () => {
    it("reports the database missing and the next update recreates it and reapplies every migration", async () => {
        const f = fixture();
        secrets.push(f.ownerPassword, f.appPassword);
        const { id, outs, checked } = await create(f.inputs());
        await query("postgres", `DROP DATABASE "${f.db}" WITH (FORCE)`);
        const r = await host.read(id, outs);
        expect(r.props.drift).toContain(`database ${f.db} is missing`);
        expect(r.props.drift).toContain(
            'migration set "app": V1__init.sql is no longer recorded in public.schema_history_app',
        );
        expect((await host.diff(id, r.props, checked)).changes).toBe("some");
        await host.update(id, r.props, checked);
        expect((await history(f.db, "schema_history_app")).length).toBe(3);
    });
});

describe("delete with onDelete: drop", () => {
    it("drops the database and the roles", async () => {
        const f = fixture();
        secrets.push(f.ownerPassword, f.appPassword);
        const { id, outs } = await create(inputsFor({ ...f.args, onDelete: "drop" }));
        await host.delete(id, outs);
        expect(await query("postgres", "SELECT 1 FROM pg_database WHERE datname = $1", [f.db])).toEqual([]);
        expect(await query("postgres", "SELECT 1 FROM pg_roles WHERE rolname = ANY($1)", [[f.owner, f.app]])).toEqual(
            [],
        );
    });
});

describe("names and injection", () => {
    it("rejects injection attempts in role, database, schema and table names before anything runs", async () => {
        const f = fixture();
        const bad = inputsFor({
            ...f.args,
            roles: [{ name: `x"; DROP TABLE item; --` }],
            database: { name: "db'; DROP DATABASE postgres; --", owner: "postgres" },
            migrationSets: [{ name: "app", schema: 'public"; DROP SCHEMA public; --', table: "t;DROP", scripts: {} }],
        });
        const { failures } = await host.check({}, bad);
        const props = failures.map((x) => x.property);
        expect(props).toEqual(
            expect.arrayContaining([
                `roles.x"; DROP TABLE item; --`,
                "database.name",
                "migrationSets[0].schema",
                "migrationSets[0].table",
            ]),
        );
        expect(failures.find((x) => x.property === "database.name")!.reason).toContain(
            "is not allowed; use 1-63 letters",
        );
    });

    it("escapes names that need quoting (upper case, hyphen) instead of concatenating them", async () => {
        const f = fixture();
        const role = `App-${f.app}`.slice(0, 60);
        const dbName = `Db-${f.db}`.slice(0, 60);
        secrets.push(f.appPassword);
        await create(
            inputsFor({
                roles: [{ name: role, password: f.appPassword }],
                database: { name: dbName, owner: role },
                migrationSets: [{ name: "app", schema: "My-Schema", scripts: { "V1__t.sql": "SELECT 1;" } }],
            }),
        );
        expect(
            await query("postgres", "SELECT pg_get_userbyid(datdba) AS o FROM pg_database WHERE datname = $1", [
                dbName,
            ]),
        ).toEqual([{ o: role }]);
        expect(await query(dbName, 'SELECT count(*)::int AS n FROM "My-Schema".schema_history_app')).toEqual([
            { n: 1 },
        ]);
    });
});

describe("role order, session state between migrations, encodings and passwords", () => {
    it("creates roles in membership order whatever the input order, and drops a removed owner after the database changed owner", async () => {
        const f = fixture();
        const [base, readers] = [`${f.app}_base`, `${f.app}_readers`];
        const roles = [
            { name: f.owner },
            { name: f.app, memberOf: [readers] },
            { name: readers, login: false, memberOf: [base] },
            { name: base, login: false },
        ];
        const first = await create(inputsFor({ roles, database: { name: f.db, owner: f.owner } }));
        const members = await query(
            "postgres",
            "SELECT m.rolname AS member, g.rolname AS grp FROM pg_auth_members a JOIN pg_roles m ON m.oid = a.member JOIN pg_roles g ON g.oid = a.roleid WHERE m.rolname = ANY($1) ORDER BY 1",
            [[f.app, readers]],
        );
        expect(members).toEqual(
            [
                { member: f.app, grp: readers },
                { member: readers, grp: base },
            ].sort((a, b) => (a.member < b.member ? -1 : 1)),
        );
        // The owner leaves the inputs and the database goes to the app role: the drop must come after ALTER OWNER.
        const next = inputsFor({
            roles: roles.slice(1),
            database: { name: f.db, owner: f.app },
            dropRemovedRoles: true,
        });
        await update(first.id, first.outs, first.checked, next);
        expect(
            await query("postgres", "SELECT pg_get_userbyid(datdba) AS o FROM pg_database WHERE datname = $1", [f.db]),
        ).toEqual([{ o: f.app }]);
        expect(await query("postgres", "SELECT 1 AS x FROM pg_roles WHERE rolname = $1", [f.owner])).toEqual([]);
    });

    it("starts every migration as the admin with the session's defaults: SET ROLE and SET search_path do not carry over", async () => {
        const f = fixture();
        const scripts = {
            "V1__as_owner.sql": `SET ROLE "${f.owner}";\nCREATE TABLE owned (id int);`,
            "V2__side.sql": "CREATE SCHEMA side;\nSET search_path TO side;\nCREATE TABLE in_side (id int);",
            "V3__plain.sql": "CREATE TABLE plain (id int);",
            "V4__outside.sql": `-- bootstrap:no-transaction\nSET ROLE "${f.owner}";\nCREATE TABLE owned_outside (id int);`,
            "V5__plain_again.sql": "CREATE TABLE plain_again (id int);",
        };
        await create(
            inputsFor({
                roles: [{ name: f.owner }],
                database: { name: f.db, owner: f.owner },
                migrationSets: [{ name: "app", scripts }],
            }),
        );
        const rows = await query(
            f.db,
            "SELECT script, success, installed_by FROM public.schema_history_app ORDER BY installed_rank",
        );
        expect(rows).toEqual(Object.keys(scripts).map((script) => ({ script, success: true, installed_by: PG.user })));
        const owners = await query(
            f.db,
            "SELECT c.relname AS t, n.nspname AS s, pg_get_userbyid(c.relowner) AS o FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relname = ANY($1) ORDER BY 1",
            [["owned", "in_side", "plain", "owned_outside", "plain_again"]],
        );
        expect(owners).toEqual([
            { t: "in_side", s: "side", o: PG.user },
            { t: "owned", s: "public", o: f.owner },
            { t: "owned_outside", s: "public", o: f.owner },
            { t: "plain", s: "public", o: PG.user },
            { t: "plain_again", s: "public", o: PG.user },
        ]);
    });

    it("takes an encoding alias the server knows (iso-8859-1 is LATIN1) and runs again without a false refusal; a locale change is refused", async () => {
        const f = fixture();
        const args = {
            roles: [{ name: f.owner }],
            database: { name: f.db, owner: f.owner, encoding: "iso-8859-1", locale: "C", template: "template0" },
        };
        const first = await create(inputsFor(args));
        expect(
            await query(
                "postgres",
                "SELECT pg_encoding_to_char(encoding) AS e, datcollate AS c FROM pg_database WHERE datname = $1",
                [f.db],
            ),
        ).toEqual([{ e: "LATIN1", c: "C" }]);
        const again = await update(first.id, first.outs, first.checked, inputsFor(args));
        expect(again.changes).toBe("none");
        await expect(
            host.update(
                first.id,
                first.outs,
                inputsFor({ ...args, database: { ...args.database, encoding: "LATIN1" } }),
            ),
        ).resolves.toBeDefined();
        const { inputs: changed } = await host.check(
            first.checked,
            inputsFor({ ...args, database: { ...args.database, locale: "C.UTF-8" } }),
        );
        await expect(host.update(first.id, first.outs, changed)).rejects.toThrow(
            /database.locale: database ".*" exists with LC_COLLATE C and LC_CTYPE C; a locale cannot be changed in place/,
        );
    });

    it("a change of the wait policy alone is an update that runs no step and stores the new waits for refresh and destroy", async () => {
        const f = fixture();
        const args = { roles: [{ name: f.owner }], database: { name: f.db, owner: f.owner } };
        const first = await create(inputsFor(args));
        const longer = inputsFor({ ...args, wait: { timeoutSeconds: 300, lockTimeoutSeconds: 900 } });
        const r = await update(first.id, first.outs, first.checked, longer);
        expect(r.changes).toBe("some");
        expect(r.outs.wait).toEqual(expect.objectContaining({ timeoutSeconds: 300, lockTimeoutSeconds: 900 }));
        await host.waitForLog(`[bootstrap ${f.db}] nothing to do`);
    });

    it("stores a verifier a client can log in with when the password has characters SASLprep maps (soft hyphen, no-break space)", async () => {
        const f = fixture();
        const password = `soft\u00ADhyphen\u00A0${f.appPassword}`;
        secrets.push(password, f.appPassword);
        await create(inputsFor({ roles: [{ name: f.app, password }], database: { name: f.db, owner: f.app } }));
        const client = new Client({ host: PG.host, port: PG.port, user: f.app, password, database: f.db });
        await client.connect();
        expect((await client.query("SELECT current_user AS u")).rows).toEqual([{ u: f.app }]);
        await client.end();
    });
    it("says why the admin login fails when the server hashed a password SASLprep changes as typed", async () => {
        const f = fixture();
        const admin = `${f.app}_admin`;
        const password = `a\u00A0b\u{1F642}${f.appPassword}`; // measured: psql logs in with it, the pg client cannot
        secrets.push(password);
        await query("postgres", `CREATE ROLE ${admin} LOGIN SUPERUSER PASSWORD '${password}'`); // hashed by the server
        try {
            const { inputs: checked } = await host.check(
                {},
                inputsFor({ connection: { ...PG, user: admin, password }, database: { name: f.db } }),
            );
            const err = await host.create(checked).then(
                () => undefined,
                (e: Error) => e,
            );
            expect(err?.message).toMatch(
                /as user "[a-z0-9_]+_admin": password authentication failed.*changes under SASLprep.*set a password in the form SASLprep leaves it/,
            );
            expect(err?.message).not.toContain(password);
        } finally {
            await query("postgres", `DROP ROLE ${admin}`);
        }
    });
});

describe("secrets", () => {
    it("never puts a password in errors, logs or the server log", async () => {
        const f = fixture();
        secrets.push(f.ownerPassword, f.appPassword);
        // A failing role statement: the server logs the failing statement, which must not carry the password.
        const inputs = inputsFor({
            ...f.args,
            roles: [{ name: f.app, password: f.appPassword, memberOf: ["no_such_group_role"] }],
            database: { name: f.db, owner: "postgres" },
        });
        const { inputs: checked } = await host.check({}, inputs);
        const err = await host.create(checked).then(
            () => undefined,
            (e: Error) => e,
        );
        expect(err?.message).toContain("no_such_group_role");
        expect(err?.message).not.toContain(f.appPassword);
        const fs = await import("fs");
        const serverLog = `${process.env.PDC_PG_DIR ?? "/tmp/pdc-pg"}/server.log`;
        if (fs.existsSync(serverLog)) expect(fs.readFileSync(serverLog, "utf8")).not.toContain(f.appPassword);
        expect(host.stderr).not.toContain(f.appPassword);
    });
});
