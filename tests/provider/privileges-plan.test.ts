/** Privilege presets, the pure part: the statements planned from desired, previous and actual privileges, and check. */
import { checkInputs, engineFailure } from "../../provider/check";
import { planBootstrap, PRIVILEGE_PRESETS } from "../../provider/plan";
import { BootstrapArgs } from "../../provider";
import { ActualState, BootstrapInputs, SchemaPrivileges } from "../../provider/types";
import { inputsFor } from "../support/pg";

type Preset = "owner" | "readwrite" | "readonly" | "none";
const V1 = "CREATE TABLE t (id serial PRIMARY KEY);";

function inputs(app: Preset | undefined, extra: Omit<BootstrapArgs, "connection"> | object = {}): BootstrapInputs {
    return inputsFor({
        roles: [{ name: "app", password: "pw", ...(app ? { privileges: app } : {}) }],
        database: { name: "shop" },
        migrationSets: [{ name: "app", scripts: { "V1__t.sql": V1 } }],
        ...extra,
    });
}

/** A database where V1 is applied and `app` holds exactly `held` (the preset's privileges when in shape). */
function applied(desired: BootstrapInputs, held: SchemaPrivileges): ActualState {
    const admin = desired.connection.user;
    return {
        roles: { app: { login: true, createdb: false, connectionLimit: -1, inherit: true, memberOf: [] } },
        passwordMatches: { app: true },
        database: { exists: true, owner: admin },
        extensions: [],
        history: {
            app: [
                {
                    rank: 1,
                    type: "SQL",
                    version: "1",
                    description: "t",
                    script: "V1__t.sql",
                    checksum: planBootstrap(desired, undefined, {
                        roles: {},
                        database: { exists: false },
                        extensions: [],
                        history: {},
                    }).applied.app["V1__t.sql"],
                    success: true,
                },
            ],
        },
        schemas: ["public"],
        privileges: { app: { database: [], schemas: { public: held } } },
    };
}

/** What `app` holds in `public` under `preset`, as the catalogs show it (table t and its sequence). */
function holding(preset: Preset, admin: string): SchemaPrivileges {
    const p = PRIVILEGE_PRESETS[preset];
    return {
        schema: p.schema,
        tables: { all: p.tables, held: p.tables.length ? { t: p.tables } : {} },
        sequences: { all: p.sequences, held: p.sequences.length ? { t_id_seq: p.sequences } : {} },
        history: [],
        defaults: p.tables.length ? { [admin]: { tables: p.tables, sequences: p.sequences } } : {},
    };
}

describe("privilege presets: plan", () => {
    it("the default grants nothing and puts no field on the wire", () => {
        const desired = inputs(undefined);
        expect(Object.keys(desired.roles.app)).not.toContain("privileges");
        expect(Object.keys(inputs("none").roles.app)).not.toContain("privileges");
        const plan = planBootstrap(desired, undefined, {
            roles: {},
            database: { exists: false },
            extensions: [],
            history: {},
        });
        expect(plan.steps.map((x) => x.kind)).not.toContain("privileges");
        expect(plan.steps.flatMap((x) => x.sql).join("\n")).not.toMatch(/GRANT|DEFAULT PRIVILEGES/);
    });

    it("readwrite on a new database: after the migrations, schema usage, rows, sequences and default privileges; the history table kept out", () => {
        const desired = inputs("readwrite");
        const admin = `"${desired.connection.user}"`;
        const plan = planBootstrap(desired, undefined, {
            roles: {},
            database: { exists: false },
            extensions: [],
            history: {},
        });
        expect(plan.errors).toEqual([]);
        const last = plan.steps[plan.steps.length - 1];
        expect(plan.steps.findIndex((x) => x.kind === "migration")).toBeLessThan(plan.steps.length - 1);
        expect(last).toEqual({
            target: "database",
            kind: "privileges",
            description: expect.stringMatching(/^role app: privileges readwrite: grant USAGE on schema public; /),
            sql: [
                `GRANT USAGE ON SCHEMA "public" TO "app"`,
                `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "public" TO "app"`,
                `GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA "public" TO "app"`,
                `ALTER DEFAULT PRIVILEGES FOR ROLE ${admin} IN SCHEMA "public" GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "app"`,
                `ALTER DEFAULT PRIVILEGES FOR ROLE ${admin} IN SCHEMA "public" GRANT USAGE, SELECT ON SEQUENCES TO "app"`,
                `REVOKE ALL ON TABLE "public"."schema_history_app" FROM "app"`,
            ],
        });
    });

    it("in shape: no step at all", () => {
        for (const preset of ["owner", "readwrite", "readonly"] as const) {
            const desired = inputs(preset);
            const actual = applied(desired, holding(preset, desired.connection.user));
            if (preset === "owner") actual.privileges!.app.database = ["CREATE"];
            expect(planBootstrap(desired, desired, actual).steps).toEqual([]);
        }
    });

    it("readwrite → readonly: writes revoked table by table, default privileges taken away before the migrations", () => {
        const previous = inputs("readwrite");
        const desired = inputs("readonly", {
            migrationSets: [{ name: "app", scripts: { "V1__t.sql": V1, "V2__u.sql": "CREATE TABLE u (v text);" } }],
        });
        const admin = `"${desired.connection.user}"`;
        const plan = planBootstrap(desired, previous, applied(previous, holding("readwrite", desired.connection.user)));
        expect(plan.errors).toEqual([]);
        expect(plan.steps.map((x) => x.kind)).toEqual(["privileges", "migration", "privileges"]);
        expect(plan.steps[0].sql).toEqual([
            `ALTER DEFAULT PRIVILEGES FOR ROLE ${admin} IN SCHEMA "public" REVOKE INSERT, UPDATE, DELETE ON TABLES FROM "app"`,
            `ALTER DEFAULT PRIVILEGES FOR ROLE ${admin} IN SCHEMA "public" REVOKE USAGE ON SEQUENCES FROM "app"`,
        ]);
        // A migration runs: the grants on all tables are made again, so its new table is covered whatever happened.
        expect(plan.steps[2].sql).toEqual([
            `GRANT SELECT ON ALL TABLES IN SCHEMA "public" TO "app"`,
            `REVOKE INSERT, UPDATE, DELETE ON TABLE "public"."t" FROM "app"`,
            `GRANT SELECT ON ALL SEQUENCES IN SCHEMA "public" TO "app"`,
            `REVOKE USAGE ON SEQUENCE "public"."t_id_seq" FROM "app"`,
            `REVOKE ALL ON TABLE "public"."schema_history_app" FROM "app"`,
        ]);
        expect(plan.steps[2].description).toBe(
            "role app: privileges readonly: revoke INSERT, UPDATE, DELETE on tables in public; revoke USAGE on sequences in public; " +
                `revoke INSERT, UPDATE, DELETE on tables ${desired.connection.user} creates in public; revoke USAGE on sequences ${desired.connection.user} creates in public`,
        );
    });

    it("back to none revokes everything the preset kept, and nothing after that", () => {
        const previous = inputs("owner");
        const desired = inputs("none");
        const held = holding("owner", desired.connection.user);
        const actual = applied(previous, held);
        actual.privileges!.app.database = ["CREATE", "CONNECT"];
        const plan = planBootstrap(desired, previous, actual);
        const sql = plan.steps.flatMap((x) => x.sql);
        expect(sql).toEqual(
            expect.arrayContaining([
                `REVOKE CREATE ON DATABASE "shop" FROM "app"`,
                `REVOKE SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON TABLE "public"."t" FROM "app"`,
                `REVOKE USAGE, CREATE ON SCHEMA "public" FROM "app"`,
            ]),
        );
        expect(sql.join("\n")).not.toMatch(/GRANT|CONNECT/);
        // With none now and before, the role is not looked at.
        expect(planBootstrap(desired, desired, actual).steps).toEqual([]);
    });

    it("an owner role's tables reach the other presets through default privileges for it too", () => {
        const desired = inputsFor({
            roles: [
                { name: "app", privileges: "owner" },
                { name: "report", privileges: "readonly" },
            ],
            database: { name: "shop" },
        });
        const plan = planBootstrap(desired, undefined, {
            roles: {},
            database: { exists: false },
            extensions: [],
            history: {},
        });
        const report = plan.steps.find((x) => x.kind === "privileges" && x.description.startsWith("role report:"))!.sql;
        expect(report).toContain(
            `ALTER DEFAULT PRIVILEGES FOR ROLE "app" IN SCHEMA "public" GRANT SELECT ON TABLES TO "report"`,
        );
        const app = plan.steps.find((x) => x.kind === "privileges" && x.description.startsWith("role app:"))!.sql;
        expect(app).toContain(`GRANT CREATE ON DATABASE "shop" TO "app"`);
        expect(app).toContain(`GRANT USAGE, CREATE ON SCHEMA "public" TO "app"`);
        expect(app.join("\n")).not.toContain(`FOR ROLE "app"`);
    });

    it("a role dropped from the inputs has its preset's privileges revoked before the drop", () => {
        const previous = inputs("readwrite");
        const desired = inputs(undefined, { roles: [], dropRemovedRoles: true });
        const plan = planBootstrap(desired, previous, applied(previous, holding("readwrite", "postgres")));
        const i = plan.steps.findIndex((x) => x.description === "role app: drop (dropRemovedRoles)");
        expect(i).toBeGreaterThan(0);
        expect(plan.steps[i - 1]).toEqual(
            expect.objectContaining({
                kind: "privileges",
                description: "role app: revoke its privileges before the drop",
                sql: expect.arrayContaining([`REVOKE USAGE ON SCHEMA "public" FROM "app"`]),
            }),
        );
    });
});

describe("privilege presets: check", () => {
    it("refuses an unknown preset and a second owner, naming the role and the fix", () => {
        const desired = inputsFor({
            roles: [
                { name: "a", privileges: "owner" },
                { name: "b", privileges: "owner" },
            ],
            database: { name: "shop" },
        });
        (desired.roles.a as { privileges?: string }).privileges = "admin";
        expect(checkInputs({} as BootstrapInputs, desired).map(engineFailure)).toEqual([
            {
                property: "roles.a.privileges",
                reason: 'privileges "admin" is not a preset; use "owner", "readwrite", "readonly" or "none"',
            },
        ]);
        (desired.roles.a as { privileges?: string }).privileges = "owner";
        expect(checkInputs({} as BootstrapInputs, desired).map(engineFailure)).toEqual([
            {
                property: "roles.b.privileges",
                reason: 'roles a, b all have privileges "owner", but only one role may migrate the schemas (each could not alter the other\'s tables); give the others "readwrite"',
            },
        ]);
    });
});
