/**
 * The real Flyway (open-source edition, fetched by tests/infra/flyway.sh) run against the tests' Postgres: the
 * reference the provider's Flyway compatibility is compared with.
 */
import { execFile } from "child_process";
import * as path from "path";
import { PG, query, uniqueName } from "./pg";

const SCRIPT = path.resolve(__dirname, "../infra/flyway.sh");

/** The Flyway commands the tests use (`clean` is left out on purpose). */
export type FlywayCommand = "migrate" | "info" | "validate" | "repair" | "baseline";

export interface FlywayRun {
    /** The JVM's exit code: 0 on success, 1 when Flyway reports an error. */
    code: number;
    stdout: string;
    stderr: string;
}

export interface FlywayOptions {
    /** The database on the tests' cluster. */
    database: string;
    /** Folders to scan, each given as `filesystem:DIR`. */
    locations: string | string[];
    /** Further settings, passed as `-key=value` (e.g. `{ baselineOnMigrate: true, "placeholders.name": "x" }`). */
    settings?: Record<string, string | number | boolean>;
    /** Connect as this role instead of the admin. */
    user?: string;
    password?: string;
}

/**
 * Runs one Flyway command; never rejects on Flyway's own failure (look at `code`; Flyway prints its errors, as
 * `ERROR: …` lines, on stdout). A case with a `CREATE INDEX CONCURRENTLY` migration must pass
 * `"postgresql.transactional.lock": false`: with its default advisory lock Flyway waits on itself forever.
 */
export function runFlyway(command: FlywayCommand, opts: FlywayOptions): Promise<FlywayRun> {
    const locations = (Array.isArray(opts.locations) ? opts.locations : [opts.locations]).map(
        (l) => `filesystem:${path.resolve(l)}`,
    );
    const args = [
        "run",
        command,
        `-url=jdbc:postgresql://${PG.host}:${PG.port}/${opts.database}`,
        `-user=${opts.user ?? PG.user}`,
        `-locations=${locations.join(",")}`,
        ...Object.entries(opts.settings ?? {}).map(([k, v]) => `-${k}=${String(v)}`),
    ];
    // The password goes through Flyway's environment variable, not the process list.
    const env = { ...process.env, FLYWAY_PASSWORD: opts.password ?? PG.password };
    return new Promise((resolve, reject) => {
        execFile(
            "bash",
            [SCRIPT, ...args],
            { env, maxBuffer: 32 * 1024 * 1024, timeout: 180_000 },
            (err, stdout, stderr) => {
                if (err && typeof err.code !== "number") {
                    reject(new Error(`flyway ${command} did not run: ${err.message}\n${stderr}`));
                    return;
                }
                resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
            },
        );
    });
}

/** One row of a Flyway history table, as Flyway wrote it. */
export interface FlywayHistoryRow {
    installed_rank: number;
    version: string | null;
    description: string;
    type: string;
    script: string;
    checksum: number | null;
    installed_by: string;
    success: boolean;
}

function quoteIdent(name: string): string {
    return `"${name.replace(/"/g, '""')}"`;
}

/** The rows of `schema.table` (Flyway's default: public.flyway_schema_history), in installed_rank order. */
export async function flywayHistory(
    database: string,
    table = "flyway_schema_history",
    schema = "public",
): Promise<FlywayHistoryRow[]> {
    return query<FlywayHistoryRow & Record<string, unknown>>(
        database,
        `SELECT installed_rank, version, description, type, script, checksum, installed_by, success
           FROM ${quoteIdent(schema)}.${quoteIdent(table)} ORDER BY installed_rank`,
    );
}

export interface ColumnType {
    name: string;
    /** As `format_type` prints it, e.g. `character varying(50)`. */
    type: string;
    nullable: boolean;
    default: string | null;
}

/** The columns of `schema.table` in their order, with their exact types. */
export async function columnTypes(
    database: string,
    table = "flyway_schema_history",
    schema = "public",
): Promise<ColumnType[]> {
    return query<ColumnType & Record<string, unknown>>(
        database,
        `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, NOT a.attnotnull AS nullable,
                pg_get_expr(d.adbin, d.adrelid) AS "default"
           FROM pg_attribute a
           LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
          WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped
          ORDER BY a.attnum`,
        [`${quoteIdent(schema)}.${quoteIdent(table)}`],
    );
}

/** A fresh database named `oracle_…` on the tests' cluster. */
export async function createOracleDatabase(): Promise<string> {
    const name = uniqueName("oracle");
    await query("postgres", `CREATE DATABASE ${quoteIdent(name)}`);
    return name;
}

/** Drops a database made by `createOracleDatabase`, ending its sessions first. */
export async function dropOracleDatabase(name: string): Promise<void> {
    if (!name.startsWith("oracle_"))
        throw new Error(`dropOracleDatabase: refusing to drop ${name}, which is not an oracle_ database`);
    await query("postgres", `DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
}

/** Runs `fn` with a fresh `oracle_…` database, dropped afterwards whatever happens. */
export async function withOracleDatabase<T>(fn: (database: string) => Promise<T>): Promise<T> {
    const db = await createOracleDatabase();
    try {
        return await fn(db);
    } finally {
        await dropOracleDatabase(db);
    }
}
