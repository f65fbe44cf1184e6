/**
 * The provider and the real Flyway (13.12.2, open-source; tests/infra/flyway.sh) on the same folders: the same
 * history rows and schema, each carrying on from the other's history, and the same judgement of edited files.
 */
import { ProviderHost } from "../support/provider-host";
import { BootstrapStack, migrationFolder, removeMigrationFolders } from "../support/bootstrap-stack";
import { createOracleDatabase, flywayHistory, runFlyway } from "../support/flyway";
import { PG, query } from "../support/pg";
import { dropIn, dropInPlaceholders, V1 } from "../support/bootstrap-fixtures";

jest.setTimeout(300_000);
const host = new ProviderHost();
const databases: string[] = [];

beforeAll(async () => {
    await host.start();
}, 60000);

afterAll(async () => {
    await host.stop();
    expect(host.stderr).not.toContain(PG.password);
    removeMigrationFolders();
    for (const db of databases) await query("postgres", `DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`);
});

async function flywayDb(): Promise<string> {
    const db = await createOracleDatabase();
    databases.push(db);
    return db;
}

/** What both must agree on: every history column but time, rank-wise. */
const rows = async (db: string) =>
    (await flywayHistory(db)).map(({ version, description, type, script, checksum, success }) => ({
        version,
        description,
        type,
        script,
        checksum,
        success,
    }));

/** The application's schema: tables, columns, indexes, and what the callbacks logged. */
async function schemaOf(db: string): Promise<unknown> {
    return {
        columns: await query(
            db,
            "SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1, 2",
        ),
        indexes: await query(
            db,
            "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1, 2",
        ),
        log: await query(db, "SELECT what FROM migrate_log ORDER BY at"),
        items: await query(db, "SELECT name, made_by, obj_description('item'::regclass) AS note FROM item ORDER BY id"),
    };
}

/**
 * Flyway's settings for the drop-in folder: its placeholders, and its advisory lock taken outside a transaction.
 * With Flyway's default transactional lock, a CREATE INDEX CONCURRENTLY file waits for the lock's own open
 * transaction forever (measured here: killed after 180 s; Flyway documents `postgresql.transactional.lock=false`
 * for it). The provider's lock is a session lock polled outside any statement, so it needs no such setting.
 */
const flywayPlaceholders = {
    ...Object.fromEntries(Object.entries(dropInPlaceholders).map(([k, v]) => [`placeholders.${k}`, v])),
    "postgresql.transactional.lock": false,
};

describe("the same folder, migrated by Flyway and by the provider", () => {
    const dir = migrationFolder(dropIn);
    const s = new BootstrapStack(host);
    let fw = "";

    it("gives the same history rows (version, description, type, script, checksum, success) and the same schema", async () => {
        fw = await flywayDb();
        const run = await runFlyway("migrate", { database: fw, locations: dir, settings: flywayPlaceholders });
        expect(run.code).toBe(0);
        await s.up({ directory: dir, placeholders: dropInPlaceholders });
        expect(await rows(s.db)).toEqual(await rows(fw));
        expect(await schemaOf(s.db)).toEqual(await schemaOf(fw));
    });

    it("Flyway validates the provider's history and has nothing to migrate", async () => {
        const validate = await runFlyway("validate", { database: s.db, locations: dir, settings: flywayPlaceholders });
        expect(validate.stderr + validate.stdout).not.toMatch(/ERROR/);
        expect(validate.code).toBe(0);
        const before = await rows(s.db);
        expect(
            (await runFlyway("migrate", { database: s.db, locations: dir, settings: flywayPlaceholders })).code,
        ).toBe(0);
        expect(await rows(s.db)).toEqual(before);
    });

    it("a whitespace-only reformatting passes both; a real edit is refused by both", async () => {
        const reformatted = migrationFolder({ ...dropIn, "V1__init.sql": "\n" + V1.replace(/\r\n/g, "\n\n") });
        expect(
            (await runFlyway("validate", { database: fw, locations: reformatted, settings: flywayPlaceholders })).code,
        ).toBe(0);
        expect(await s.up({ directory: reformatted, placeholders: dropInPlaceholders })).toBe("some");
        const edited = migrationFolder({ ...dropIn, "V1__init.sql": V1.replace("'first'", "'FIRST'") });
        const flyway = await runFlyway("validate", { database: fw, locations: edited, settings: flywayPlaceholders });
        expect(flyway.code).not.toBe(0);
        expect(flyway.stdout + flyway.stderr).toMatch(/checksum mismatch for migration version 1/i);
        expect(await s.refused({ directory: edited, placeholders: dropInPlaceholders })).toContain(
            "V1__init.sql was edited after it was applied",
        );
    });
});

describe("the same refusals", () => {
    it("an applied file that is gone, and a new version below the applied one: refused by both; the same switches let both through", async () => {
        // Versions as teams write them: a leading zero and "_" for "." are recorded as Flyway records them.
        const applied = {
            "V01__a.sql": "CREATE TABLE a (id int);\n",
            "V2__b.sql": "CREATE TABLE b (id int);\n",
            "V3_1__c.sql": "CREATE TABLE c (id int);\n",
        };
        const fw = await flywayDb();
        expect((await runFlyway("migrate", { database: fw, locations: migrationFolder(applied) })).code).toBe(0);
        const s = new BootstrapStack(host);
        await s.up({ scripts: applied });
        expect(await rows(s.db)).toEqual(await rows(fw));

        const { "V2__b.sql": _gone, ...withoutV2 } = applied;
        const gone = migrationFolder(withoutV2);
        const flywayGone = await runFlyway("validate", { database: fw, locations: gone });
        expect(flywayGone.code).not.toBe(0);
        expect(flywayGone.stdout + flywayGone.stderr).toMatch(/Detected applied migration not resolved locally: 2/);
        expect(await s.refused({ scripts: withoutV2 })).toContain(
            "V2__b.sql (version 2) was applied but its file is gone",
        );
        expect(
            (
                await runFlyway("validate", {
                    database: fw,
                    locations: gone,
                    settings: { ignoreMigrationPatterns: "*:missing" },
                })
            ).code,
        ).toBe(0);
        expect(await s.up({ scripts: withoutV2, ignoreMigrationPatterns: ["*:missing"] })).toBe("some");

        const lower = { ...applied, "V2.5__late.sql": "CREATE TABLE late (id int);\n" };
        const flywayLower = await runFlyway("validate", { database: fw, locations: migrationFolder(lower) });
        expect(flywayLower.code).not.toBe(0);
        expect(flywayLower.stdout + flywayLower.stderr).toMatch(
            /Detected resolved migration not applied to database: 2\.5/,
        );
        expect(await s.refused({ scripts: lower })).toContain(
            "V2.5__late.sql has version 2.5, lower than the highest applied version 3.1",
        );
        expect(
            (
                await runFlyway("migrate", {
                    database: fw,
                    locations: migrationFolder(lower),
                    settings: { outOfOrder: true },
                })
            ).code,
        ).toBe(0);
        await s.up({ scripts: lower, outOfOrder: true });
        expect(await rows(s.db)).toEqual(await rows(fw));
    });
});

describe("each carries on from the other's history", () => {
    it("the provider adopts a database Flyway migrated, applies only what is new, and Flyway then validates it", async () => {
        const fw = await flywayDb();
        const { "V4__backfill.sql": _4, "V4__backfill.sql.conf": _c, ...firstRelease } = dropIn;
        expect(
            (
                await runFlyway("migrate", {
                    database: fw,
                    locations: migrationFolder(firstRelease),
                    settings: flywayPlaceholders,
                })
            ).code,
        ).toBe(0);
        const adopted = new BootstrapStack(host, "flyway_schema_history", fw);
        // The database exists already: the bootstrap creates nothing of it and carries on from Flyway's rows.
        const dir = migrationFolder({ ...dropIn, "V5__sku.sql": "ALTER TABLE item ADD COLUMN sku text;\n" });
        const before = await rows(fw);
        await adopted.up({ directory: dir, placeholders: dropInPlaceholders });
        const after = await rows(fw);
        expect(after.slice(0, before.length)).toEqual(before);
        expect(after.slice(before.length).map((r) => r.script)).toEqual(["V4__backfill.sql", "V5__sku.sql"]);
        const validate = await runFlyway("validate", { database: fw, locations: dir, settings: flywayPlaceholders });
        expect(validate.code).toBe(0);
    });

    it("baselineOnMigrate on an existing schema: the same baseline row from both", async () => {
        const scripts = {
            "V1__init.sql": "CREATE TABLE item (id int);\n",
            "V2__sku.sql": "ALTER TABLE item ADD COLUMN sku text;\n",
        };
        const dir = migrationFolder(scripts);
        const fw = await flywayDb();
        await query(fw, "CREATE TABLE item (id int)");
        expect(
            (await runFlyway("migrate", { database: fw, locations: dir, settings: { baselineOnMigrate: true } })).code,
        ).toBe(0);
        const s = new BootstrapStack(host);
        await s.up({ scripts: {} });
        await query(s.db, "DROP TABLE flyway_schema_history");
        await query(s.db, "CREATE TABLE item (id int)");
        await s.up({ directory: dir, baselineOnMigrate: true });
        expect(await rows(s.db)).toEqual(await rows(fw));
    });
});
