/**
 * Ten bootstraps of one database at once, each through its own dynamic-provider host process (as ten
 * `pulumi up` runs would): the advisory lock serialises them and every step happens exactly once.
 */
import { ProviderHost } from "../support/provider-host";
import { inputsFor, query, uniqueName } from "../support/pg";

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
                    "V1__tables.sql": "CREATE TABLE side_effect (who text);\nCREATE TABLE big (id int);\nINSERT INTO big SELECT g FROM generate_series(1, 20000) g;",
                    "V2__effect.sql": "INSERT INTO side_effect VALUES ('V2');",
                    "V3__index.sql": "-- bootstrap:no-transaction\nCREATE INDEX CONCURRENTLY big_id_idx ON big (id);\nINSERT INTO side_effect VALUES ('V3');",
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
    expect(await query(db, "SELECT script, count(*)::int AS n FROM schema_history_app GROUP BY script ORDER BY script")).toEqual([
        { script: "R__effect.sql", n: 1 },
        { script: "V1__tables.sql", n: 1 },
        { script: "V2__effect.sql", n: 1 },
        { script: "V3__index.sql", n: 1 },
    ]);
    expect(await query(db, "SELECT indisvalid FROM pg_index WHERE indexrelid = 'big_id_idx'::regclass")).toEqual([{ indisvalid: true }]);
    // Exactly one host did the work; the other nine found nothing left to do.
    const logs = hosts.map((h) => h.stderr);
    expect(logs.filter((l) => l.includes(`[bootstrap ${db}] database ${db}: create`))).toHaveLength(1);
    await Promise.all(hosts.map((h) => h.waitForLog(`[bootstrap ${db}]`)));
    const idle = hosts.filter((h) => h.stderr.includes(`[bootstrap ${db}] nothing to do`));
    expect(idle).toHaveLength(9);
});
