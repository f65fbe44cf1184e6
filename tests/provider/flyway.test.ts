/**
 * Flyway drop-in against the real Postgres, through Pulumi's dynamic-provider host: a folder laid out as Flyway
 * reads it (subfolders, a byte-order mark, CRLF, a lone CONCURRENTLY file, a script config, callbacks, placeholders,
 * an undo file and a misnamed one), a whitespace-only upgrade, repair, a baseline, and the preview's plan.
 */
import { flywayChecksum } from "../../provider/migrations";
import { dropIn, dropInPlaceholders as placeholders, V1 } from "../support/bootstrap-fixtures";
import { BootstrapStack, migrationFolder, removeMigrationFolders } from "../support/bootstrap-stack";
import { ProviderHost } from "../support/provider-host";
import { PG, query } from "../support/pg";

const host = new ProviderHost();

beforeAll(async () => {
    await host.start();
}, 60000);

afterAll(async () => {
    await host.stop();
    expect(host.stderr).not.toContain(PG.password);
    removeMigrationFolders();
});

const folder = migrationFolder;
class Stack extends BootstrapStack {
    constructor(table?: string) {
        super(host, table);
    }
}

describe("a Flyway folder drops in unchanged", () => {
    const s = new Stack();
    const dir = folder(dropIn);

    it("runs every migration as Flyway would, with callbacks, placeholders and transaction rules, and records Flyway's rows", async () => {
        expect(await s.up({ directory: dir, placeholders })).toBe("create");
        expect(await s.history()).toEqual([
            {
                installed_rank: 1,
                version: "1",
                description: "init",
                type: "SQL",
                script: "V1__init.sql",
                checksum: flywayChecksum(V1),
                success: true,
            },
            {
                installed_rank: 2,
                version: "2",
                description: "made by",
                type: "SQL",
                script: "V2__made_by.sql",
                checksum: flywayChecksum(dropIn["V2__made_by.sql"]),
                success: true,
            },
            {
                installed_rank: 3,
                version: "3",
                description: "name index",
                type: "SQL",
                script: "indexes/V3__name_index.sql",
                checksum: flywayChecksum(dropIn["indexes/V3__name_index.sql"]),
                success: true,
            },
            {
                installed_rank: 4,
                version: "4",
                description: "backfill",
                type: "SQL",
                script: "V4__backfill.sql",
                checksum: flywayChecksum(dropIn["V4__backfill.sql"]),
                success: true,
            },
            {
                installed_rank: 5,
                version: null,
                description: "item names",
                type: "SQL",
                script: "views/R__item_names.sql",
                checksum: flywayChecksum(dropIn["views/R__item_names.sql"]),
                success: true,
            },
        ]);
        // Flyway's table layout, so Flyway itself can carry on from it.
        const columns = await query(
            s.db,
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'flyway_schema_history' ORDER BY ordinal_position",
        );
        expect(columns.map((c) => `${c.column_name} ${c.data_type}`)).toEqual([
            "installed_rank integer",
            "version character varying",
            "description character varying",
            "type character varying",
            "script character varying",
            "checksum integer",
            "installed_by character varying",
            "installed_on timestamp without time zone",
            "execution_time integer",
            "success boolean",
        ]);
        expect(await query(s.db, "SELECT made_by, obj_description('item'::regclass) AS note FROM item")).toEqual([
            { made_by: PG.user, note: "owned by the shop team" },
        ]);
        expect(
            (
                await query(
                    s.db,
                    "SELECT indexname FROM pg_indexes WHERE tablename = 'item' AND indexname LIKE 'item_%_idx' ORDER BY 1",
                )
            ).map((r) => r.indexname),
        ).toEqual(["item_made_by_idx", "item_name_idx"]);
        // afterEachMigrate after each of the five, afterMigrate once; the undo file and the misnamed one never ran.
        expect((await query(s.db, "SELECT what FROM migrate_log ORDER BY at")).map((r) => r.what)).toEqual([
            ...Array(5).fill("after each"),
            "after all",
        ]);
        expect(
            await query(
                s.db,
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'item' AND column_name = 'made_by'",
            ),
        ).toHaveLength(1);
        await host.waitForLog("README.sql is ignored");
        await host.waitForLog("U2__made_by.sql is an undo migration");
        // The preview of the create told the plan, in order, and whether in a transaction.
        expect(host.stderr).toContain(
            `[bootstrap ${s.db}] preview: migration set "app": will apply indexes/V3__name_index.sql (outside a transaction)`,
        );
        expect(host.stderr).toContain(
            `[bootstrap ${s.db}] preview: migration set "app": will run callback afterMigrate.sql (in a transaction)`,
        );
    });

    it("a reformatted upgrade (LF instead of CRLF, blank lines) is accepted as Flyway accepts it; only the new file and the callbacks run", async () => {
        const upgraded = folder({
            ...dropIn,
            "V1__init.sql": "\n" + V1.replace(/\r\n/g, "\n\n"),
            "V5__sku.sql": "ALTER TABLE item ADD COLUMN sku text;\n",
        });
        const before = await s.history();
        expect(await s.up({ directory: upgraded, placeholders })).toBe("some");
        const after = await s.history();
        expect(after.slice(0, before.length)).toEqual(before);
        expect(after.slice(before.length).map((r) => r.script)).toEqual(["V5__sku.sql"]);
        expect(await s.up({ directory: upgraded, placeholders })).toBe("none");
    });

    it("a real edit is refused naming repair; repair: true realigns the checksum for one up; then it is quiet", async () => {
        const edited = {
            ...dropIn,
            "V1__init.sql": V1.replace("'first'", "'FIRST'"),
            "V5__sku.sql": "ALTER TABLE item ADD COLUMN sku text;\n",
        };
        const dir2 = folder(edited);
        const message = await s.refused({ directory: dir2, placeholders });
        expect(message).toContain("V1__init.sql was edited after it was applied");
        expect(message).toContain("set repair: true on the set for one up");
        await s.up({ directory: dir2, placeholders, repair: true });
        expect((await s.history())[0]).toEqual(
            expect.objectContaining({ script: "V1__init.sql", checksum: flywayChecksum(edited["V1__init.sql"]) }),
        );
        expect(await query(s.db, "SELECT name FROM item")).toEqual([{ name: "FIRST" }]); // repair records; it never re-runs
        expect(await s.up({ directory: dir2, placeholders })).toBe("some"); // repair removed from the inputs: nothing to run
        expect(await s.history()).toHaveLength(6);
    });

    it("a failing migration runs the error callback, is rolled back and not recorded", async () => {
        const broken = folder({
            ...dropIn,
            "V1__init.sql": V1.replace("'first'", "'FIRST'"),
            "V5__sku.sql": "ALTER TABLE item ADD COLUMN sku text;\n",
            "V6__broken.sql": "ALTER TABLE nowhere ADD COLUMN x int;\n",
        });
        const message = await s.refused({ directory: broken, placeholders });
        expect(message).toContain("V6__broken.sql failed");
        expect(message).toContain("The error callbacks ran");
        expect((await query(s.db, "SELECT what FROM migrate_log ORDER BY at DESC LIMIT 1"))[0].what).toBe("error");
        expect(await s.history()).toHaveLength(6);
    });
});

describe("an existing database is adopted", () => {
    it("baselineOnMigrate: a schema with tables and no history gets a baseline row; only the versions above it run", async () => {
        const s = new Stack();
        // The database made by hand (or by an older tool): the app's tables are there, no history.
        await s.up({ scripts: {} });
        await query(s.db, "DROP TABLE flyway_schema_history");
        await query(s.db, "CREATE TABLE item (id serial PRIMARY KEY, name text NOT NULL)");
        await s.up({
            scripts: {
                "V1__init.sql": "CREATE TABLE item (id serial PRIMARY KEY, name text NOT NULL);",
                "V2__sku.sql": "ALTER TABLE item ADD COLUMN sku text;",
            },
            baselineOnMigrate: true,
        });
        expect(await s.history()).toEqual([
            {
                installed_rank: 1,
                version: "1",
                description: "<< Flyway Baseline >>",
                type: "BASELINE",
                script: "<< Flyway Baseline >>",
                checksum: null,
                success: true,
            },
            expect.objectContaining({ installed_rank: 2, version: "2", script: "V2__sku.sql", type: "SQL" }),
        ]);
    });

    it("a history table written by an earlier version of this provider (sha256 checksums, serial rank) is carried on", async () => {
        const s = new Stack("schema_history_app");
        await s.up({ scripts: {} });
        await query(s.db, "DROP TABLE schema_history_app");
        await query(
            s.db,
            `CREATE TABLE schema_history_app (installed_rank serial PRIMARY KEY, version text, description text NOT NULL, type text NOT NULL, script text NOT NULL,
            checksum text NOT NULL, installed_by text NOT NULL DEFAULT current_user, installed_on timestamptz NOT NULL DEFAULT now(), execution_time integer NOT NULL, success boolean NOT NULL)`,
        );
        const v1 = "CREATE TABLE item (id int);";
        const { checksumOf } = await import("../../provider/migrations");
        await query(s.db, "CREATE TABLE item (id int)");
        await query(
            s.db,
            "INSERT INTO schema_history_app (version, description, type, script, checksum, execution_time, success) VALUES ('1', 'init', 'SQL', 'V1__init.sql', $1, 1, true)",
            [checksumOf(v1)],
        );
        await s.up({ scripts: { "V1__init.sql": v1, "V2__sku.sql": "ALTER TABLE item ADD COLUMN sku text;" } });
        expect((await s.history()).map((r) => [r.script, r.checksum])).toEqual([
            ["V1__init.sql", checksumOf(v1)],
            ["V2__sku.sql", String(flywayChecksum("ALTER TABLE item ADD COLUMN sku text;"))],
        ]);
    });
});
