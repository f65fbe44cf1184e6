/**
 * The bootstrap under the real Pulumi engine: the CLI built by scripts/pulumi.sh, real state files, Pulumi's own
 * dynamic-provider plugin, the tests' Postgres. One stack lives through the whole file, as a user's does: preview,
 * up, a second up, a new migration, a changed password, drift from outside, destroy and a new up that finds the
 * data. A second stack has a broken migration.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Client } from "pg";
import { expectGolden } from "./golden";
import {
    engine,
    EngineRequest,
    EngineResult,
    stackDir,
    StateResource,
    stateFiles,
    stateResources,
} from "../support/engine";
import { PG, query, uniqueName } from "../support/pg";

const names = { database: uniqueName("eng"), owner: uniqueName("eown"), appRole: uniqueName("eapp") };
const passwords = {
    admin: PG.password,
    app: `app-pw-${Math.random().toString(36).slice(2)}`,
    app2: `app-pw2-${Math.random().toString(36).slice(2)}`,
};
const migrations = fs.mkdtempSync(path.join(os.tmpdir(), "pdc-engine-migrations-"));
fs.writeFileSync(
    path.join(migrations, "V1__init.sql"),
    "CREATE TABLE item (id serial PRIMARY KEY, name text NOT NULL);\nINSERT INTO item (name) VALUES ('first');\n",
);
const dir = stackDir("boot");
/** Everything the CLI printed during the file, searched for passwords at the end. */
let printed = "";

function config(
    appPassword: string,
    extra: Record<string, string> = {},
    migrationsDir = migrations,
): EngineRequest["config"] {
    return {
        pgHost: { value: PG.host },
        pgPort: { value: String(PG.port) },
        pgUser: { value: PG.user },
        adminPassword: { value: passwords.admin, secret: true },
        database: { value: names.database },
        owner: { value: names.owner },
        appRole: { value: names.appRole },
        appPassword: { value: appPassword, secret: true },
        migrations: { value: migrationsDir },
        ...Object.fromEntries(Object.entries(extra).map(([k, v]) => [k, { value: v }])),
    };
}

/** The bootstrap's record in the stack's checkpoint. */
function bootstrapState(): StateResource | undefined {
    return stateResources(dir, "engine-bootstrap", "dev").find(
        (r) => r.type === "pulumi-nodejs:dynamic/postgres:Bootstrap",
    );
}

async function run(op: EngineRequest["op"], opts: Partial<EngineRequest> = {}): Promise<EngineResult> {
    const r = await engine({
        op,
        dir,
        project: "engine-bootstrap",
        stack: "dev",
        program: { module: "tests/engine/programs/bootstrap.ts", export: "bootstrapProgram" },
        ...opts,
    });
    printed += r.output + (r.error ?? "");
    return r;
}

/** This run's unique names and the test Postgres's port, as the golden displays name them. */
function goldenLiterals(): Record<string, string> {
    return { ...names, pgPort: String(PG.port) };
}

async function history(): Promise<string[]> {
    return (
        await query<{ script: string }>(names.database, "SELECT script FROM schema_history_app ORDER BY installed_rank")
    ).map((r) => r.script);
}

async function canLogIn(password: string): Promise<boolean> {
    const c = new Client({ host: PG.host, port: PG.port, user: names.appRole, password, database: names.database });
    try {
        await c.connect();
        await c.end();
        return true;
    } catch {
        return false;
    }
}

async function databaseExists(name: string): Promise<boolean> {
    return (await query("postgres", "SELECT 1 FROM pg_database WHERE datname = $1", [name])).length === 1;
}

describe("a stack's life under the real engine", () => {
    it("preview of a new stack plans the create and touches nothing", async () => {
        const r = await run("preview", { config: config(passwords.app), diff: true });
        expect(r.error).toBeNull();
        expect(r.changes).toEqual({ create: 2 }); // the stack and the bootstrap
        expectGolden("new-stack", r.output, goldenLiterals());
        expect(await databaseExists(names.database)).toBe(false);
    });

    it("up creates roles, database and history; a second up changes nothing", async () => {
        const r = await run("up");
        expect(r.error).toBeNull();
        expect(r.changes).toEqual({ create: 2 });
        expect(await history()).toEqual(["V1__init.sql"]);
        expect(await canLogIn(passwords.app)).toBe(true);
        expect(r.outputs?.applicationUrl.secret).toBe(true);

        const again = await run("up");
        expect(again.error).toBeNull();
        expect(again.changes).toEqual({ same: 2 });
    });

    it("preview --diff of a new migration shows the file; up applies it and only it", async () => {
        fs.writeFileSync(path.join(migrations, "V2__add_sku.sql"), "ALTER TABLE item ADD COLUMN sku text;\n");
        const p = await run("preview", { diff: true });
        expect(p.error).toBeNull();
        expect(p.changes).toEqual({ same: 1, update: 1 });
        expectGolden("add-migration", p.output, goldenLiterals());
        expect(await history()).toEqual(["V1__init.sql"]);

        const r = await run("up");
        expect(r.changes).toEqual({ same: 1, update: 1 });
        expect(await history()).toEqual(["V1__init.sql", "V2__add_sku.sql"]);
        expect(await query(names.database, "SELECT name, sku FROM item")).toEqual([{ name: "first", sku: null }]);
    });

    it("preview tells what each set will run, in order and whether in a transaction, and warns on risky SQL with file, line and rule", async () => {
        const next = fs.mkdtempSync(path.join(os.tmpdir(), "pdc-engine-migrations-"));
        for (const f of fs.readdirSync(migrations)) fs.copyFileSync(path.join(migrations, f), path.join(next, f));
        fs.writeFileSync(
            path.join(next, "V3__drop_sku.sql"),
            "-- the SKU moved to the catalog service\nALTER TABLE item DROP COLUMN sku;\n",
        );
        fs.writeFileSync(
            path.join(next, "V4__sku_index.sql"),
            "CREATE INDEX CONCURRENTLY item_name_idx ON item (name);\n",
        );
        const p = await run("preview", { config: config(passwords.app, {}, next) });
        expect(p.error).toBeNull();
        expect(p.changes).toEqual({ same: 1, update: 1 });
        // The CLI's progress lines vary with timing; its summary of diagnostics does not.
        expectGolden("lint-preview", p.output.slice(p.output.indexOf("Diagnostics:")), goldenLiterals());
        expect(p.output).toContain('preview: migration set "app": will apply V3__drop_sku.sql (in a transaction)');
        expect(p.output).toContain(
            'preview: migration set "app": will apply V4__sku_index.sql (outside a transaction)',
        );
        expect(p.output).toMatch(/lint: migration set "app": V3__drop_sku.sql line 2: drop-column: /);
        expect(await history()).toEqual(["V1__init.sql", "V2__add_sku.sql"]);
        fs.rmSync(next, { recursive: true, force: true });
    });

    it("preview --diff of a changed role password shows [secret]; up changes the password", async () => {
        const p = await run("preview", { config: config(passwords.app2), diff: true });
        expect(p.changes).toEqual({ same: 1, update: 1 });
        expect(p.output).toContain("[secret]");
        // The engine masks secrets before it compares, so the diff marks nothing as changed; the provider's diff
        // names the change, which the plain preview (and `up`'s own preview) shows among its messages.
        expectGolden("role-password", p.output, goldenLiterals());
        const plain = await run("preview");
        expect(plain.output).toContain(`role ${names.appRole}: password changes`);

        const r = await run("up");
        expect(r.changes).toEqual({ same: 1, update: 1 });
        expect(await canLogIn(passwords.app2)).toBe(true);
        expect(await canLogIn(passwords.app)).toBe(false);
    });

    it("refresh reports a role dropped outside Pulumi; the next up creates it again", async () => {
        await query(names.database, `REVOKE ALL ON ALL TABLES IN SCHEMA public FROM "${names.appRole}"`);
        await query("postgres", `DROP ROLE "${names.appRole}"`);
        const r = await run("refresh");
        expect(r.error).toBeNull();
        // Refresh does not run the program, so the stack's outputs keep their old values: the drift is in the
        // resource's own outputs in the checkpoint.
        expect(bootstrapState()?.outputs?.drift).toEqual([`role ${names.appRole} is missing`]);

        const up = await run("up");
        expect(up.error).toBeNull();
        expect(up.changes).toEqual({ same: 1, update: 1 });
        expect(await canLogIn(passwords.app2)).toBe(true);
        expect((await run("up")).changes).toEqual({ same: 2 });
    });

    it("the state files (checkpoint, backups, history) and every line the CLI printed hold no password", async () => {
        const stored = stateFiles(dir);
        expect(stored).toContain("pulumi-nodejs:dynamic/postgres:Bootstrap");
        expect(stored).toContain("ciphertext");
        for (const p of Object.values(passwords)) {
            expect(stored).not.toContain(p);
            expect(printed).not.toContain(p);
        }
    });

    it("destroy leaves database and data (onDelete retain); a new up finds the history and runs nothing again", async () => {
        const d = await run("destroy");
        expect(d.error).toBeNull();
        expect(d.changes).toEqual({ delete: 2 });
        expect(stateResources(dir, "engine-bootstrap", "dev")).toEqual([]);
        expect(await databaseExists(names.database)).toBe(true);

        const r = await run("up");
        expect(r.error).toBeNull();
        expect(r.changes).toEqual({ create: 2 });
        expect(await history()).toEqual(["V1__init.sql", "V2__add_sku.sql"]);
        expect(await query(names.database, "SELECT name FROM item")).toEqual([{ name: "first" }]);
    });
});

describe("a broken migration under the real engine", () => {
    it("up fails naming the file, records nothing and creates nothing that depends on the bootstrap", async () => {
        const broken = fs.mkdtempSync(path.join(os.tmpdir(), "pdc-engine-broken-"));
        fs.writeFileSync(path.join(broken, "V1__init.sql"), "CREATE TABLE ok (id int);\n");
        fs.writeFileSync(path.join(broken, "V2__broken.sql"), "ALTER TABLE missing_table ADD COLUMN x int;\n");
        const own = { database: uniqueName("ebrk"), after: uniqueName("eaft") };
        const brokenDir = stackDir("broken");
        const r = await engine({
            op: "up",
            dir: brokenDir,
            project: "engine-bootstrap",
            stack: "broken",
            program: { module: "tests/engine/programs/bootstrap.ts", export: "bootstrapProgram" },
            config: {
                ...config(passwords.app, { after: own.after }, broken),
                database: { value: own.database },
                owner: { value: uniqueName("bown") },
                appRole: { value: uniqueName("bapp") },
            },
        });
        expect(r.error).toContain("V2__broken.sql");
        expect(r.output).toContain("V2__broken.sql");
        expect(r.output).not.toContain(passwords.app);
        expect(
            (await query<{ script: string }>(own.database, "SELECT script FROM schema_history_app")).map(
                (x) => x.script,
            ),
        ).toEqual(["V1__init.sql"]);
        expect(await databaseExists(own.after)).toBe(false);
        expect(stateResources(brokenDir, "engine-bootstrap", "broken").map((x) => x.type)).not.toContain(
            "pulumi-nodejs:dynamic/postgres:Bootstrap",
        );
    });
});
