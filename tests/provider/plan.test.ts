/** The pure parts of the bootstrap: file names, versions, SQL scanning, SCRAM verifiers and the planner. */
import { compareVersions, parseScriptName, scanSql, checksumOf, wantsNoTransaction } from "../../provider/migrations";
import { appliedWhenComplete, planBootstrap } from "../../provider/plan";
import { scramVerifier, verifierMatches } from "../../provider/scram";
import { ActualState, BootstrapInputs, HistoryRow } from "../../provider/types";
import { inputsFor } from "../support/pg";

describe("migration file names", () => {
    it("parses Flyway names and normalises versions", () => {
        expect(parseScriptName("V002__init_schema.sql")).toEqual({ kind: "versioned", version: "2", description: "init schema" });
        expect(parseScriptName("V1_10__x.sql")).toEqual({ kind: "versioned", version: "1.10", description: "x" });
        expect(parseScriptName("R__views.sql")).toEqual({ kind: "repeatable", version: null, description: "views" });
        expect(parseScriptName("init.sql")).toBeNull();
        expect(parseScriptName("V1_init.sql")).toBeNull();
    });

    it("compares versions numerically part by part", () => {
        expect(compareVersions("1.10", "1.9")).toBe(1);
        expect(compareVersions("2", "2.0")).toBe(0);
        expect(compareVersions("1", "1.0.1")).toBe(-1);
        expect(["10", "9", "1.10", "1.9", "1.2"].sort(compareVersions)).toEqual(["1.2", "1.9", "1.10", "9", "10"]);
        expect(compareVersions("20240101120000", "20240101115959")).toBe(1);
    });

    it("checksums ignore CRLF line endings only", () => {
        expect(checksumOf("a;\r\nb;")).toBe(checksumOf("a;\nb;"));
        expect(checksumOf("a;")).not.toBe(checksumOf("a; "));
    });
});

describe("scanSql", () => {
    it("splits on top-level semicolons, respecting quotes, dollar quotes and comments", () => {
        const sql = `CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql;
-- a comment; with a semicolon
INSERT INTO t VALUES ('a;b', "c;d");
/* block ; comment */ SELECT $$x;y$$;`;
        expect(scanSql(sql).statements).toEqual([
            "CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql",
            "-- a comment; with a semicolon\nINSERT INTO t VALUES ('a;b', \"c;d\")",
            "/* block ; comment */ SELECT $$x;y$$",
        ]);
    });

    it("finds psql meta-commands with their line numbers, not backslashes inside strings", () => {
        const r = scanSql("SELECT 1;\n\\connect other\nSELECT E'\\n';\nCOPY t FROM stdin;\n");
        expect(r.metaCommands).toEqual([
            { line: 2, text: "\\connect other" },
            { line: 4, text: "COPY t FROM stdin" },
        ]);
        expect(scanSql("COPY t TO STDOUT;").metaCommands).toEqual([]);
    });

    it("recognises the no-transaction marker", () => {
        expect(wantsNoTransaction("-- bootstrap:no-transaction\nCREATE INDEX CONCURRENTLY i ON t (a);")).toBe(true);
        expect(wantsNoTransaction("CREATE INDEX i ON t (a); -- bootstrap:no-transaction later")).toBe(false);
    });
});

describe("SCRAM verifiers", () => {
    it("verifies the password they were made from and nothing else", () => {
        const v = scramVerifier("s3cret");
        expect(v).toMatch(/^SCRAM-SHA-256\$4096:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/);
        expect(v).not.toContain("s3cret");
        expect(verifierMatches(v, "s3cret")).toBe(true);
        expect(verifierMatches(v, "other")).toBe(false);
        expect(verifierMatches("md5abc", "s3cret")).toBeUndefined();
        expect(verifierMatches(null, "s3cret")).toBeUndefined();
    });
});

describe("planBootstrap", () => {
    const desired: BootstrapInputs = inputsFor({
        roles: [{ name: "app", password: "pw", memberOf: ["readers"] }],
        database: { name: "shop", owner: "app", extensions: ["pgcrypto"] },
        migrationSets: [{ name: "app", scripts: { "V1__a.sql": "SELECT 1;", "V2__b.sql": "SELECT 2;", "R__v.sql": "SELECT 3;" } }],
    });
    const empty: ActualState = { roles: {}, database: { exists: false }, extensions: [], history: {} };
    const row = (script: string, version: string | null, sql: string, rank = 1): HistoryRow => ({ rank, version, description: script, script, checksum: checksumOf(sql), success: true });

    it("on an empty server: role, database, extension, history table, migrations in order, repeatables last", () => {
        const plan = planBootstrap(desired, undefined, empty);
        expect(plan.errors).toEqual([]);
        expect(plan.steps.map((s) => s.description)).toEqual([
            "role app: create, grant readers",
            "database shop: create (owner app)",
            "extension pgcrypto: create",
            'migration set "app": create history table public.schema_history_app',
            'migration set "app": apply V1__a.sql',
            'migration set "app": apply V2__b.sql',
            'migration set "app": apply R__v.sql',
        ]);
        const role = plan.steps[0];
        expect(role.sql[0]).toMatch(/^CREATE ROLE "app" WITH LOGIN NOCREATEDB INHERIT CONNECTION LIMIT -1 PASSWORD 'SCRAM-SHA-256\$4096:/);
        expect(role.sql.join(" ")).not.toContain("'pw'");
        expect(plan.steps[1].sql).toEqual([`CREATE DATABASE "shop" WITH OWNER "app" ENCODING 'UTF8' TEMPLATE "template1"`]);
    });

    it("when everything is in place: no steps", () => {
        const actual: ActualState = {
            roles: { app: { login: true, createdb: false, connectionLimit: -1, inherit: true, memberOf: ["readers"] } },
            passwordMatches: { app: true },
            database: { exists: true, owner: "app", encoding: "UTF8" },
            extensions: ["plpgsql", "pgcrypto"],
            history: { app: [row("V1__a.sql", "1", "SELECT 1;"), row("V2__b.sql", "2", "SELECT 2;", 2), row("R__v.sql", null, "SELECT 3;", 3)] },
        };
        const plan = planBootstrap(desired, desired, actual);
        expect(plan.steps).toEqual([]);
        expect(plan.errors).toEqual([]);
        expect(plan.applied.app).toEqual({ "V1__a.sql": checksumOf("SELECT 1;"), "V2__b.sql": checksumOf("SELECT 2;"), "R__v.sql": checksumOf("SELECT 3;") });
    });

    it("appliedWhenComplete is what a completed run leaves on a history of only the set's own files", () => {
        const many: BootstrapInputs = inputsFor({
            database: { name: "shop" },
            migrationSets: [
                { name: "app", scripts: { "V10__j.sql": "SELECT 10;", "V9__i.sql": "SELECT 9;", "V1.10__h.sql": "SELECT 1.10;", "V1.9__g.sql": "SELECT 1.9;", "R__v.sql": "SELECT 3;" } },
                { name: "sso", schema: "sso", scripts: { "V1__s.sql": "SELECT 's';" } },
            ],
            content: { items: { "b.sql": "SELECT 'b';", "a.sql": "SELECT 'a';" } },
        });
        const fresh = planBootstrap(many, undefined, empty);
        expect(appliedWhenComplete(many)).toEqual(fresh.applied);
        // Key order too: versions numerically, then repeatables by name.
        expect(Object.keys(appliedWhenComplete(many).app)).toEqual(["V1.9__g.sql", "V1.10__h.sql", "V9__i.sql", "V10__j.sql", "R__v.sql"]);
        // A history row kept by ignoreMissing is not the set's own file: then the two differ, and a contender reads.
        const kept = { ...empty, database: { exists: true, owner: "postgres", encoding: "UTF8" }, history: { app: [row("V0__gone.sql", "0", "SELECT 0;")] } };
        const withKept = planBootstrap({ ...many, migrationSets: many.migrationSets.map((s) => ({ ...s, ignoreMissing: true })) }, undefined, kept);
        expect(withKept.applied.app).not.toEqual(appliedWhenComplete(many).app);
    });

    it("collects every refusal and then plans no step at all", () => {
        const actual: ActualState = {
            ...empty,
            roles: {},
            database: { exists: true, owner: "app", encoding: "LATIN1" },
            history: { app: [row("V1__a.sql", "1", "SELECT 'edited';"), row("V3__gone.sql", "3", "SELECT 3;", 2)] },
        };
        const plan = planBootstrap(desired, desired, actual);
        expect(plan.steps).toEqual([]);
        expect(plan.errors).toEqual([
            expect.stringContaining("database.encoding: database \"shop\" exists with encoding LATIN1"),
            expect.stringContaining("V1__a.sql was edited after it was applied"),
            expect.stringContaining("V3__gone.sql (version 3) was applied but its file is gone"),
            expect.stringContaining("V2__b.sql has version 2, lower than the highest applied version 3"),
        ]);
    });

    it("revokes only memberships it granted before, and leaves removed roles unless told", () => {
        const actual: ActualState = {
            ...empty,
            roles: {
                app: { login: true, createdb: false, connectionLimit: -1, inherit: true, memberOf: ["readers", "writers", "ops"] },
                old: { login: true, createdb: false, connectionLimit: -1, inherit: true, memberOf: [] },
            },
            passwordMatches: { app: true },
            database: { exists: true, owner: "app", encoding: "UTF8" },
        };
        const previous = inputsFor({ roles: [{ name: "app", memberOf: ["readers", "writers"] }, { name: "old" }], database: { name: "shop", owner: "app" } });
        const now = inputsFor({ roles: [{ name: "app", password: "pw", memberOf: ["readers"] }], database: { name: "shop", owner: "app" } });
        const plan = planBootstrap(now, previous, actual);
        expect(plan.steps.map((s) => [s.description, s.sql])).toEqual([["role app: revoke writers", ['REVOKE "writers" FROM "app"']]]);
        expect(plan.notes).toEqual(["role old was removed from the inputs and is left in place (set dropRemovedRoles to drop it)"]);
        expect(planBootstrap({ ...now, dropRemovedRoles: true }, previous, actual).steps.map((s) => s.sql[0])).toContain('DROP ROLE "old"');
    });

    it("refuses a rename of an existing database", () => {
        const previous = { ...desired, database: { ...desired.database, name: "shop_old" } };
        const plan = planBootstrap(desired, previous, { ...empty, previousDatabaseExists: true });
        expect(plan.errors).toEqual([expect.stringContaining('changing the name of existing database "shop_old" to "shop" is refused')]);
        expect(plan.steps).toEqual([]);
    });
});
