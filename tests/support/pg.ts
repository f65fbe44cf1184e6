/**
 * The tests' Postgres: the throwaway cluster `.ci/run` (tests/infra/postgres.sh) starts on 127.0.0.1.
 */
import { Client } from "pg";
import { BootstrapArgs, prepareBootstrap, wireInputs } from "../../provider";
import { BootstrapInputs } from "../../provider/types";

export const PG = {
    host: process.env.PDC_PG_HOST ?? "127.0.0.1",
    port: Number(process.env.PDC_PG_PORT ?? 55432),
    user: process.env.PDC_PG_USER ?? "postgres",
    password: process.env.PDC_PG_PASSWORD ?? "pdc-admin-pw",
};

let counter = 0;
/** A database/role-safe name unique to this test run. */
export function uniqueName(prefix: string): string {
    return `${prefix}_${process.pid}_${Date.now().toString(36)}_${counter++}`;
}

/** Runs one query as the admin against `database` and returns the rows. */
export async function query<T extends Record<string, unknown> = Record<string, unknown>>(
    database: string,
    sql: string,
    params: unknown[] = [],
): Promise<T[]> {
    const c = new Client({ ...PG, database });
    await c.connect();
    try {
        return (await c.query<T>(sql, params)).rows;
    } finally {
        await c.end();
    }
}

/** The wire inputs for `args`, connected to the tests' cluster unless `args.connection` says otherwise. */
export function inputsFor(
    args: Omit<BootstrapArgs, "connection"> & { connection?: Partial<BootstrapArgs["connection"]> },
): BootstrapInputs {
    const full: BootstrapArgs = {
        ...args,
        connection: { host: PG.host, port: PG.port, user: PG.user, password: PG.password, ...args.connection },
    };
    // Read and checksummed as a program would, but not refused here: these inputs often exist to test the check.
    const prepared = prepareBootstrap(full);
    return JSON.parse(JSON.stringify(wireInputs(full, prepared.migrationSets, (v) => v))) as BootstrapInputs;
}
