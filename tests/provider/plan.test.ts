/** The pure parts of the bootstrap: file names, versions, SQL scanning, SCRAM verifiers and the planner. */
import { checkInputs } from "../../provider/check";
import { engineFailure, prepareBootstrap, reasonOf } from "../../provider";
import {
    compareVersions,
    parseScriptName,
    scanSql,
    checksumOf,
    transactionNeeds,
    versionKey,
    wantsNoTransaction,
} from "../../provider/migrations";
import { appliedWhenComplete, planBootstrap } from "../../provider/plan";
import { saslPrepared, saslPrepMayDisagree, scramVerifier, verifierMatches } from "../../provider/scram";
import { ActualState, BootstrapInputs, HistoryRow, UNKNOWN } from "../../provider/types";
import { secretChanges } from "../../provider/operations";
import { inputsFor } from "../support/pg";

describe("migration file names", () => {
    it("parses Flyway names and normalises versions", () => {
        // Recorded as written, as Flyway records it; compared by value (versionKey, compareVersions).
        expect(parseScriptName("V002__init_schema.sql")).toEqual({
            kind: "versioned",
            version: "002",
            description: "init schema",
        });
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

    it("gives every spelling of one version one key", () => {
        expect(["1", "1.0", "001.0.0", "1_0"].map(versionKey)).toEqual(["1", "1", "1", "1"]);
        expect(versionKey("1.0.1")).toBe("1.0.1");
        expect(versionKey("0")).toBe("0");
        expect(versionKey("10.00")).toBe("10");
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

    it("does not end an E'' string at a backslash-escaped quote", () => {
        expect(scanSql("INSERT INTO t VALUES (E'it\\'s; x');\nSELECT 2;").statements).toEqual([
            "INSERT INTO t VALUES (E'it\\'s; x')",
            "SELECT 2",
        ]);
        // In a standard string a backslash is a character, and the quote ends it.
        expect(scanSql("SELECT 'a\\'; SELECT 3;").statements).toEqual(["SELECT 'a\\'", "SELECT 3"]);
        // A column named e is not an E'' prefix.
        expect(scanSql("SELECT some_e'x'; SELECT 4;").statements).toEqual(["SELECT some_e'x'", "SELECT 4"]);
    });

    it("finds COPY FROM stdin after a block comment", () => {
        expect(scanSql("/* load */ COPY t FROM stdin;\n").metaCommands).toEqual([
            { line: 1, text: "COPY t FROM stdin" },
        ]);
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

    it("apply SASLprep's mappings as clients do: non-ASCII spaces to a space, soft hyphens and the like to nothing", () => {
        expect(saslPrepared("pa\u00ADss")).toBe("pass");
        expect(saslPrepared("a\u00A0b\u3000c")).toBe("a b c");
        expect(saslPrepared("\uFB01x")).toBe("fix"); // NFKC
        expect(verifierMatches(scramVerifier("pa\u00ADss\u200Dword"), "password")).toBe(true);
    });

    // The first four flagged ones were measured to disagree on Postgres 15: a verifier of the prepared form let the
    // pg client in and not psql; one the server hashed from the plaintext, psql and not the pg client. The rule is
    // conservative: "cafe" with a combining accent and a no-break space was measured to agree, and is flagged too.
    // Every one let pass was measured to agree.
    it("flags passwords that libpq might hash as typed while the pg client maps them; lets the ones they agree on pass", () => {
        for (const pw of [
            "a\u00A0b\u0007c",
            "\uFB01x\uE000",
            "\u05D0\u00A0b",
            "a\u00A0b\u{1F642}",
            "cafe\u0301\u00A0",
            "\u00AD",
            "\u200D\uFEFF",
        ]) {
            expect([pw, saslPrepMayDisagree(pw)]).toEqual([pw, true]);
        }
        for (const pw of [
            "a\u00A0bc",
            "pa\u00ADss word",
            "tab\there\u0007",
            "Gr\u00FC\u00DFe",
            "\u05D0b",
            "caf\u00E9",
        ]) {
            expect([pw, saslPrepMayDisagree(pw)]).toEqual([pw, false]);
        }
    });
});

describe("planBootstrap", () => {
    const desired: BootstrapInputs = inputsFor({
        roles: [{ name: "app", password: "pw", memberOf: ["readers"] }],
        database: { name: "shop", owner: "app", extensions: ["pgcrypto"] },
        migrationSets: [
            { name: "app", scripts: { "V1__a.sql": "SELECT 1;", "V2__b.sql": "SELECT 2;", "R__v.sql": "SELECT 3;" } },
        ],
    });
    const empty: ActualState = { roles: {}, database: { exists: false }, extensions: [], history: {} };
    const row = (script: string, version: string | null, sql: string, rank = 1): HistoryRow => ({
        rank,
        version,
        description: parseScriptName(script)?.description ?? script,
        type: "SQL",
        script,
        checksum: checksumOf(sql),
        success: true,
    });

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
        expect(role.sql[0]).toMatch(
            /^CREATE ROLE "app" WITH LOGIN NOCREATEDB INHERIT CONNECTION LIMIT -1 PASSWORD 'SCRAM-SHA-256\$4096:/,
        );
        expect(role.sql.join(" ")).not.toContain("'pw'");
        expect(plan.steps[1].sql).toEqual([
            `CREATE DATABASE "shop" WITH OWNER "app" ENCODING 'UTF8' TEMPLATE "template1"`,
        ]);
    });

    it("when everything is in place: no steps", () => {
        const actual: ActualState = {
            roles: { app: { login: true, createdb: false, connectionLimit: -1, inherit: true, memberOf: ["readers"] } },
            passwordMatches: { app: true },
            database: { exists: true, owner: "app", encoding: "UTF8" },
            extensions: ["plpgsql", "pgcrypto"],
            history: {
                app: [
                    row("V1__a.sql", "1", "SELECT 1;"),
                    row("V2__b.sql", "2", "SELECT 2;", 2),
                    row("R__v.sql", null, "SELECT 3;", 3),
                ],
            },
        };
        const plan = planBootstrap(desired, desired, actual);
        expect(plan.steps).toEqual([]);
        expect(plan.errors).toEqual([]);
        expect(plan.applied.app).toEqual({
            "V1__a.sql": checksumOf("SELECT 1;"),
            "V2__b.sql": checksumOf("SELECT 2;"),
            "R__v.sql": checksumOf("SELECT 3;"),
        });
    });

    it("appliedWhenComplete is what a completed run leaves on a history of only the set's own files", () => {
        const many: BootstrapInputs = inputsFor({
            database: { name: "shop" },
            migrationSets: [
                {
                    name: "app",
                    scripts: {
                        "V10__j.sql": "SELECT 10;",
                        "V9__i.sql": "SELECT 9;",
                        "V1.10__h.sql": "SELECT 1.10;",
                        "V1.9__g.sql": "SELECT 1.9;",
                        "R__v.sql": "SELECT 3;",
                    },
                },
                { name: "sso", schema: "sso", scripts: { "V1__s.sql": "SELECT 's';" } },
            ],
            content: { items: { "b.sql": "SELECT 'b';", "a.sql": "SELECT 'a';" } },
        });
        const fresh = planBootstrap(many, undefined, empty);
        expect(appliedWhenComplete(many)).toEqual(fresh.applied);
        // Key order too: versions numerically, then repeatables by name.
        expect(Object.keys(appliedWhenComplete(many).app)).toEqual([
            "V1.9__g.sql",
            "V1.10__h.sql",
            "V9__i.sql",
            "V10__j.sql",
            "R__v.sql",
        ]);
        // A history row kept by ignoreMissing is not the set's own file: then the two differ, and a contender reads.
        const kept = {
            ...empty,
            database: { exists: true, owner: "postgres", encoding: "UTF8" },
            history: { app: [row("V0__gone.sql", "0", "SELECT 0;")] },
        };
        const withKept = planBootstrap(
            { ...many, migrationSets: many.migrationSets.map((s) => ({ ...s, ignoreMissing: true })) },
            undefined,
            kept,
        );
        expect(withKept.applied.app).not.toEqual(appliedWhenComplete(many).app);
    });

    it("collects every refusal and then plans no step at all", () => {
        const actual: ActualState = {
            ...empty,
            roles: {},
            database: { exists: true, owner: "app", encoding: "LATIN1" },
            history: { app: [row("V1__a.sql", "1", "SELECT 'edited';"), row("V3__gone.sql", "3", "SELECT 3;", 2)] },
        };
        // Without Flyway's default "*:future", an applied version newer than every file is refused too.
        const strict = {
            ...desired,
            migrationSets: desired.migrationSets.map((s) => ({ ...s, ignoreMigrationPatterns: [] })),
        };
        const plan = planBootstrap(strict, strict, actual);
        expect(plan.steps).toEqual([]);
        expect(plan.errors).toEqual([
            expect.stringContaining('database.encoding: database "shop" exists with encoding LATIN1'),
            expect.stringContaining("V1__a.sql was edited after it was applied"),
            expect.stringContaining("V3__gone.sql (version 3) is applied but newer than every file"),
            expect.stringContaining("V2__b.sql has version 2, lower than the highest applied version 3"),
        ]);
    });

    it("revokes only memberships it granted before, and leaves removed roles unless told", () => {
        const actual: ActualState = {
            ...empty,
            roles: {
                app: {
                    login: true,
                    createdb: false,
                    connectionLimit: -1,
                    inherit: true,
                    memberOf: ["readers", "writers", "ops"],
                },
                old: { login: true, createdb: false, connectionLimit: -1, inherit: true, memberOf: [] },
            },
            passwordMatches: { app: true },
            database: { exists: true, owner: "app", encoding: "UTF8" },
        };
        const previous = inputsFor({
            roles: [{ name: "app", memberOf: ["readers", "writers"] }, { name: "old" }],
            database: { name: "shop", owner: "app" },
        });
        const now = inputsFor({
            roles: [{ name: "app", password: "pw", memberOf: ["readers"] }],
            database: { name: "shop", owner: "app" },
        });
        const plan = planBootstrap(now, previous, actual);
        expect(plan.steps.map((s) => [s.description, s.sql])).toEqual([
            ["role app: revoke writers", ['REVOKE "writers" FROM "app"']],
        ]);
        expect(plan.notes).toEqual([
            "role old was removed from the inputs and is left in place (set dropRemovedRoles to drop it)",
        ]);
        expect(
            planBootstrap({ ...now, dropRemovedRoles: true }, previous, actual).steps.map((s) => s.sql[0]),
        ).toContain('DROP ROLE "old"');
    });

    it("creates a role before the roles that are members of it, whatever the input order", () => {
        const inputs = inputsFor({
            roles: [
                { name: "app", memberOf: ["readers"] },
                { name: "readers", login: false, memberOf: ["base"] },
                { name: "base", login: false },
            ],
            database: { name: "shop", owner: "app" },
        });
        expect(
            planBootstrap(inputs, undefined, empty)
                .steps.filter((s) => s.kind === "role")
                .map((s) => s.description),
        ).toEqual(["role base: create", "role readers: create, grant base", "role app: create, grant readers"]);
    });

    it("drops a removed role only after the database has changed owner away from it", () => {
        const previous = inputsFor({
            roles: [{ name: "old" }, { name: "app" }],
            database: { name: "shop", owner: "old" },
        });
        const now = {
            ...inputsFor({ roles: [{ name: "app" }], database: { name: "shop", owner: "app" } }),
            dropRemovedRoles: true,
        };
        const role = { login: true, createdb: false, connectionLimit: -1, inherit: true, memberOf: [] };
        const actual: ActualState = {
            ...empty,
            roles: { old: role, app: role },
            database: { exists: true, owner: "old", encoding: "UTF8" },
        };
        expect(planBootstrap(now, previous, actual).steps.map((s) => s.description)).toEqual([
            "database shop: owner old -> app",
            "role old: drop (dropRemovedRoles)",
        ]);
    });

    it("treats V1 and V1.0 as one version: duplicates when both are files, applied when the history says 1.0", () => {
        const both = inputsFor({
            database: { name: "shop" },
            migrationSets: [{ name: "app", scripts: { "V1__a.sql": "SELECT 1;", "V1.0__b.sql": "SELECT 2;" } }],
        });
        expect(planBootstrap(both, undefined, empty).errors).toEqual([
            expect.stringContaining("V1.0__b.sql and V1__a.sql both have version 1"),
        ]);
        expect(checkInputs({}, both).map(reasonOf)).toEqual([expect.stringContaining("both have version 1")]);
        const one = inputsFor({
            database: { name: "shop" },
            migrationSets: [{ name: "app", scripts: { "V1__a.sql": "SELECT 1;" } }],
        });
        const applied: ActualState = {
            ...empty,
            database: { exists: true, owner: "postgres", encoding: "UTF8" },
            history: { app: [row("V1__a.sql", "1.0", "SELECT 1;")] },
        };
        const plan = planBootstrap(one, one, applied);
        expect(plan.errors).toEqual([]);
        expect(plan.steps).toEqual([]);
    });

    it("refuses an applied repeatable whose file is gone, unless ignoreMissing is set", () => {
        const actual: ActualState = {
            ...empty,
            roles: { app: { login: true, createdb: false, connectionLimit: -1, inherit: true, memberOf: ["readers"] } },
            passwordMatches: { app: true },
            database: { exists: true, owner: "app", encoding: "UTF8" },
            extensions: ["pgcrypto"],
            history: {
                app: [
                    row("V1__a.sql", "1", "SELECT 1;"),
                    row("V2__b.sql", "2", "SELECT 2;", 2),
                    row("R__v.sql", null, "SELECT 3;", 3),
                    row("R__old.sql", null, "SELECT 4;", 4),
                ],
            },
        };
        expect(planBootstrap(desired, desired, actual).errors).toEqual([
            expect.stringContaining(
                "R__old.sql (repeatable) was applied but its file is gone; restore the file, set ignoreMissing",
            ),
        ]);
        const ignoring = {
            ...desired,
            migrationSets: desired.migrationSets.map((s) => ({ ...s, ignoreMissing: true })),
        };
        const plan = planBootstrap(ignoring, ignoring, actual);
        expect(plan.errors).toEqual([]);
        expect(plan.steps).toEqual([]);
    });

    it("refuses a locale the existing database was not created with; spellings of one locale agree", () => {
        const at = (collate: string): ActualState => ({
            ...empty,
            roles: { app: { login: true, createdb: false, connectionLimit: -1, inherit: true, memberOf: ["readers"] } },
            passwordMatches: { app: true },
            database: { exists: true, owner: "app", encoding: "UTF8", collate, ctype: collate },
            extensions: ["pgcrypto"],
        });
        const withLocale = (locale: string) => ({ ...desired, database: { ...desired.database, locale } });
        expect(planBootstrap(withLocale("en_US.UTF-8"), desired, at("C")).errors).toEqual([
            expect.stringContaining(
                'database.locale: database "shop" exists with LC_COLLATE C and LC_CTYPE C; a locale cannot be changed in place',
            ),
        ]);
        expect(planBootstrap(withLocale("C.UTF-8"), desired, at("C.utf8")).errors).toEqual([]);
        expect(planBootstrap(withLocale(""), desired, at("C")).errors).toEqual([]);
        // glibc names POSIX "C", and Postgres stores that name.
        expect(planBootstrap(withLocale("POSIX"), desired, at("C")).errors).toEqual([]);
    });

    it("compares encodings by the server's name for them, and refuses one the server does not know before any step", () => {
        const eucjp = { ...desired, database: { ...desired.database, encoding: "euc-jp" } };
        const existing: ActualState = {
            ...empty,
            database: { exists: true, owner: "app", encoding: "EUC_JP" },
            encodingName: "EUC_JP",
        };
        expect(planBootstrap(eucjp, eucjp, existing).errors).toEqual([]);
        const unknown = planBootstrap({ ...desired, database: { ...desired.database, encoding: "bogus" } }, undefined, {
            ...empty,
            encodingName: "",
        });
        expect(unknown.errors).toEqual([
            'database.encoding: the server knows no encoding "bogus"; use a name such as UTF8, LATIN1 or EUC_JP',
        ]);
        expect(unknown.steps).toEqual([]);
    });

    it("refuses a rename of an existing database", () => {
        const previous = { ...desired, database: { ...desired.database, name: "shop_old" } };
        const plan = planBootstrap(desired, previous, { ...empty, previousDatabaseExists: true });
        expect(plan.errors).toEqual([
            expect.stringContaining('changing the name of existing database "shop_old" to "shop" is refused'),
        ]);
        expect(plan.steps).toEqual([]);
    });
});

describe("checkInputs", () => {
    it("rejects a circle of role memberships, naming the roles", () => {
        const circle = inputsFor({
            roles: [
                { name: "a", memberOf: ["b"] },
                { name: "b", memberOf: ["c"] },
                { name: "c", memberOf: ["a"] },
            ],
            database: { name: "shop" },
        });
        expect(checkInputs({}, circle).map(engineFailure)).toEqual([
            {
                property: "roles.a.memberOf",
                reason: expect.stringContaining("roles a -> b -> c -> a are members of each other in a circle"),
            },
        ]);
        const chain = inputsFor({
            roles: [{ name: "a", memberOf: ["b"] }, { name: "b", memberOf: ["c"] }, { name: "c" }],
            database: { name: "shop" },
        });
        expect(checkInputs({}, chain)).toEqual([]);
    });

    it("lets values unknown during a preview pass: a computed port, user, owner or password is judged at up", () => {
        const known = inputsFor({ roles: [{ name: "app", password: "pw" }], database: { name: "shop", owner: "app" } });
        const computed: BootstrapInputs = {
            ...known,
            connection: {
                ...known.connection,
                host: UNKNOWN,
                port: UNKNOWN as unknown as number,
                user: UNKNOWN,
                password: UNKNOWN,
            },
            roles: { app: { ...known.roles.app, password: UNKNOWN } },
            database: { ...known.database, owner: UNKNOWN },
        };
        expect(checkInputs({}, computed)).toEqual([]);
        // A rename is judged once the new name is known; an unknown one is not yet a rename.
        expect(checkInputs(known, { ...known, database: { ...known.database, name: UNKNOWN } })).toEqual([]);
        expect(checkInputs(known, { ...known, database: { ...known.database, name: "other" } })).toEqual([
            expect.objectContaining({ property: "database.name" }),
        ]);
    });

    it("the components' precheck lets a computed connection user pass, and with it the owner that defaults to it", () => {
        const user = Promise.resolve("admin");
        expect(
            prepareBootstrap({
                connection: { host: "db", user, password: Promise.resolve("pw") },
                database: { name: "app" },
            }).failures,
        ).toEqual([]);
        expect(
            prepareBootstrap({
                connection: { host: "db", user: "bad name", password: "pw" },
                database: { name: "app" },
            }).failures.map((f) => f.property),
        ).toEqual(expect.arrayContaining(["connection.user", "database.owner"]));
    });

    it("rejects a role password that libpq and the pg client might hash differently, without quoting it", () => {
        const mixed = inputsFor({ roles: [{ name: "app", password: "pw\u00A0\u0001" }], database: { name: "shop" } });
        expect(checkInputs({}, mixed).map(engineFailure)).toEqual([
            {
                property: "roles.app.password",
                reason: expect.stringMatching(
                    /changes under SASLprep.*Write the password in the form SASLprep leaves it/,
                ),
            },
        ]);
        const invisible = inputsFor({ roles: [{ name: "app", password: "\u00AD\u200D" }], database: { name: "shop" } });
        expect(checkInputs({}, invisible).map((f) => f.property)).toEqual(["roles.app.password"]);
        // No character of the secret, not even by its code point.
        const text = JSON.stringify(checkInputs({}, mixed));
        expect(text).not.toContain("\u00A0");
        expect(text).not.toMatch(/\\u0001|U\+0001|U\+00A0/i);
    });

    it("rejects an empty role password, which Postgres would store as none", () => {
        const empty = inputsFor({ roles: [{ name: "app", password: "" }], database: { name: "shop" } });
        expect(checkInputs({}, empty).map(engineFailure)).toEqual([
            { property: "roles.app.password", reason: expect.stringContaining("empty password") },
        ]);
    });
});

describe("secretChanges (what preview cannot show: the engine masks secrets before comparing)", () => {
    const props = (admin: string, roles: Record<string, { password?: string }>) => ({
        connection: { password: admin },
        roles,
    });
    it("names a changed admin password and each changed or removed role password, never a value", () => {
        const notes = secretChanges(
            props("a1", { app: { password: "p1" }, ro: { password: "r1" }, owner: {} }),
            props("a2", { app: { password: "p2" }, ro: {}, owner: {}, added: { password: "n" } }),
        );
        expect(notes).toEqual([
            "admin password (connection.password) changes",
            "role app: password changes",
            "role ro: password is removed",
        ]);
        expect(notes.join(" ")).not.toMatch(/a1|a2|p1|p2|r1/);
    });
    it("says nothing when no secret changed", () => {
        expect(secretChanges(props("a", { app: { password: "p" } }), props("a", { app: { password: "p" } }))).toEqual(
            [],
        );
    });
});

describe("Flyway's transaction rule for PostgreSQL", () => {
    const needs = (sql: string) => transactionNeeds(scanSql(sql).statements);
    it("finds each statement PostgreSQL runs only outside a transaction, and stays quiet on its safe twin", () => {
        const cases: [string, string][] = [
            ["CREATE INDEX CONCURRENTLY i ON t (a)", "CREATE INDEX i ON t (a)"],
            ["create unique index concurrently i on t (a)", "create unique index i on t (a)"],
            ["DROP INDEX CONCURRENTLY i", "DROP INDEX i"],
            ["VACUUM ANALYZE t", "ANALYZE t"],
            ["CREATE DATABASE other", "CREATE SCHEMA other"],
            ["DROP TABLESPACE ts", "DROP TABLE ts"],
            ["CREATE SUBSCRIPTION s CONNECTION 'x' PUBLICATION p", "CREATE PUBLICATION p"],
            ["ALTER SYSTEM SET work_mem = '8MB'", "ALTER ROLE app SET work_mem = '8MB'"],
            ["REINDEX SCHEMA public", "REINDEX TABLE t"],
            ["REINDEX (VERBOSE) INDEX CONCURRENTLY i", "REINDEX INDEX i"],
            ["DISCARD ALL", "DISCARD PLANS"],
            [
                "-- comment first\n/* and a block */ CREATE\n  INDEX   CONCURRENTLY i ON t (a)",
                "-- CREATE INDEX CONCURRENTLY in a comment\nSELECT 1",
            ],
        ];
        for (const [outside, inside] of cases) {
            expect([outside, needs(`${outside};`).outside.length]).toEqual([outside, 1]);
            expect([inside, needs(`${inside};`).outside.length]).toEqual([inside, 0]);
        }
        // From PostgreSQL 12 on, ALTER TYPE ... ADD VALUE runs in a transaction.
        expect(needs("ALTER TYPE mood ADD VALUE 'meh';").outside).toEqual([]);
    });

    const withFile = (file: string, sql: string, mixed = false): BootstrapInputs =>
        inputsFor({
            database: { name: "shop" },
            migrationSets: [{ name: "app", mixed, scripts: { "V1__a.sql": "CREATE TABLE t (a int);", [file]: sql } }],
        });
    const emptyDb: ActualState = { roles: {}, database: { exists: false }, extensions: [], history: {} };
    const migration = (inputs: BootstrapInputs, file: string) =>
        planBootstrap(inputs, undefined, emptyDb).steps.find((s) => s.kind === "migration" && s.script === file)!;

    it("runs a file of such statements outside a transaction without any marker, one statement at a time", () => {
        const step = migration(
            withFile("V2__idx.sql", "CREATE INDEX CONCURRENTLY i ON t (a);\nCREATE INDEX CONCURRENTLY j ON t (a);"),
            "V2__idx.sql",
        );
        expect(step.kind === "migration" && step.transactional).toBe(false);
        expect(step.sql).toEqual(["CREATE INDEX CONCURRENTLY i ON t (a)", "CREATE INDEX CONCURRENTLY j ON t (a)"]);
        expect(step.description).toContain("(outside a transaction)");
        const plain = migration(withFile("V2__plain.sql", "CREATE INDEX i ON t (a);"), "V2__plain.sql");
        expect(plain.kind === "migration" && plain.transactional).toBe(true);
    });

    it("refuses a file that mixes them with other statements, naming both and the two ways out; mixed: true allows it", () => {
        const mixedSql = "ALTER TABLE t ADD COLUMN b int;\nCREATE INDEX CONCURRENTLY i ON t (b);";
        const failures = checkInputs({}, withFile("V2__mixed.sql", mixedSql)).map(engineFailure);
        expect(failures).toEqual([
            {
                property: "migrationSets[0].files",
                reason: expect.stringMatching(
                    /V2__mixed\.sql mixes "CREATE INDEX CONCURRENTLY I ON T \(B\)…".*with "ALTER TABLE T ADD COLUMN B INT…".*own.*mixed: true/,
                ),
            },
        ]);
        expect(checkInputs({}, withFile("V2__mixed.sql", mixedSql, true))).toEqual([]);
        expect(checkInputs({}, withFile("V2__mixed.sql", `-- bootstrap:no-transaction\n${mixedSql}`))).toEqual([]);
        const step = migration(withFile("V2__mixed.sql", mixedSql, true), "V2__mixed.sql");
        expect(step.kind === "migration" && step.transactional).toBe(false);
    });

    it("keeps mixed off the wire when false, so states written before it show no change", () => {
        expect("mixed" in withFile("V2__x.sql", "SELECT 1;").migrationSets[0]).toBe(false);
        expect(withFile("V2__x.sql", "SELECT 1;", true).migrationSets[0].mixed).toBe(true);
    });
});
