/**
 * Per-migration lock and statement timeouts (`wait.migrationLockTimeoutSeconds`,
 * `wait.migrationStatementTimeoutSeconds`), through Pulumi's dynamic-provider host over gRPC against the real
 * Postgres: a migration stuck behind an application's open transaction fails at the timeout, rolled back and
 * unrecorded, instead of waiting for ever; the timeouts never reach our own history rows.
 */
import { Client } from "pg";
import { prepareBootstrap } from "../../provider";
import { ProviderHost } from "../support/provider-host";
import { inputsFor, PG, query } from "../support/pg";
import { fixture, withScripts } from "../support/bootstrap-fixtures";

type Props = Record<string, any>;
type Args = ReturnType<typeof fixture>["args"];
const host = new ProviderHost();
const f = fixture();
const secrets: string[] = [PG.password, f.ownerPassword, f.appPassword];
const appScripts = (f.args.migrationSets![0].scripts ?? {}) as Record<string, string>;

// The resource as the engine last stored it; moved on only by updates that succeed.
let id = "";
let outs: Props = {};
let inputs: Props = {};
let args: Args = f.args;
let scripts: Record<string, string> = { ...appScripts };

beforeAll(async () => {
    await host.start();
    const { inputs: checked, failures } = await host.check({}, f.inputs());
    expect(failures).toEqual([]);
    const r = await host.create(checked);
    id = r.id;
    outs = r.outs;
    inputs = checked;
}, 60000);

afterAll(async () => {
    await host.stop();
    for (const s of secrets) expect(host.stderr).not.toContain(s);
});

/** `p`, or a failure naming `what` once `ms` have passed: no wait in this file is unbounded. */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    try {
        return await Promise.race([
            p,
            new Promise<never>(
                (_, reject) =>
                    (timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms)),
            ),
        ]);
    } finally {
        clearTimeout(timer);
    }
}

/** check → diff → update, as the engine does; the stored resource moves on only when the update succeeds. */
async function update(next: Args): Promise<{ changes: string; outs: Props }> {
    const { inputs: checked, failures } = await host.check(inputs, inputsFor(next));
    expect(failures).toEqual([]);
    const { changes, replaces } = await host.diff(id, outs, checked);
    expect(replaces).toEqual([]);
    const updated = await host.update(id, outs, checked);
    outs = updated;
    inputs = checked;
    args = next;
    return { changes, outs: updated };
}

/** The update's error (undefined if it succeeded) and how long it took, bounded by `ms`. */
async function failedUpdate(next: Args, ms: number): Promise<{ error: Error | undefined; elapsed: number }> {
    const started = Date.now();
    const error = await within(
        update(next).then(
            () => undefined,
            (e: Error) => e,
        ),
        ms,
        "the update",
    );
    return { error, elapsed: Date.now() - started };
}

/**
 * Runs `f` while a separate session holds an open transaction that ran `sql`, and ends that session however `f`
 * ends (the server would end it after 30 s idle in any case).
 */
async function whileOpen<T>(sql: string, body: () => Promise<T>): Promise<T> {
    const c = new Client({ ...PG, database: f.db });
    await c.connect();
    try {
        await c.query(`SET idle_in_transaction_session_timeout = 30000; BEGIN; ${sql}`);
        return await body();
    } finally {
        await c.end();
    }
}

/** Every one of `parts` is in the error's message. */
function expectMessage(error: Error | undefined, parts: string[]): void {
    for (const part of parts) expect(error?.message).toContain(part);
}

async function historyScripts(): Promise<string[]> {
    return (
        await query<{ script: string }>(f.db, "SELECT script FROM public.schema_history_app ORDER BY installed_rank")
    ).map((r) => r.script);
}

async function columnExists(table: string, column: string): Promise<boolean> {
    return (
        (
            await query(f.db, "SELECT 1 FROM information_schema.columns WHERE table_name = $1 AND column_name = $2", [
                table,
                column,
            ])
        ).length > 0
    );
}

async function tableExists(table: string): Promise<boolean> {
    return (await query<{ t: string | null }>(f.db, "SELECT to_regclass($1)::text AS t", [table]))[0].t !== null;
}

/** The app set's scripts plus `more`, with `wait`. */
function next(more: Record<string, string>, wait: Args["wait"]): Args {
    scripts = { ...scripts, ...more };
    return { ...withScripts(args, "app", scripts), wait };
}

describe("check", () => {
    it("rejects a negative, non-number or too large timeout, naming the input and the fix; takes 0 and fractions", async () => {
        const bad = inputsFor({
            ...f.args,
            wait: { migrationLockTimeoutSeconds: -1, migrationStatementTimeoutSeconds: "10s" as unknown as number },
        });
        const { failures } = await host.check({}, bad);
        expect(failures).toEqual([
            {
                property: "wait.migrationLockTimeoutSeconds",
                reason: expect.stringMatching(
                    /^wait\.migrationLockTimeoutSeconds -1 is not a lock_timeout in seconds; give a number from 0 \(no timeout\) to 86400/,
                ),
            },
            {
                property: "wait.migrationStatementTimeoutSeconds",
                reason: expect.stringMatching(
                    /^wait\.migrationStatementTimeoutSeconds "10s" is not a statement_timeout in seconds; give a number from 0/,
                ),
            },
        ]);
        const large = await host.check({}, inputsFor({ ...f.args, wait: { migrationStatementTimeoutSeconds: 86401 } }));
        expect(large.failures.map((x) => x.property)).toEqual(["wait.migrationStatementTimeoutSeconds"]);
        const fine = await host.check(
            {},
            inputsFor({ ...f.args, wait: { migrationLockTimeoutSeconds: 0.25, migrationStatementTimeoutSeconds: 0 } }),
        );
        expect(fine.failures).toEqual([]);
        // The program-side precheck (also PostgresCluster's) applies the same rule before any resource exists.
        expect(
            prepareBootstrap({
                ...f.args,
                connection: { host: "h", password: "p" },
                wait: { migrationLockTimeoutSeconds: -5 },
            }).failures.map((x) => x.property),
        ).toEqual(["wait.migrationLockTimeoutSeconds"]);
    });
});

describe("migration timeouts", () => {
    it("changing only the timeouts is an update, never a replacement, that runs no step; a state written before they existed reads as none", async () => {
        // A state from before these inputs existed reads as none (0): the 10 s lock default is one update (of
        // `wait` only, which runs no step, as below); asking for 0 shows no diff.
        const older = JSON.parse(JSON.stringify(outs));
        delete older.wait.migrationLockTimeoutSeconds;
        delete older.wait.migrationStatementTimeoutSeconds;
        expect(inputs.wait).toEqual(
            expect.objectContaining({ migrationLockTimeoutSeconds: 10, migrationStatementTimeoutSeconds: 0 }),
        );
        expect((await host.diff(id, older, inputs)).changes).toBe("some");
        const none = inputsFor({ ...args, wait: { migrationLockTimeoutSeconds: 0 } });
        expect((await host.diff(id, older, none)).changes).toBe("none");

        const before = await historyScripts();
        const noop = `[bootstrap ${f.db}] nothing to do\n`;
        const noops = host.stderr.split(noop).length;
        const r = await update({
            ...args,
            wait: { migrationLockTimeoutSeconds: 2.5, migrationStatementTimeoutSeconds: 30 },
        });
        expect(r.changes).toBe("some");
        expect(r.outs.wait).toEqual(
            expect.objectContaining({ migrationLockTimeoutSeconds: 2.5, migrationStatementTimeoutSeconds: 30 }),
        );
        expect(await historyScripts()).toEqual(before);
        await within(
            (async () => {
                while (host.stderr.split(noop).length === noops) await new Promise((res) => setTimeout(res, 20));
            })(),
            5000,
            "the provider's 'nothing to do' log line",
        );
        expect((await host.diff(id, outs, inputs)).changes).toBe("none");
    });

    it("an ALTER TABLE behind an open transaction fails at migrationLockTimeoutSeconds, rolled back and unrecorded; once the transaction ends it applies", async () => {
        // ACCESS SHARE: enough to make ALTER TABLE wait
        await whileOpen("SELECT * FROM item", async () => {
            const before = await historyScripts();
            const { error, elapsed } = await failedUpdate(
                next(
                    { "V2__add_sku.sql": "ALTER TABLE item ADD COLUMN sku text;" },
                    { migrationLockTimeoutSeconds: 1 },
                ),
                15000,
            );
            expectMessage(error, [
                'migration set "app": V2__add_sku.sql failed',
                "(SQLSTATE 55P03)",
                "lock_timeout expired: it waited longer than wait.migrationLockTimeoutSeconds (1s)",
                "It was rolled back and not recorded; end the blocking transaction",
                "or raise wait.migrationLockTimeoutSeconds",
            ]);
            expect(elapsed).toBeGreaterThanOrEqual(1000);
            expect(elapsed).toBeLessThan(10000);
            expect(await historyScripts()).toEqual(before);
            expect(await columnExists("item", "sku")).toBe(false);
        });
        await within(
            update(next({}, { migrationLockTimeoutSeconds: 1 })),
            15000,
            "the update after the transaction ended",
        );
        expect(await historyScripts()).toContain("V2__add_sku.sql");
        expect(await columnExists("item", "sku")).toBe(true);
    }, 40000);

    it("a NOWAIT lock that fails after the lock timeout's length is reported as it is, not as the timeout", async () => {
        try {
            await whileOpen("SELECT * FROM item", async () => {
                const file = "SELECT pg_sleep(1.2);\nLOCK TABLE item IN ACCESS EXCLUSIVE MODE NOWAIT;";
                const { error } = await failedUpdate(
                    next({ "V2.5__nowait.sql": file }, { migrationLockTimeoutSeconds: 1 }),
                    15000,
                );
                expectMessage(error, [
                    "V2.5__nowait.sql failed",
                    "(SQLSTATE 55P03)",
                    "It was rolled back and not recorded; fix the file and run again",
                ]);
                expect(error?.message).not.toContain("lock_timeout expired");
            });
        } finally {
            delete scripts["V2.5__nowait.sql"]; // never applied: the later updates go on without it
        }
    }, 40000);

    it("a statement running past migrationStatementTimeoutSeconds fails, rolled back and unrecorded; the timeout is per statement", async () => {
        const before = await historyScripts();
        const slow = "CREATE TABLE slow_marker (id int);\nSELECT pg_sleep(5);";
        const { error, elapsed } = await failedUpdate(
            next({ "V3__slow.sql": slow }, { migrationStatementTimeoutSeconds: 1 }),
            15000,
        );
        expectMessage(error, [
            'migration set "app": V3__slow.sql failed',
            "(SQLSTATE 57014)",
            "statement_timeout expired: a statement ran longer than wait.migrationStatementTimeoutSeconds (1s)",
            "It was rolled back and not recorded; raise wait.migrationStatementTimeoutSeconds",
        ]);
        expect(elapsed).toBeGreaterThanOrEqual(1000);
        expect(elapsed).toBeLessThan(4500);
        expect(await historyScripts()).toEqual(before);
        expect(await tableExists("slow_marker")).toBe(false);
        // Not applied, so it may still change: two statements of 0.6 s each pass a 1 s timeout.
        await within(
            update(
                next(
                    {
                        "V3__slow.sql":
                            "CREATE TABLE slow_marker (id int);\nSELECT pg_sleep(0.6);\nSELECT pg_sleep(0.6);",
                    },
                    { migrationStatementTimeoutSeconds: 1 },
                ),
            ),
            15000,
            "the update",
        );
        expect(await historyScripts()).toContain("V3__slow.sql");
    }, 40000);

    it("a no-transaction migration honours both timeouts too, and is not recorded when one expires", async () => {
        const before = await historyScripts();
        await whileOpen("SELECT * FROM item", async () => {
            const file =
                "-- bootstrap:no-transaction\nCREATE TABLE IF NOT EXISTS outside_marker (id int);\nALTER TABLE item ADD COLUMN IF NOT EXISTS outside text;";
            const { error, elapsed } = await failedUpdate(
                next({ "V4__outside.sql": file }, { migrationLockTimeoutSeconds: 1 }),
                15000,
            );
            expectMessage(error, [
                'migration set "app": V4__outside.sql failed at statement 2 of 2',
                "lock_timeout expired: it waited longer than wait.migrationLockTimeoutSeconds (1s)",
                "It runs outside a transaction",
                "end the blocking transaction (pg_stat_activity shows it) or raise wait.migrationLockTimeoutSeconds",
            ]);
            expect(elapsed).toBeLessThan(10000);
            expect(await historyScripts()).toEqual(before);
            expect(await columnExists("item", "outside")).toBe(false);
        });
        await within(
            update(next({}, { migrationLockTimeoutSeconds: 1 })),
            15000,
            "the update after the transaction ended",
        );
        expect(await columnExists("item", "outside")).toBe(true);

        const { error, elapsed } = await failedUpdate(
            next(
                { "V5__outside_slow.sql": "-- bootstrap:no-transaction\nSELECT pg_sleep(5);" },
                { migrationStatementTimeoutSeconds: 1 },
            ),
            15000,
        );
        expectMessage(error, [
            'migration set "app": V5__outside_slow.sql failed at statement 1 of 1',
            "statement_timeout expired: a statement ran longer than wait.migrationStatementTimeoutSeconds (1s)",
        ]);
        expect(elapsed).toBeLessThan(4500);
        expect(await historyScripts()).not.toContain("V5__outside_slow.sql");
        await within(
            update(
                next(
                    { "V5__outside_slow.sql": "-- bootstrap:no-transaction\nSELECT 1;" },
                    { migrationStatementTimeoutSeconds: 1 },
                ),
            ),
            15000,
            "the update",
        );
        expect(await historyScripts()).toContain("V5__outside_slow.sql");
    }, 40000);

    it.each([
        ["in a transaction", "V6__inside.sql", "CREATE TABLE inside_six (id int);"],
        [
            "outside a transaction",
            "V7__outside.sql",
            "-- bootstrap:no-transaction\nCREATE TABLE outside_seven (id int);",
        ],
    ])(
        "the timeouts do not reach the history row (%s): it waits for its lock past them and is recorded",
        async (_how, file, sql) => {
            // SHARE mode blocks the history INSERT (ROW EXCLUSIVE) but not the migration, nor the provider's reads.
            let settled = false;
            // Wrapped: an async function returning the promise itself would wait for it, inside the lock.
            const { running } = await whileOpen("LOCK TABLE public.schema_history_app IN SHARE MODE", async () => {
                const running = update(
                    next({ [file]: sql }, { migrationLockTimeoutSeconds: 1, migrationStatementTimeoutSeconds: 1 }),
                ).finally(() => (settled = true));
                running.catch(() => undefined); // judged below
                await within(
                    (async () => {
                        const waiting =
                            "SELECT 1 FROM pg_locks WHERE relation = 'public.schema_history_app'::regclass AND NOT granted";
                        while (!settled && (await query(f.db, waiting)).length === 0)
                            await new Promise((res) => setTimeout(res, 50));
                    })(),
                    10000,
                    "the history row's wait for its lock",
                );
                await new Promise((res) => setTimeout(res, 1600)); // past both timeouts
                expect(settled).toBe(false);
                return { running };
            });
            await within(running, 15000, "the update after the history table was free");
            expect(await historyScripts()).toContain(file);
        },
        40000,
    );
});
