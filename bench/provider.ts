/**
 * Provider benchmarks (issue: the database bootstrap). Each prints a ratio measured in this one run:
 *  1. applying M generated migrations through the provider (gRPC host) vs `psql -1 -f` of the same SQL;
 *  2. a no-op update with 1,000 applied migrations vs with 10;
 *  3. 10 concurrent bootstraps of one database vs one bootstrap;
 *  4. the real Flyway beside it: the same M migrations applied by each (and psql as the floor), and a no-op over
 *     1,000 applied migrations (provider update vs Flyway migrate and validate).
 * All run as a user's project runs them after `npm install pulumi-docker-cluster` (tests/support/
 * installed-package.ts): `__provider` is then a 2 KB reference to the installed package. The third also runs with
 * the provider serialized from this repository's source (its code by value, ~63 KB), for comparison.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
    freePort,
    inputsFor,
    InstalledPackage,
    PG,
    PrivateCluster,
    ProviderHost,
    query,
    runFlyway,
    serializedProvider,
    uniqueName,
} from "../tests/support";
import { Engines } from "./engines";

/** `target` absent: a reference figure (a floor), not a goal. */
type Result = { name: string; ours: number; baseline: number; ratio: number; target?: number; rounds?: string };

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
/** Measured rounds of the concurrent benchmark (each a ten and a one); more give a steadier median. */
const ROUNDS = Number(process.env.PDC_BENCH_ROUNDS ?? 15);

function generated(count: number, rows: number): Record<string, string> {
    const scripts: Record<string, string> = {};
    for (let i = 1; i <= count; i++) {
        scripts[`V${i}__table_${i}.sql`] =
            `CREATE TABLE t${i} (id int PRIMARY KEY, v text NOT NULL);\n` +
            `INSERT INTO t${i} SELECT g, md5(g::text) FROM generate_series(1, ${rows}) g;\n` +
            `CREATE INDEX t${i}_v ON t${i} (v);\n`;
    }
    return scripts;
}

/**
 * Drops what a round created, outside the timed part: left in place, every round's tables would be analyzed by
 * autovacuum at some random later moment, in the middle of another measurement.
 */
async function dropBenchDatabase(db: string, roles: string[] = []): Promise<void> {
    await query("postgres", `DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    for (const r of roles) await query("postgres", `DROP ROLE IF EXISTS ${r}`);
}

/**
 * A checkpoint and an OS sync between rounds, so no round pays for writing out what an earlier one left dirty
 * (the test cluster runs with fsync off, so without the sync the kernel writes it back in the middle of the next
 * measurement).
 */
async function settle(): Promise<void> {
    await query("postgres", "CHECKPOINT");
    execFileSync("sync");
}

/** `psql -1 -f file` into `db`: the whole file in one transaction, the floor a migration tool is compared with. */
function psqlFile(db: string, file: string): Buffer {
    const args = [
        "-q",
        "-X",
        "-v",
        "ON_ERROR_STOP=1",
        "-1",
        "-h",
        PG.host,
        "-p",
        String(PG.port),
        "-U",
        PG.user,
        "-d",
        db,
        "-f",
        file,
    ];
    return execFileSync("psql", args, { env: { ...process.env, PGPASSWORD: PG.password } });
}

async function timed<T>(f: () => Promise<T>): Promise<[number, T]> {
    const t = process.hrtime.bigint();
    const r = await f();
    return [Number(process.hrtime.bigint() - t) / 1e6, r];
}

async function applyVsPsql(host: ProviderHost, m: number, rows: number): Promise<Result> {
    const scripts = generated(m, rows);
    const oursRuns: number[] = [];
    const psqlRuns: number[] = [];
    for (let round = 0; round < 3; round++) {
        const db = uniqueName("bench_apply");
        const { inputs } = await host.check(
            {},
            inputsFor({ database: { name: db }, migrationSets: [{ name: "app", scripts }] }),
        );
        const [ms] = await timed(() => host.create(inputs));
        oursRuns.push(ms);

        const db2 = uniqueName("bench_psql");
        await query("postgres", `CREATE DATABASE ${db2}`);
        const file = path.join(os.tmpdir(), `${db2}.sql`);
        fs.writeFileSync(
            file,
            Object.keys(scripts)
                .sort((a, b) => Number(a.slice(1).split("__")[0]) - Number(b.slice(1).split("__")[0]))
                .map((k) => scripts[k])
                .join("\n"),
        );
        const [pms] = await timed(async () => psqlFile(db2, file));
        psqlRuns.push(pms);
        fs.rmSync(file);
        await dropBenchDatabase(db);
        await dropBenchDatabase(db2);
    }
    // psql gets the database for free; the provider's time includes creating it, its history table and the wait.
    const ours = median(oursRuns);
    const baseline = median(psqlRuns);
    return {
        name: `apply ${m} migrations (${rows} rows each): provider vs psql -1 -f`,
        ours,
        baseline,
        ratio: ours / baseline,
        target: 1.15,
    };
}

async function noopUpdate(host: ProviderHost): Promise<Result> {
    const measure = async (n: number) => {
        const db = uniqueName(`bench_noop${n}`);
        const scripts: Record<string, string> = {};
        for (let i = 1; i <= n; i++) scripts[`V${i}__m${i}.sql`] = `CREATE TABLE m${i} (id int);`;
        const { inputs } = await host.check(
            {},
            inputsFor({ database: { name: db }, migrationSets: [{ name: "app", scripts }] }),
        );
        const { outs } = await host.create(inputs);
        const runs: number[] = [];
        for (let i = 0; i < 7; i++) runs.push(await host.timedUpdate(db, outs, inputs));
        await dropBenchDatabase(db);
        return median(runs);
    };
    const small = await measure(10);
    const large = await measure(1000);
    return {
        name: "no-op update: 1,000 applied migrations vs 10",
        ours: large,
        baseline: small,
        ratio: large / small,
        target: 3,
    };
}

/** Writes `scripts` into a fresh folder for Flyway (`filesystem:`), returning its path. */
function scriptFolder(scripts: Record<string, string>): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-flyway-"));
    for (const [name, sql] of Object.entries(scripts)) fs.writeFileSync(path.join(dir, name), sql);
    return dir;
}

async function flyway(command: "migrate" | "validate", db: string, dir: string): Promise<void> {
    const r = await runFlyway(command, { database: db, locations: dir });
    if (r.code !== 0) throw new Error(`flyway ${command} failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
}

/**
 * The same M migrations applied by the provider (database, history table and all) and by the real Flyway 13.12.2
 * (`migrate` into an empty database, JVM start included, as a user runs it), with `psql -1 -f` as the floor.
 */
async function applyVsFlyway(host: ProviderHost, m: number, rows: number): Promise<Result[]> {
    const scripts = generated(m, rows);
    const dir = scriptFolder(scripts);
    const ours: number[] = [];
    const theirs: number[] = [];
    const psql: number[] = [];
    for (let round = 0; round < 3; round++) {
        const db = uniqueName("bench_fw_ours");
        const { inputs } = await host.check(
            {},
            inputsFor({
                database: { name: db },
                migrationSets: [{ name: "app", table: "flyway_schema_history", scripts }],
            }),
        );
        await settle();
        ours.push((await timed(() => host.create(inputs)))[0]);
        const db2 = uniqueName("bench_fw_flyway");
        await query("postgres", `CREATE DATABASE ${db2}`);
        await settle();
        theirs.push((await timed(() => flyway("migrate", db2, dir)))[0]);
        // The two histories must be the same rows, or this compares different work.
        const rowsOf = (d: string) =>
            query(d, "SELECT version, script, checksum, success FROM flyway_schema_history ORDER BY installed_rank");
        if (JSON.stringify(await rowsOf(db)) !== JSON.stringify(await rowsOf(db2)))
            throw new Error("provider and Flyway histories differ");
        const db3 = uniqueName("bench_fw_psql");
        await query("postgres", `CREATE DATABASE ${db3}`);
        const file = path.join(dir, "all.sql.txt");
        fs.writeFileSync(
            file,
            Array.from({ length: m }, (_, i) => scripts[`V${i + 1}__table_${i + 1}.sql`]).join("\n"),
        );
        await settle();
        psql.push((await timed(async () => psqlFile(db3, file)))[0]);
        for (const d of [db, db2, db3]) await dropBenchDatabase(d);
    }
    fs.rmSync(dir, { recursive: true, force: true });
    const [o, t, p] = [median(ours), median(theirs), median(psql)];
    return [
        {
            name: `apply ${m} migrations (${rows} rows each): provider vs Flyway migrate`,
            ours: o,
            baseline: t,
            ratio: o / t,
            target: 1,
        },
        {
            name: `apply ${m} migrations (${rows} rows each): Flyway migrate vs psql -1 -f`,
            ours: t,
            baseline: p,
            ratio: t / p,
        },
    ];
}

/** Nothing to do over 1,000 applied migrations: a provider update vs Flyway's `migrate` and `validate` of the same database. */
async function noopVsFlyway(host: ProviderHost): Promise<Result[]> {
    const db = uniqueName("bench_fw_noop");
    const scripts: Record<string, string> = {};
    for (let i = 1; i <= 1000; i++) scripts[`V${i}__m${i}.sql`] = `CREATE TABLE m${i} (id int);`;
    const dir = scriptFolder(scripts);
    const { inputs } = await host.check(
        {},
        inputsFor({
            database: { name: db },
            migrationSets: [{ name: "app", table: "flyway_schema_history", scripts }],
        }),
    );
    const { outs } = await host.create(inputs);
    const ours: number[] = [];
    const migrate: number[] = [];
    const validate: number[] = [];
    for (let i = 0; i < 3; i++) {
        ours.push(await host.timedUpdate(db, outs, inputs));
        migrate.push((await timed(() => flyway("migrate", db, dir)))[0]);
        validate.push((await timed(() => flyway("validate", db, dir)))[0]);
    }
    const count = await query(db, "SELECT count(*)::int AS n FROM flyway_schema_history");
    if (count[0].n !== 1000) throw new Error(`history has ${count[0].n} rows after the no-op runs, expected 1000`);
    await dropBenchDatabase(db);
    fs.rmSync(dir, { recursive: true, force: true });
    const [o, m, v] = [median(ours), median(migrate), median(validate)];
    return [
        {
            name: "no-op over 1,000 applied migrations: provider update vs Flyway migrate",
            ours: o,
            baseline: m,
            ratio: o / m,
            target: 1,
        },
        {
            name: "no-op over 1,000 applied migrations: provider update vs Flyway validate",
            ours: o,
            baseline: v,
            ratio: o / v,
            target: 1,
        },
    ];
}

/** One way of shipping the provider, with the ten hosts (engines) that run it. */
interface Shipping {
    label: string;
    hosts: ProviderHost[];
}

/**
 * The floor's stand-in for a contender: a dynamic provider whose Create only logs in (connect and an
 * authenticated `SELECT 1`, as the bootstrap's first step does), ends the client the way the bootstrap does, and
 * answers with no outputs. It coordinates nothing and waits for nothing, so no design in which each engine's host
 * talks to Postgres can cost less.
 */
const LOGIN_ONLY_PROVIDER = `exports.handler = function () {
    return {
        async create(inputs) {
            const { Client } = require("pg");
            const c = inputs.connection;
            const client = new Client({ host: c.host, port: c.port, user: c.user, password: c.password, database: c.maintenanceDatabase });
            await client.connect();
            await client.query("SELECT 1");
            setImmediate(() => void client.end().catch(() => undefined));
            return { id: "login-only", outs: {} };
        },
    };
};`;

type Case = { v: Shipping; kind: "one" | "ten" | "floor" };

/**
 * 10 concurrent bootstraps vs one, for each way of shipping the provider, and the floor under the ten: one
 * bootstrap while nine more engines each call a host that only logs in. All cases interleave round by round, in
 * a rotating order, so the machine's drifts in speed (measured: a fixed loop took 424 ms, then 736 ms) fall on
 * every case alike.
 */
async function concurrent(variants: Shipping[]): Promise<Result[]> {
    const workload = (db: string) =>
        inputsFor({
            roles: [{ name: `${db}_app`, password: "bench" }],
            database: { name: db, owner: `${db}_app` },
            migrationSets: [{ name: "app", scripts: generated(20, 2000) }],
        });
    const engines = new Map(variants.map((v) => [v, new Engines(v.hosts)]));
    // One bootstrap of a fresh database (with company, per the case); checks the result, drops it, settles.
    const run = async ({ v, kind }: Case): Promise<number> => {
        const db = uniqueName(`bench_${kind}`);
        const { inputs } = await v.hosts[0].check({}, workload(db));
        const request = v.hosts[0].createRequestBytes(inputs);
        const requests =
            kind === "one"
                ? [request]
                : v.hosts.map((h, i) =>
                      i === 0 || kind === "ten"
                          ? request
                          : h.createRequestBytes({ ...inputs, __provider: LOGIN_ONLY_PROVIDER }),
                  );
        const { ms, answers } = await engines.get(v)!.create(requests);
        // Not a benchmark of something else: every bootstrap's answer reports all 20 migrations, and the history
        // has each once.
        for (const a of kind === "floor" ? answers.slice(0, 1) : answers) {
            const { outs } = ProviderHost.decodeCreateResponse(a);
            if (Object.keys(outs.applied.app).length !== 20)
                throw new Error(`a concurrent bootstrap reported ${JSON.stringify(outs.applied)}`);
        }
        const rows = await query(db, "SELECT count(*)::int AS n FROM public.schema_history_app");
        if (rows[0].n !== 20) throw new Error(`history of ${db} has ${rows[0].n} rows, expected 20`);
        await dropBenchDatabase(db, [`${db}_app`]);
        await settle();
        return ms;
    };
    const cases: Case[] = variants.flatMap((v, i): Case[] => [
        { v, kind: "one" },
        { v, kind: "ten" },
        ...(i === 0 ? [{ v, kind: "floor" as const }] : []),
    ]);
    const times = new Map(cases.map((c) => [c, [] as number[]]));
    await settle();
    // Warm-up, not recorded: a fresh host's first calls run unoptimised code, and hosts 1-9 work only with company.
    for (let round = 0; round < 2; round++) for (const c of cases) await run(c);
    for (let round = 0; round < ROUNDS; round++) {
        // A rotating order, so no case always follows another.
        for (let k = 0; k < cases.length; k++) {
            const c = cases[(k + round) % cases.length];
            times.get(c)!.push(await run(c));
        }
    }
    await Promise.all([...engines.values()].map((e) => e.stop()));
    const of = (v: Shipping, kind: Case["kind"]) => times.get(cases.find((c) => c.v === v && c.kind === kind)!)!;
    const floor = median(of(variants[0], "floor"));
    return cases
        .filter((c) => c.kind !== "one")
        .flatMap((c): Result[] => {
            const one = of(c.v, "one");
            const company = times.get(c)!;
            const ours = median(company);
            const baseline = median(one);
            const rounds = `${c.kind}/one per round (ms): ${one.map((o, i) => `${company[i].toFixed(0)}/${o.toFixed(0)}`).join(" ")}`;
            // The target is relative to the floor of the same run: on two cores the floor alone reaches 1.1-1.3x one.
            return c.kind === "ten"
                ? [
                      {
                          name: `10 concurrent bootstraps of one database vs one (${c.v.label})`,
                          ours,
                          baseline,
                          ratio: ours / baseline,
                          rounds,
                      },
                      {
                          name: `10 concurrent bootstraps vs the floor below (${c.v.label})`,
                          ours,
                          baseline: floor,
                          ratio: ours / floor,
                          target: 1.15,
                      },
                  ]
                : [
                      {
                          name: `floor under the ten: one bootstrap while 9 more engines call hosts that only log in, vs one bootstrap alone (${c.v.label})`,
                          ours,
                          baseline,
                          ratio: ours / baseline,
                          rounds,
                      },
                  ];
        });
}

/** `count` provider hosts (one per engine), stopped after `f`. */
async function withHosts<T>(
    installed: InstalledPackage | undefined,
    count: number,
    f: (hosts: ProviderHost[]) => Promise<T>,
): Promise<T> {
    const hosts = Array.from({ length: count }, () => new ProviderHost("bootstrap", installed));
    try {
        await Promise.all(hosts.map((h) => h.start()));
        return await f(hosts);
    } finally {
        await Promise.all(hosts.map((h) => h.stop()));
    }
}

export async function providerBenchmarks(): Promise<Result[]> {
    // A fresh cluster of the benchmarks' own: the shared test cluster holds every database the tests left, and
    // autovacuum's visits to them (one worker start per database per minute) run through every measurement.
    // Its data lives in memory: on this machine's disk one CREATE DATABASE took anywhere from 45 to 400 ms, which
    // buried the differences being measured.
    const memory = fs.existsSync("/dev/shm") ? "/dev/shm" : os.tmpdir();
    const cluster = new PrivateCluster(await freePort(), memory);
    const installed = new InstalledPackage(memory);
    cluster.start();
    Object.assign(PG, cluster.connection);
    try {
        const only = process.env.PDC_BENCH_ONLY;
        const all: [string, () => Promise<Result[]>][] = [
            ["apply", () => withHosts(installed, 1, async (h) => [await applyVsPsql(h[0], 100, 5000)])],
            ["noop", () => withHosts(installed, 1, async (h) => [await noopUpdate(h[0])])],
            [
                "flyway",
                () =>
                    withHosts(installed, 1, async (h) => [
                        ...(await applyVsFlyway(h[0], 50, 2000)),
                        ...(await noopVsFlyway(h[0])),
                    ]),
            ],
            [
                "concurrent",
                () =>
                    withHosts(installed, 10, (fromNpm) =>
                        withHosts(undefined, 10, (fromSource) =>
                            concurrent([
                                {
                                    label: `package installed from npm: __provider ${installed.serializedProvider().length} bytes`,
                                    hosts: fromNpm,
                                },
                                {
                                    label: `from this repository's source: __provider ${serializedProvider().length} bytes`,
                                    hosts: fromSource,
                                },
                            ]),
                        ),
                    ),
            ],
        ];
        const out: Result[] = [];
        for (const [key, run] of all) if (!only || only === key) out.push(...(await run()));
        return out;
    } finally {
        cluster.destroy();
        installed.destroy();
    }
}

export function printResults(results: Result[]): void {
    for (const r of results) {
        const verdict =
            r.target === undefined
                ? "reference, no target"
                : `target <= ${r.target}x, ${r.ratio <= r.target ? "meets" : "MISSES"}`;
        console.log(
            `${r.name}: ${r.ours.toFixed(0)} ms vs ${r.baseline.toFixed(0)} ms = ${r.ratio.toFixed(2)}x (${verdict})`,
        );
        if (r.rounds) console.log(`  ${r.rounds}`);
    }
}

if (require.main === module) {
    providerBenchmarks().then(printResults, (e) => {
        console.error(e);
        process.exit(1);
    });
}
