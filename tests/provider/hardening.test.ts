/**
 * Safe defaults of the bootstrap against the real Postgres, through Pulumi's dynamic-provider host: role settings
 * (`roles[].settings`) kept and drift-checked like the other attributes, and `restrictMaintenanceDatabase`, which
 * keeps application roles away from the bootstrap's advisory lock. A maintenance database of its own stands in for
 * `postgres`, so the shared test server's is left as it is.
 */
import { Client } from "pg";
import { lockKey } from "../../provider/postgres";
import { ProviderHost } from "../support/provider-host";
import { inputsFor, PG, query, uniqueName } from "../support/pg";
import { fixture } from "../support/bootstrap-fixtures";

type Props = Record<string, any>;
const host = new ProviderHost();
const f = fixture();
const maintenance = uniqueName("maint");
const args = (settings: Record<string, string>) => ({
    ...f.args,
    connection: { maintenanceDatabase: maintenance, restrictMaintenanceDatabase: true },
    wait: { lockTimeoutSeconds: 5 },
    roles: f.args.roles!.map((r) => (r.name === f.app ? { ...r, settings } : r)),
});
let id = "";
let outs: Props = {};
let inputs: Props = {};

async function update(next: ReturnType<typeof args>): Promise<Props> {
    const { inputs: checked, failures } = await host.check(inputs, inputsFor(next));
    expect(failures).toEqual([]);
    outs = await host.update(id, outs, checked);
    inputs = checked;
    return outs;
}

async function settingsOf(role: string): Promise<string[]> {
    const rows = await query<{ s: string[] | null }>(
        maintenance,
        "SELECT (SELECT setconfig FROM pg_db_role_setting WHERE setrole = r.oid AND setdatabase = 0) AS s FROM pg_roles r WHERE rolname = $1",
        [role],
    );
    return rows[0].s ?? [];
}

const asApp = (database: string) => new Client({ ...PG, user: f.app, password: f.appPassword, database });

beforeAll(async () => {
    await query("postgres", `CREATE DATABASE ${maintenance}`);
    await host.start();
    const { inputs: checked, failures } = await host.check(
        {},
        inputsFor(args({ idle_in_transaction_session_timeout: "60s" })),
    );
    expect(failures).toEqual([]);
    const r = await host.create(checked);
    id = r.id;
    outs = r.outs;
    inputs = checked;
}, 60000);

afterAll(async () => {
    await host.stop();
    await query("postgres", `DROP DATABASE IF EXISTS ${maintenance} WITH (FORCE)`);
});

describe("role settings", () => {
    it("are set on create, visible in the role's sessions, and kept off the wire when empty", async () => {
        expect(await settingsOf(f.app)).toEqual(["idle_in_transaction_session_timeout=60s"]);
        const c = asApp(f.db);
        await c.connect();
        try {
            expect((await c.query("SHOW idle_in_transaction_session_timeout")).rows[0]).toEqual({
                idle_in_transaction_session_timeout: "1min",
            });
        } finally {
            await c.end();
        }
        expect(inputs.roles[f.owner]).not.toHaveProperty("settings");
    });

    it("a change outside Pulumi is drift; a changed or removed setting is set or reset at the next update", async () => {
        await query(maintenance, `ALTER ROLE ${f.app} SET idle_in_transaction_session_timeout = '5min'`);
        expect((await host.read(id, outs)).props.drift).toContain(
            `role ${f.app}: setting idle_in_transaction_session_timeout is "5min", expected "60s"`,
        );
        await update(args({ statement_timeout: "30s" }));
        expect(await settingsOf(f.app)).toEqual(["statement_timeout=30s"]);
        expect(host.stderr).toContain(
            `role ${f.app}: set statement_timeout, reset idle_in_transaction_session_timeout`,
        );
        expect((await host.read(id, outs)).props.drift).toEqual([]);
    });

    it("refuses a name that is no parameter, and a value that is not a string", async () => {
        const { failures } = await host.check(
            inputs,
            inputsFor(args({ "search_path; DROP": "x", work_mem: 4 as unknown as string })),
        );
        expect(failures.map((x: { property: string }) => x.property).sort()).toEqual([
            `roles.${f.app}.settings.search_path; DROP`,
            `roles.${f.app}.settings.work_mem`,
        ]);
    });
});

describe("the bootstrap's lock is out of the application role's reach", () => {
    it("PUBLIC lost CONNECT on the maintenance database: the application role cannot connect there", async () => {
        const rows = await query(maintenance, "SELECT has_database_privilege($1, current_database(), 'CONNECT') AS c", [
            f.app,
        ]);
        expect(rows).toEqual([{ c: false }]);
        await expect(
            (async () => {
                const c = asApp(maintenance);
                try {
                    await c.connect();
                } finally {
                    await c.end().catch(() => undefined);
                }
            })(),
        ).rejects.toThrow(`permission denied for database "${maintenance}"`);
    });

    it("holding the lock's key in the application database does not stall an update", async () => {
        const c = asApp(f.db);
        await c.connect();
        try {
            expect((await c.query("SELECT pg_try_advisory_lock($1::bigint) AS ok", [lockKey(f.db)])).rows).toEqual([
                { ok: true },
            ]);
            const started = Date.now();
            await update(args({ statement_timeout: "20s" })); // lockTimeoutSeconds is 5: a contended lock fails
            expect(Date.now() - started).toBeLessThan(5000);
            expect(await settingsOf(f.app)).toEqual(["statement_timeout=20s"]);
        } finally {
            await c.end();
        }
    });
});
