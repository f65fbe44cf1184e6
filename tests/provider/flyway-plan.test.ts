/**
 * Flyway drop-in, pure: the planner's judgement of a set's history and files (checksums, adoption, baseline, the
 * switches, callbacks, naming, placeholders, lint) and the preview's plan, without a server.
 */
import { flywayChecksum, parseScriptName, replacePlaceholders } from "../../provider/migrations";
import { checkInputs } from "../../provider/check";
import { checksumMatches, patternIgnores, planBootstrap, previewLines, previewPlan } from "../../provider/plan";
import { engineFailure, parseScriptConfig, prepareBootstrap, reasonOf } from "../../provider";
import { ActualState, BootstrapInputs, HistoryRow } from "../../provider/types";
import { BootstrapMigrationSetArgs } from "../../provider";
import { inputsFor } from "../support/pg";

const NOW = new Date("2026-12-02T10:11:12Z");

function inputs(set: Partial<BootstrapMigrationSetArgs>): BootstrapInputs {
    return inputsFor({ database: { name: "shop" }, migrationSets: [{ name: "app", ...set }] });
}

/** A history row as Flyway writes it for `script` with `sql`. */
function row(rank: number, script: string, sql: string | null, extra: Partial<HistoryRow> = {}): HistoryRow {
    const parsed = parseScriptName(script);
    return {
        rank,
        version: parsed?.kind === "versioned" ? parsed.version : null,
        description: parsed?.description ?? script,
        type: "SQL",
        script,
        checksum: sql === null ? null : String(flywayChecksum(sql)),
        success: true,
        ...extra,
    };
}

function state(rows: HistoryRow[] | undefined, extra: Partial<ActualState> = {}): ActualState {
    return {
        roles: {},
        database: { exists: true, owner: "postgres", encoding: "UTF8" },
        extensions: [],
        history: rows === undefined ? {} : { app: rows },
        ...extra,
    };
}

const plan = (i: BootstrapInputs, a: ActualState, previous?: BootstrapInputs) => planBootstrap(i, previous, a, NOW);
const descriptions = (p: ReturnType<typeof planBootstrap>) => p.steps.map((s) => s.description);

describe("Flyway's checksum", () => {
    it("ignores line endings, blank lines and a byte-order mark, and changes with any other edit", () => {
        const base = "CREATE TABLE a (id int);\nINSERT INTO a VALUES (1);\n";
        expect(flywayChecksum(base.replace(/\n/g, "\r\n"))).toBe(flywayChecksum(base));
        expect(flywayChecksum("\uFEFF" + base)).toBe(flywayChecksum(base));
        expect(flywayChecksum(base + "\n\n")).toBe(flywayChecksum(base));
        expect(flywayChecksum(base.replace("(1)", "(2)"))).not.toBe(flywayChecksum(base));
        expect(flywayChecksum(base.replace("int);", "int); "))).not.toBe(flywayChecksum(base));
        expect(flywayChecksum("")).toBe(0);
    });

    it("compares Flyway's integer with the file, and our older sha256 rows with ours", () => {
        const spec = { sql: "SELECT 1;", checksum: "sha256:abc" };
        expect(checksumMatches(String(flywayChecksum("SELECT 1;\r\n")), spec)).toBe(true);
        expect(checksumMatches("sha256:abc", spec)).toBe(true);
        expect(checksumMatches("sha256:def", spec)).toBe(false);
        expect(checksumMatches("12345", spec)).toBe(false);
        expect(checksumMatches(null, spec)).toBe(true);
    });
});

describe("a Flyway history is adopted", () => {
    const files = {
        "V1__init.sql": "CREATE TABLE a (id int);\n",
        "V2__more.sql": "CREATE TABLE b (id int);\n",
        "V3__new.sql": "CREATE TABLE c (id int);\n",
    };

    it("carries on from Flyway's rows: only the new version runs, its row is Flyway's", () => {
        const i = inputs({ table: "flyway_schema_history", scripts: files });
        const p = plan(
            i,
            state([
                row(1, "V1__init.sql", files["V1__init.sql"]),
                row(2, "V2__more.sql", files["V2__more.sql"].replace(/\n/g, "\r\n")),
            ]),
        );
        expect(p.errors).toEqual([]);
        expect(descriptions(p)).toEqual(['migration set "app": apply V3__new.sql']);
        const step = p.steps[0] as Extract<(typeof p.steps)[0], { kind: "migration" }>;
        expect(step.checksum).toBe(String(flywayChecksum(files["V3__new.sql"])));
        expect(p.applied.app).toEqual({
            "V1__init.sql": String(flywayChecksum(files["V1__init.sql"])),
            "V2__more.sql": String(flywayChecksum(files["V2__more.sql"])),
            "V3__new.sql": String(flywayChecksum(files["V3__new.sql"])),
        });
    });

    it("skips versions at or below a baseline row and ignores Flyway's schema-creation row", () => {
        const i = inputs({ table: "flyway_schema_history", scripts: files });
        const rows = [
            { ...row(0, "<< Flyway Schema Creation >>", null), version: "0", type: "SCHEMA" },
            {
                ...row(1, "<< Flyway Baseline >>", null),
                version: "2",
                description: "<< Flyway Baseline >>",
                type: "BASELINE",
            },
        ];
        const p = plan(i, state(rows));
        expect(p.errors).toEqual([]);
        expect(descriptions(p)).toEqual(['migration set "app": apply V3__new.sql']);
    });

    it("a DELETE row (Flyway's repair of a missing file) cancels the applied row", () => {
        const i = inputs({ scripts: { "V1__init.sql": files["V1__init.sql"], "V2__more.sql": files["V2__more.sql"] } });
        const gone = row(2, "V1.5__gone.sql", "SELECT 1;");
        expect(plan(i, state([row(1, "V1__init.sql", files["V1__init.sql"]), gone])).errors).toEqual([
            expect.stringContaining("V1.5__gone.sql (version 1.5) was applied but its file is gone"),
        ]);
        const p = plan(
            i,
            state([
                row(1, "V1__init.sql", files["V1__init.sql"]),
                gone,
                { ...gone, rank: 3, type: "DELETE" },
                row(4, "V2__more.sql", files["V2__more.sql"]),
            ]),
        );
        expect(p.errors).toEqual([]);
        expect(p.steps).toEqual([]);
        expect(Object.keys(p.applied.app)).toEqual(["V1__init.sql", "V2__more.sql"]);
    });

    it("baselineOnMigrate on a schema with tables and no history: a baseline row, then only the versions above it", () => {
        const i = inputs({
            table: "flyway_schema_history",
            scripts: files,
            baselineOnMigrate: true,
            baselineVersion: "2",
        });
        const p = plan(i, state(undefined, { schemaHasTables: { app: true } }));
        expect(p.errors).toEqual([]);
        expect(descriptions(p)).toEqual([
            'migration set "app": create history table public.flyway_schema_history',
            'migration set "app": baseline at version 2 (the schema has tables and no history: baselineOnMigrate)',
            'migration set "app": apply V3__new.sql',
        ]);
        expect(p.steps[1].sql[0]).toMatch(/'BASELINE', '<< Flyway Baseline >>', NULL/);
        // An empty schema is migrated from the start, as Flyway does.
        expect(
            descriptions(plan(i, state(undefined, { schemaHasTables: { app: false } }))).filter((d) =>
                d.includes("apply"),
            ),
        ).toHaveLength(3);
    });
});

describe("validation and its switches", () => {
    const v1 = "CREATE TABLE a (id int);\n";
    const edited = "CREATE TABLE a (id bigint);\n";

    it("a whitespace-only reformatting (line endings, blank lines) of an applied file is accepted, as Flyway accepts it", () => {
        const p = plan(
            inputs({ scripts: { "V1__init.sql": "\r\n" + v1.replace(/\n/g, "\r\n\r\n") } }),
            state([row(1, "V1__init.sql", v1)]),
        );
        expect(p.errors).toEqual([]);
        expect(p.steps).toEqual([]);
    });

    it("a real edit is refused, naming repair and validateOnMigrate; repair realigns it, validateOnMigrate: false lets it be", () => {
        const rows = [row(1, "V1__init.sql", v1)];
        expect(plan(inputs({ scripts: { "V1__init.sql": edited } }), state(rows)).errors).toEqual([
            expect.stringMatching(
                /V1__init.sql was edited after it was applied .*set repair: true on the set for one up .*validateOnMigrate: false/,
            ),
        ]);
        const repaired = plan(inputs({ scripts: { "V1__init.sql": edited }, repair: true }), state(rows));
        expect(repaired.errors).toEqual([]);
        expect(descriptions(repaired)).toEqual(['migration set "app": realign V1__init.sql with its file']);
        expect(repaired.steps[0].sql).toEqual([
            `UPDATE "public"."schema_history_app" SET checksum = '${flywayChecksum(edited)}', description = 'init' WHERE installed_rank = 1`,
        ]);
        expect(
            plan(inputs({ scripts: { "V1__init.sql": edited }, validateOnMigrate: false }), state(rows)).errors,
        ).toEqual([]);
    });

    it("a renamed description is refused, and realigned by repair", () => {
        const rows = [row(1, "V1__init.sql", v1)];
        expect(plan(inputs({ scripts: { "V1__initial.sql": v1 } }), state(rows)).errors).toEqual([
            expect.stringContaining('V1__initial.sql has description "initial" but was applied as "init"'),
        ]);
        expect(
            plan(inputs({ scripts: { "V1__initial.sql": v1 }, repair: true }), state(rows)).steps[0].sql[0],
        ).toContain("description = 'initial'");
    });

    it("a failed row is refused, naming repair; repair deletes it and the migration runs again", () => {
        const rows = [row(1, "V1__init.sql", v1), { ...row(2, "V2__b.sql", "SELECT 2;"), success: false }];
        const scripts = { "V1__init.sql": v1, "V2__b.sql": "SELECT 2;" };
        expect(plan(inputs({ scripts }), state(rows)).errors).toEqual([
            expect.stringContaining("V2__b.sql is recorded as failed"),
        ]);
        const p = plan(inputs({ scripts, repair: true }), state(rows));
        expect(descriptions(p)).toEqual([
            'migration set "app": delete the failed row of V2__b.sql',
            'migration set "app": apply V2__b.sql',
        ]);
    });

    it("repair marks an applied migration whose file is gone deleted, as Flyway's repair does", () => {
        const rows = [row(1, "V1__init.sql", v1), row(2, "V1.5__gone.sql", "SELECT 1;")];
        const p = plan(
            inputs({ scripts: { "V1__init.sql": v1, "V2__b.sql": "SELECT 2;" }, repair: true }),
            state(rows),
        );
        expect(p.errors).toEqual([]);
        expect(p.steps[0].sql[0]).toMatch(
            /VALUES \(\(SELECT coalesce\(max\(installed_rank\), 0\) \+ 1 FROM "public"."schema_history_app"\), '1.5', 'gone', 'DELETE', 'V1.5__gone.sql'/,
        );
        expect(p.applied.app).toEqual({
            "V1__init.sql": String(flywayChecksum(v1)),
            "V2__b.sql": String(flywayChecksum("SELECT 2;")),
        });
    });

    it("ignoreMigrationPatterns: *:missing lets a gone file be; without *:future an applied newer version is refused", () => {
        const rows = [
            row(1, "V1__init.sql", v1),
            row(2, "V1.5__gone.sql", "SELECT 1;"),
            row(3, "V9__later.sql", "SELECT 9;"),
        ];
        const scripts = { "V1__init.sql": v1, "V2__b.sql": "SELECT 2;" };
        expect(
            plan(inputs({ scripts, ignoreMigrationPatterns: ["*:missing"], outOfOrder: true }), state(rows)).errors,
        ).toEqual([expect.stringContaining("V9__later.sql (version 9) is applied but newer than every file")]);
        expect(
            plan(inputs({ scripts, ignoreMigrationPatterns: ["*:missing", "*:future"], outOfOrder: true }), state(rows))
                .errors,
        ).toEqual([]);
        expect(patternIgnores(["versioned:*"], "repeatable", "missing")).toBe(false);
        expect(patternIgnores(["*:*"], "repeatable", "missing")).toBe(true);
    });

    it("a version below the applied one is refused; *:ignored or outOfOrder each is a way through", () => {
        const rows = [row(1, "V2__b.sql", "SELECT 2;")];
        const scripts = { "V1__a.sql": "SELECT 1;", "V2__b.sql": "SELECT 2;" };
        expect(plan(inputs({ scripts }), state(rows)).errors).toEqual([
            expect.stringContaining("V1__a.sql has version 1, lower than the highest applied version 2"),
        ]);
        const ignored = plan(inputs({ scripts, ignoreMigrationPatterns: ["*:ignored"] }), state(rows));
        expect(ignored.errors).toEqual([]);
        expect(ignored.steps).toEqual([]);
        expect(ignored.notes).toEqual([
            expect.stringContaining("V1__a.sql (version 1) is lower than the applied version 2 and is not applied"),
        ]);
        expect(descriptions(plan(inputs({ scripts, outOfOrder: true }), state(rows)))).toEqual([
            'migration set "app": apply V1__a.sql',
        ]);
    });
});

describe("files as Flyway takes them", () => {
    it("names: subfolders count by the file's own name; misnamed files and undo files are ignored with a note, strictNaming refuses", () => {
        const scripts = {
            "V1__a.sql": "SELECT 1;",
            "sub/V2__b.sql": "SELECT 2;",
            "notes.sql": "SELECT 0;",
            "U1__a.sql": "SELECT -1;",
            "beforeClean.sql": "SELECT 0;",
        };
        const p = plan(inputs({ scripts }), state(undefined));
        expect(descriptions(p).filter((d) => d.includes("apply"))).toEqual([
            'migration set "app": apply V1__a.sql',
            'migration set "app": apply sub/V2__b.sql',
        ]);
        expect(p.notes).toEqual([
            expect.stringContaining("U1__a.sql is an undo migration"),
            expect.stringContaining("notes.sql is ignored"),
        ]);
        expect(plan(inputs({ scripts, strictNaming: true }), state(undefined)).errors).toEqual([
            expect.stringContaining("notes.sql fits no migration name"),
        ]);
        expect(checkInputs({}, inputs({ scripts }))).toEqual([]);
        expect(checkInputs({}, inputs({ scripts, strictNaming: true })).map(reasonOf)).toEqual([
            expect.stringContaining("notes.sql fits no migration name"),
        ]);
    });

    it("repeatables run in the order of their descriptions, after the versioned ones", () => {
        const scripts = { "R__b_view.sql": "SELECT 1;", "views/R__a_view.sql": "SELECT 2;", "V1__a.sql": "SELECT 3;" };
        expect(descriptions(plan(inputs({ scripts }), state([])))).toEqual([
            'migration set "app": apply V1__a.sql',
            'migration set "app": apply views/R__a_view.sql',
            'migration set "app": apply R__b_view.sql',
        ]);
    });

    it("callbacks: before/after the set and each migration, not recorded; they run only when the set runs or a callback changed", () => {
        const scripts = {
            "V1__a.sql": "CREATE TABLE a (id int);",
            "beforeMigrate.sql": "SELECT 'before';",
            "beforeEachMigrate.sql": "SELECT 'each before';",
            "afterEachMigrate.sql": "SELECT 'each after';",
            "afterMigrate__grants.sql": "GRANT SELECT ON ALL TABLES IN SCHEMA public TO PUBLIC;",
            "afterMigrateError.sql": "SELECT 'failed';",
        };
        const i = inputs({ scripts });
        const p = plan(i, state([]));
        expect(descriptions(p)).toEqual([
            'migration set "app": run callback beforeMigrate.sql',
            'migration set "app": apply V1__a.sql',
            'migration set "app": run callback afterMigrate__grants.sql',
        ]);
        const migration = p.steps[1] as Extract<(typeof p.steps)[0], { kind: "migration" }>;
        expect(migration.sql).toEqual(["SELECT 'each before';\n;\nCREATE TABLE a (id int);\n;\nSELECT 'each after';"]);
        expect(migration.onError).toEqual(["SELECT 'failed';"]);
        expect((p.steps[0] as { callback?: string }).callback).toBe("beforeMigrate");
        expect(Object.keys(p.applied.app)).toEqual(["V1__a.sql"]);
        // Nothing pending and the callbacks as last time: nothing runs.
        const applied = [row(1, "V1__a.sql", scripts["V1__a.sql"])];
        expect(plan(i, state(applied), i).steps).toEqual([]);
        // A changed callback runs (with the other set-level callbacks) though no migration is pending.
        const changed = inputs({
            scripts: {
                ...scripts,
                "afterMigrate__grants.sql": "GRANT SELECT ON ALL TABLES IN SCHEMA public TO postgres;",
            },
        });
        expect(descriptions(plan(changed, state(applied), i))).toEqual([
            'migration set "app": run callback beforeMigrate.sql',
            'migration set "app": run callback afterMigrate__grants.sql',
        ]);
    });

    it("a script config's executeInTransaction decides the transaction; a bad key is refused naming the file and line", () => {
        expect(parseScriptConfig("V2__x.sql.conf", "# Flyway script config\nexecuteInTransaction=false\n")).toEqual({
            executeInTransaction: false,
        });
        expect(parseScriptConfig("V2__x.sql.conf", "executeInTransaction = true\nencoding=UTF-8")).toEqual({
            executeInTransaction: true,
        });
        expect(() => parseScriptConfig("V2__x.sql.conf", "shouldExecute=false")).toThrow(
            /V2__x.sql.conf line 1: "shouldExecute=false" is not a script setting/,
        );
        const i = inputs({
            scripts: {
                "V1__a.sql": "CREATE TABLE a (id int);\nINSERT INTO a VALUES (1);",
                "V1__a.sql.conf": "executeInTransaction=false",
            },
        });
        expect(i.migrationSets[0].files["V1__a.sql"].executeInTransaction).toBe(false);
        expect(i.migrationSets[0].files["V1__a.sql.conf"]).toBeUndefined();
        expect(descriptions(plan(i, state([])))).toEqual([
            'migration set "app": apply V1__a.sql (outside a transaction)',
        ]);
        expect(
            prepareBootstrap({
                connection: { host: "h", password: "p" },
                database: { name: "shop" },
                migrationSets: [{ name: "app", scripts: { "V9__x.sql.conf": "executeInTransaction=false" } }],
            }).failures.map(engineFailure),
        ).toEqual([
            {
                property: "migrationSets[0].directory",
                reason: expect.stringContaining("V9__x.sql.conf configures V9__x.sql, which is not there"),
            },
        ]);
    });
});

describe("placeholders", () => {
    it("replaces user values and Flyway's built-ins; the checksum is of the file as written", () => {
        const sql =
            "CREATE TABLE ${flyway:defaultSchema}.t_${suffix} (by text DEFAULT '${flyway:user}', db text DEFAULT '${flyway:database}', f text DEFAULT '${flyway:filename}', h text DEFAULT '${flyway:table}', at text DEFAULT '${flyway:timestamp}');";
        const p = plan(inputs({ scripts: { "V1__a.sql": sql }, placeholders: { suffix: "x" } }), state([]));
        expect(p.errors).toEqual([]);
        const step = p.steps[0] as Extract<(typeof p.steps)[0], { kind: "migration" }>;
        expect(step.sql[0]).toBe(
            "CREATE TABLE public.t_x (by text DEFAULT 'postgres', db text DEFAULT 'shop', f text DEFAULT 'V1__a.sql', h text DEFAULT 'schema_history_app', at text DEFAULT '2026-12-02 10:11:12');",
        );
        expect(step.checksum).toBe(String(flywayChecksum(sql)));
    });

    it("an undefined placeholder stops the run naming file, line and name; placeholderReplacement: false runs the text as written", () => {
        const sql = "SELECT 1;\nSELECT '${missing}';";
        expect(plan(inputs({ scripts: { "V1__a.sql": sql } }), state([])).errors).toEqual([
            expect.stringContaining("V1__a.sql line 2 uses placeholder ${missing}, which has no value"),
        ]);
        const off = plan(
            inputs({ scripts: { "V1__a.sql": sql }, placeholderReplacement: false, placeholders: { missing: "x" } }),
            state([]),
        );
        expect(off.errors).toEqual([]);
        expect(off.steps[0].sql[0]).toBe(sql);
    });

    it("takes another prefix and suffix", () => {
        expect(replacePlaceholders("SELECT '%%a%%', '${a}';", { a: "1" }, "%%", "%%").sql).toBe("SELECT '1', '${a}';");
    });

    it("check refuses bad switches with the fix", () => {
        const reasons = checkInputs(
            {},
            inputs({
                scripts: {},
                ignoreMigrationPatterns: ["missing"],
                baselineOnMigrate: true,
                baselineVersion: "one",
                placeholders: { "flyway:user": "x" },
                lintAllow: ["drop-tables"],
            }),
        ).map((f) => f.property);
        expect(reasons).toEqual([
            "migrationSets[0].ignoreMigrationPatterns",
            "migrationSets[0].baselineVersion",
            "migrationSets[0].placeholders",
            "migrationSets[0].lintAllow",
        ]);
    });
});

describe("lint and the preview's plan", () => {
    const existing = { "V1__init.sql": "CREATE TABLE item (id int, name text);\n" };

    it("warns on risky SQL about to run, naming file, line and rule; lint: error refuses; lintAllow silences a rule", () => {
        const scripts = {
            ...existing,
            "V2__cleanup.sql": "-- tidy\nALTER TABLE item DROP COLUMN name;\nDELETE FROM item;\n",
        };
        const rows = [row(1, "V1__init.sql", existing["V1__init.sql"])];
        const warn = plan(inputs({ scripts }), state(rows));
        expect(warn.errors).toEqual([]);
        expect(warn.notes).toEqual([
            expect.stringMatching(/^lint: migration set "app": V2__cleanup.sql line 2: drop-column: /),
            expect.stringMatching(/^lint: migration set "app": V2__cleanup.sql line 3: delete-without-where: /),
        ]);
        expect(plan(inputs({ scripts, lint: "error" }), state(rows)).errors).toHaveLength(2);
        expect(
            plan(inputs({ scripts, lint: "error", lintAllow: ["drop-column", "delete-without-where"] }), state(rows))
                .errors,
        ).toEqual([]);
        expect(plan(inputs({ scripts, lint: "off" }), state(rows)).notes).toEqual([]);
        // On a new database every table is the batch's own: quiet.
        expect(
            plan(
                inputs({ scripts: { ...existing, "V2__x.sql": "ALTER TABLE item DROP COLUMN name;" } }),
                state(undefined),
            ).notes,
        ).toEqual([]);
    });

    it("the preview plans from what the last up applied: each file to run, in order and whether in a transaction, then lint", () => {
        const scripts = {
            ...existing,
            "V2__idx.sql": "CREATE INDEX CONCURRENTLY item_name ON item (name);",
            "V3__drop.sql": "DROP TABLE item;",
        };
        const i = inputs({ scripts });
        const lines = previewLines(
            previewPlan(i, { app: { "V1__init.sql": String(flywayChecksum(existing["V1__init.sql"])) } }),
        );
        expect(lines).toEqual([
            'preview: migration set "app": will apply V2__idx.sql (outside a transaction)',
            'preview: migration set "app": will apply V3__drop.sql (in a transaction)',
            expect.stringMatching(/^lint: migration set "app": V3__drop.sql line 1: drop-table: /),
        ]);
        // On create: the history table and every file, and no lint (every table is new).
        expect(previewLines(previewPlan(i, undefined))).toEqual([
            'preview: migration set "app": will create history table public.schema_history_app',
            'preview: migration set "app": will apply V1__init.sql (in a transaction)',
            'preview: migration set "app": will apply V2__idx.sql (outside a transaction)',
            'preview: migration set "app": will apply V3__drop.sql (in a transaction)',
        ]);
    });
});
