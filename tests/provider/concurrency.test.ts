/**
 * Ten bootstraps of one database at once, each through its own dynamic-provider host process (as ten
 * `pulumi up` runs would): the advisory lock serialises them and every step happens exactly once.
 */
import { Client } from "pg";
import { lockChannel, lockKey } from "../../provider/postgres";
import { ProviderHost } from "../support/provider-host";
import { inputsFor, PG, query, uniqueName } from "../support/pg";

const hosts = Array.from({ length: 10 }, () => new ProviderHost());

beforeAll(async () => {
    await Promise.all(hosts.map((h) => h.start()));
}, 120000);

afterAll(async () => {
    await Promise.all(hosts.map((h) => h.stop()));
});

it("10 concurrent creates apply every step exactly once, including CREATE INDEX CONCURRENTLY", async () => {
    const db = uniqueName("conc");
    const role = uniqueName("conc_app");
    const inputs = inputsFor({
        roles: [{ name: role, password: "conc-pw" }],
        database: { name: db, owner: role },
        migrationSets: [
            {
                name: "app",
                scripts: {
                    "V1__tables.sql":
                        "CREATE TABLE side_effect (who text);\nCREATE TABLE big (id int);\nINSERT INTO big SELECT g FROM generate_series(1, 20000) g;",
                    "V2__effect.sql": "INSERT INTO side_effect VALUES ('V2');",
                    "V3__index.sql":
                        "-- bootstrap:no-transaction\nCREATE INDEX CONCURRENTLY big_id_idx ON big (id);\nINSERT INTO side_effect VALUES ('V3');",
                    "R__effect.sql": "INSERT INTO side_effect VALUES ('R');",
                },
            },
        ],
        // Deliberately not idempotent: running it twice would insert twice.
        content: { items: { "seed.sql": "INSERT INTO side_effect VALUES ('content');" } },
    });
    const { inputs: checked } = await hosts[0].check({}, inputs);
    const results = await Promise.allSettled(hosts.map((h) => h.create(checked)));
    expect(results.filter((r) => r.status === "rejected")).toEqual([]);

    const effects = await query(db, "SELECT who, count(*)::int AS n FROM side_effect GROUP BY who ORDER BY who");
    expect(effects).toEqual([
        { who: "R", n: 1 },
        { who: "V2", n: 1 },
        { who: "V3", n: 1 },
        { who: "content", n: 1 },
    ]);
    expect(
        await query(db, "SELECT script, count(*)::int AS n FROM schema_history_app GROUP BY script ORDER BY script"),
    ).toEqual([
        { script: "R__effect.sql", n: 1 },
        { script: "V1__tables.sql", n: 1 },
        { script: "V2__effect.sql", n: 1 },
        { script: "V3__index.sql", n: 1 },
    ]);
    expect(await query(db, "SELECT indisvalid FROM pg_index WHERE indexrelid = 'big_id_idx'::regclass")).toEqual([
        { indisvalid: true },
    ]);
    // Exactly one host did the work; the other nine found nothing left to do.
    const logs = hosts.map((h) => h.stderr);
    expect(logs.filter((l) => l.includes(`[bootstrap ${db}] database ${db}: create`))).toHaveLength(1);
    await Promise.all(hosts.map((h) => h.waitForLog(`[bootstrap ${db}]`)));
    const idle = hosts.filter((h) => h.stderr.includes(`[bootstrap ${db}] nothing to do`));
    expect(idle).toHaveLength(9);
});

describe("the handoff from the lock holder to waiting contenders", () => {
    const slow = (db: string, extra: Record<string, string> = {}) =>
        inputsFor({
            database: { name: db },
            migrationSets: [
                {
                    name: "app",
                    scripts: {
                        "V1__slow.sql": "SELECT pg_sleep(1.5);\nCREATE TABLE t (id int);",
                        "R__v.sql": "CREATE OR REPLACE VIEW v AS SELECT 1 AS one;",
                        ...extra,
                    },
                },
            ],
        });

    /** Starts `inputs` on `holder`, and on `contender` once the holder is inside V1 and the contender waits. */
    async function contend(
        db: string,
        holder: ProviderHost,
        holderInputs: object,
        contender: ProviderHost,
        contenderInputs: object,
    ) {
        const first = holder.create(holderInputs);
        await holder.waitForLog(`[bootstrap ${db}] migration set "app": apply V1__slow.sql`);
        const second = contender.create(contenderInputs);
        await contender.waitForLog(`[bootstrap ${db}] another bootstrap of database ${db} holds the lock; waiting`);
        return { first, second };
    }

    it("a contender with the same inputs is released by the holder's announcement, without reading, and reports the same", async () => {
        const db = uniqueName("ann");
        const { inputs } = await hosts[0].check({}, slow(db));
        const { first, second } = await contend(db, hosts[0], inputs, hosts[1], inputs);
        const [h, c] = await Promise.all([first, second]);
        expect(c).toEqual(h);
        await hosts[1].waitForLog(
            `[bootstrap ${db}] nothing to do (a concurrent bootstrap with the same inputs just completed it)`,
        );
        expect(await query(db, "SELECT script FROM schema_history_app ORDER BY installed_rank")).toEqual([
            { script: "V1__slow.sql" },
            { script: "R__v.sql" },
        ]);
    });

    it("a contender with other inputs does not take the announcement: it reads, and applies only its difference", async () => {
        const db = uniqueName("ann_diff");
        const { inputs: a } = await hosts[2].check({}, slow(db));
        const { inputs: b } = await hosts[3].check({}, slow(db, { "V2__more.sql": "CREATE TABLE more (id int);" }));
        const { first, second } = await contend(db, hosts[2], a, hosts[3], b);
        const [h, c] = await Promise.all([first, second]);
        expect(Object.keys(h.outs.applied.app).sort()).toEqual(["R__v.sql", "V1__slow.sql"]);
        expect(Object.keys(c.outs.applied.app).sort()).toEqual(["R__v.sql", "V1__slow.sql", "V2__more.sql"]);
        await hosts[3].waitForLog(`[bootstrap ${db}] migration set "app": apply V2__more.sql`);
        expect(hosts[3].stderr).not.toContain(`[bootstrap ${db}] migration set "app": apply V1__slow.sql`);
        expect(await query(db, "SELECT script FROM schema_history_app ORDER BY installed_rank")).toEqual([
            { script: "V1__slow.sql" },
            { script: "R__v.sql" },
            { script: "V2__more.sql" },
        ]);
    });

    it("an announcement not made with the admin password is ignored: the contender waits for the real holder", async () => {
        const db = uniqueName("ann_forged");
        const { inputs } = await hosts[4].check({}, slow(db));
        const { first, second } = await contend(db, hosts[4], inputs, hosts[5], inputs);
        // What the history holds when the contender answers: taken in by the forgery, it would answer while the
        // holder is still inside V1, with nothing recorded.
        const historyAtAnswer = second.then(() => query(db, "SELECT count(*)::int AS n FROM schema_history_app"));
        // Anyone who can log in can NOTIFY any channel; a digest made without the admin password must not count.
        await query("postgres", `NOTIFY ${lockChannel(db)}, '${"0".repeat(64)}'`);
        await query("postgres", `NOTIFY ${lockChannel(db)}`);
        const [h, c] = await Promise.all([first, second]);
        expect(await historyAtAnswer).toEqual([{ n: 2 }]);
        expect(c.outs.applied).toEqual(h.outs.applied);
        expect(await query(db, "SELECT count(*)::int AS n FROM schema_history_app")).toEqual([{ n: 2 }]);
    });

    it("a genuine announcement replayed from a session that does not hold the lock is ignored", async () => {
        const db = uniqueName("ann_replay");
        const { inputs } = await hosts[7].check({}, slow(db));
        const session = async () => {
            const c = new Client({
                host: PG.host,
                port: PG.port,
                user: PG.user,
                password: PG.password,
                database: "postgres",
            });
            await c.connect();
            return c;
        };
        // Anyone who can log in can LISTEN, and so capture the announcement of a first run...
        const listener = await session();
        const stand = await session();
        try {
            await listener.query(`LISTEN ${lockChannel(db)}`);
            const captured = new Promise<string>((resolve) =>
                listener.on("notification", (m) => m.payload && resolve(m.payload)),
            );
            await hosts[7].create(inputs);
            const payload = await captured;
            expect(payload).toMatch(/^[0-9a-f]{64}$/);
            // ...and replay it while a second run with the same inputs waits behind a holder that is not done.
            await stand.query(`SELECT pg_advisory_lock(${lockKey(db)}::bigint)`);
            const second = hosts[8].create(inputs);
            await hosts[8].waitForLog(`[bootstrap ${db}] another bootstrap of database ${db} holds the lock; waiting`);
            await listener.query(`NOTIFY ${lockChannel(db)}, '${payload}'`);
            const early = await Promise.race([
                second.then(() => "answered"),
                new Promise((r) => setTimeout(() => r("still waiting"), 1000)),
            ]);
            expect(early).toBe("still waiting");
            await stand.query(`SELECT pg_advisory_unlock(${lockKey(db)}::bigint); NOTIFY ${lockChannel(db)}`);
            await second;
            await hosts[8].waitForLog(`[bootstrap ${db}] nothing to do (a concurrent bootstrap did it)`);
            expect(hosts[8].stderr).not.toContain(
                `[bootstrap ${db}] nothing to do (a concurrent bootstrap with the same inputs just completed it)`,
            );
        } finally {
            await Promise.all([listener.end(), stand.end()]);
        }
    });

    it("a holder that dies without a release or announcement: the contender takes the lock at its next poll and does the work", async () => {
        const db = uniqueName("ann_dead");
        const doomed = new ProviderHost();
        await doomed.start();
        const { inputs } = await hosts[6].check({}, slow(db));
        const { first, second } = await contend(db, doomed, inputs, hosts[6], inputs);
        const died = expect(first).rejects.toThrow(/ECONNRESET|UNAVAILABLE|No connection/);
        await doomed.stop(); // the host process dies mid-migration; its session ends once pg_sleep returns
        await died;
        const c = await second;
        expect(Object.keys(c.outs.applied.app).sort()).toEqual(["R__v.sql", "V1__slow.sql"]);
        await hosts[6].waitForLog(`[bootstrap ${db}] migration set "app": apply V1__slow.sql`);
        expect(await query(db, "SELECT script FROM schema_history_app ORDER BY installed_rank")).toEqual([
            { script: "V1__slow.sql" },
            { script: "R__v.sql" },
        ]);
    });
});
