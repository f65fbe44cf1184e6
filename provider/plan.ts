/**
 * "What must the bootstrap do": a pure function of the desired inputs, the previous inputs and the actual state
 * read from the server. It returns ordered steps (with the SQL to run) or the errors that forbid running anything.
 * No I/O here; `postgres.ts` reads the state and carries the steps out.
 */
import { escapeIdentifier as id, escapeLiteral as lit } from "pg";
import { compareVersions, parseScriptName, scanSql, transactionNeeds, versionKey, wantsNoTransaction } from "./migrations";
import { scramVerifier } from "./scram";
import { ActualState, AppliedMigrations, BootstrapInputs, HistoryRow, MigrationSetSpec, RoleSpec, WaitSpec } from "./types";

/** A migration's `lock_timeout` and `statement_timeout` in whole milliseconds; 0 sets none. */
export interface MigrationTimeouts {
    lockMs: number;
    statementMs: number;
}

/** One step of work. `description` is safe to log; `sql` may carry password verifiers and is never logged. */
export type Step =
    | { target: "cluster"; kind: "role" | "database"; description: string; sql: string[] }
    | { target: "database"; kind: "extension" | "history-table"; description: string; sql: string[] }
    | {
          target: "database";
          kind: "migration";
          description: string;
          set: string;
          historyTable: string;
          script: string;
          version: string | null;
          scriptDescription: string;
          checksum: string;
          /** Whole-file SQL when transactional; split statements otherwise. */
          sql: string[];
          transactional: boolean;
          timeouts: MigrationTimeouts;
      };

export interface Plan {
    steps: Step[];
    /** Human-readable notes that are not errors (e.g. a removed role left in place). */
    notes: string[];
    /** Anything here means nothing may run. */
    errors: string[];
    /** What the history will hold once the steps ran, per set. */
    applied: AppliedMigrations;
}

/** Seconds to whole milliseconds; a positive value never rounds to 0, which Postgres reads as "no timeout". */
function timeoutMs(seconds: number | undefined): number {
    return typeof seconds === "number" && Number.isFinite(seconds) && seconds > 0 ? Math.max(1, Math.round(seconds * 1000)) : 0;
}

/** The migration timeouts of `wait` (states written before they existed have none). */
export function migrationTimeouts(wait: Partial<WaitSpec> | undefined): MigrationTimeouts {
    return { lockMs: timeoutMs(wait?.migrationLockTimeoutSeconds), statementMs: timeoutMs(wait?.migrationStatementTimeoutSeconds) };
}

/**
 * The SET statements (each ending in ";\n") that give a migration its timeouts: `SET LOCAL` inside its
 * transaction, a session `SET` for a file run outside one. Only the ones asked for, so 0 leaves the server's
 * setting alone. The values are integer literals of our own making (`timeoutMs`: milliseconds, the settings' unit).
 */
export function timeoutSql(t: MigrationTimeouts, scope: "local" | "session"): string {
    const set = scope === "local" ? "SET LOCAL" : "SET";
    return [
        ...(t.lockMs > 0 ? [`${set} lock_timeout = ${t.lockMs};\n`] : []),
        ...(t.statementMs > 0 ? [`${set} statement_timeout = ${t.statementMs};\n`] : []),
    ].join("");
}

/** The qualified, escaped name of a set's history table. */
export function historyTableOf(set: Pick<MigrationSetSpec, "schema" | "table">): string {
    return `${id(set.schema)}.${id(set.table)}`;
}

function roleOptions(r: RoleSpec): string {
    return [
        r.login ? "LOGIN" : "NOLOGIN",
        r.createdb ? "CREATEDB" : "NOCREATEDB",
        r.inherit ? "INHERIT" : "NOINHERIT",
        `CONNECTION LIMIT ${Math.trunc(r.connectionLimit)}`,
    ].join(" ");
}

/**
 * The roles in grant order, each after the roles among them it is a member of, so a role is created with its
 * grants in one step and a grant never names a role that comes later; and a circle of memberships, if there is
 * one (first role repeated at the end), which Postgres refuses and `check` reports.
 */
export function grantOrder(roles: Record<string, Pick<RoleSpec, "memberOf">>): { order: string[]; cycle?: string[] } {
    const order: string[] = [];
    const state = new Map<string, "visiting" | "done">();
    const path: string[] = [];
    let cycle: string[] | undefined;
    const visit = (name: string) => {
        if (state.get(name) === "done") return;
        if (state.get(name) === "visiting") {
            cycle ??= [...path.slice(path.indexOf(name)), name];
            return;
        }
        state.set(name, "visiting");
        path.push(name);
        for (const g of roles[name].memberOf ?? []) if (g !== name && g in roles) visit(g); // self: check's own message
        path.pop();
        state.set(name, "done");
        order.push(name);
    };
    for (const name of Object.keys(roles)) visit(name);
    return { order, cycle };
}

function planRoles(desired: BootstrapInputs, previous: BootstrapInputs | undefined, actual: ActualState, plan: Plan): void {
    for (const name of grantOrder(desired.roles).order) {
        const r = desired.roles[name];
        const have = actual.roles[name];
        const sql: string[] = [];
        const what: string[] = [];
        // A verifier costs a PBKDF2 run: made only when a statement needs it.
        const passwordSql = () => (r.password !== undefined ? ` PASSWORD ${lit(scramVerifier(r.password))}` : "");
        if (!have) {
            sql.push(`CREATE ROLE ${id(name)} WITH ${roleOptions(r)}${passwordSql()}`);
            what.push("create");
        } else {
            const differs =
                have.login !== r.login || have.createdb !== r.createdb || have.inherit !== r.inherit || have.connectionLimit !== r.connectionLimit;
            if (differs) what.push("attributes");
            if (r.password !== undefined && actual.passwordMatches?.[name] !== true) what.push("password");
            if (differs || what.includes("password")) {
                sql.push(`ALTER ROLE ${id(name)} WITH ${roleOptions(r)}${what.includes("password") ? passwordSql() : ""}`);
            }
        }
        const current = new Set(have?.memberOf ?? []);
        for (const g of r.memberOf) {
            if (!current.has(g)) {
                sql.push(`GRANT ${id(g)} TO ${id(name)}`);
                what.push(`grant ${g}`);
            }
        }
        // Revoke only memberships this resource granted before; grants made by others are not ours to remove.
        const managedBefore = previous?.roles[name]?.memberOf ?? [];
        for (const g of managedBefore) {
            if (!r.memberOf.includes(g) && current.has(g)) {
                sql.push(`REVOKE ${id(g)} FROM ${id(name)}`);
                what.push(`revoke ${g}`);
            }
        }
        if (sql.length) plan.steps.push({ target: "cluster", kind: "role", description: `role ${name}: ${what.join(", ")}`, sql });
    }
}

/**
 * Roles removed from the inputs: dropped only on request, and after the database changed owner (a role that still
 * owns the database cannot be dropped).
 */
function planRemovedRoles(desired: BootstrapInputs, previous: BootstrapInputs | undefined, actual: ActualState, plan: Plan): void {
    for (const name of Object.keys(previous?.roles ?? {})) {
        if (name in desired.roles || !actual.roles[name]) continue;
        if (desired.dropRemovedRoles) {
            plan.steps.push({ target: "cluster", kind: "role", description: `role ${name}: drop (dropRemovedRoles)`, sql: [`DROP ROLE ${id(name)}`] });
        } else {
            plan.notes.push(`role ${name} was removed from the inputs and is left in place (set dropRemovedRoles to drop it)`);
        }
    }
}

function planDatabase(desired: BootstrapInputs, previous: BootstrapInputs | undefined, actual: ActualState, plan: Plan): void {
    const db = desired.database;
    if (previous && previous.database.name !== db.name && actual.previousDatabaseExists) {
        plan.errors.push(
            `database.name: changing the name of existing database "${previous.database.name}" to "${db.name}" is refused; ` +
                `rename it yourself (ALTER DATABASE ... RENAME TO) and then update the input, or create a new Bootstrap resource`,
        );
        return;
    }
    // The server's name for the encoding: "euc-jp", "EUC-JP" and "EUC_JP" are one encoding, stored as EUC_JP.
    const encoding = actual.encodingName ?? db.encoding.toUpperCase().replace(/-/g, "");
    if (encoding === "") {
        plan.errors.push(`database.encoding: the server knows no encoding "${db.encoding}"; use a name such as UTF8, LATIN1 or EUC_JP`);
        return;
    }
    if (!actual.database.exists) {
        const locale = db.locale ? ` LC_COLLATE ${lit(db.locale)} LC_CTYPE ${lit(db.locale)}` : "";
        plan.steps.push({
            target: "cluster",
            kind: "database",
            description: `database ${db.name}: create (owner ${db.owner})`,
            sql: [`CREATE DATABASE ${id(db.name)} WITH OWNER ${id(db.owner)} ENCODING ${lit(db.encoding)}${locale} TEMPLATE ${id(db.template)}`],
        });
        return;
    }
    if (actual.database.encoding && actual.database.encoding.toUpperCase() !== encoding.toUpperCase()) {
        plan.errors.push(
            `database.encoding: database "${db.name}" exists with encoding ${actual.database.encoding}; an encoding cannot be changed in place, ` +
                `so set database.encoding to "${actual.database.encoding}" or migrate the data to a new database`,
        );
    }
    // Stored as the C library names it at CREATE DATABASE: "C.UTF-8" and "c.utf8" name one locale, "POSIX" is "C".
    const norm = (l: string) => (l.toUpperCase() === "POSIX" ? "C" : l).toLowerCase().replace(/utf-8/g, "utf8");
    const sameLocale = (a: string | undefined) => a === undefined || norm(a) === norm(db.locale);
    if (db.locale && (!sameLocale(actual.database.collate) || !sameLocale(actual.database.ctype))) {
        plan.errors.push(
            `database.locale: database "${db.name}" exists with LC_COLLATE ${actual.database.collate} and LC_CTYPE ${actual.database.ctype}; a locale cannot ` +
                `be changed in place, so set database.locale to "${actual.database.collate}" (or "" for the template's) or migrate the data to a new database`,
        );
    }
    if (actual.database.owner !== db.owner) {
        plan.steps.push({
            target: "cluster",
            kind: "database",
            description: `database ${db.name}: owner ${actual.database.owner} -> ${db.owner}`,
            sql: [`ALTER DATABASE ${id(db.name)} OWNER TO ${id(db.owner)}`],
        });
    }
}

interface Pending {
    file: string;
    version: string | null;
    description: string;
}

function planSet(set: MigrationSetSpec, rows: HistoryRow[] | undefined, timeouts: MigrationTimeouts, plan: Plan): void {
    const where = `migration set "${set.name}"`;
    const errors: string[] = [];
    const history = rows ?? [];
    for (const row of history.filter((r) => !r.success)) {
        errors.push(`${where}: ${row.script} is recorded as failed in ${set.schema}.${set.table}; fix the database by hand and delete that row`);
    }
    const ok = history.filter((r) => r.success);
    // Keyed by versionKey: "1" and "1.0" are one version, as compareVersions says.
    const versioned = new Map<string, { file: string; version: string }>();
    const repeatable: string[] = [];
    for (const file of Object.keys(set.files).sort()) {
        const parsed = set.kind === "content" ? { kind: "repeatable" as const, version: null } : parseScriptName(file);
        if (!parsed) {
            errors.push(`${where}: ${file} is not a migration name; rename it to V<version>__<description>.sql or R__<description>.sql`);
            continue;
        }
        const key = parsed.version === null ? null : versionKey(parsed.version);
        if (key === null) {
            repeatable.push(file);
        } else if (versioned.has(key)) {
            errors.push(`${where}: ${versioned.get(key)!.file} and ${file} both have version ${key}; give each migration its own version`);
        } else {
            versioned.set(key, { file, version: parsed.version! });
        }
    }
    let highest: string | null = null;
    const appliedVersions = new Set<string>();
    for (const row of ok.filter((r) => r.version !== null)) {
        const version = versionKey(row.version!);
        appliedVersions.add(version);
        if (highest === null || compareVersions(version, highest) > 0) highest = version;
        const file = versioned.get(version)?.file;
        if (file === undefined) {
            if (!set.ignoreMissing) {
                errors.push(`${where}: ${row.script} (version ${version}) was applied but its file is gone; restore the file, or set ignoreMissing on the set`);
            }
            continue;
        }
        if (set.files[file].checksum !== row.checksum) {
            errors.push(
                `${where}: ${file} was edited after it was applied (applied checksum ${row.checksum}, file checksum ${set.files[file].checksum}); ` +
                    `revert the edit and put the change in a new migration`,
            );
        }
    }
    const pending: Pending[] = [];
    const newVersions = [...versioned.keys()].filter((v) => !appliedVersions.has(v)).sort(compareVersions);
    for (const v of newVersions) {
        const { file, version } = versioned.get(v)!;
        if (highest !== null && compareVersions(v, highest) < 0 && !set.outOfOrder) {
            errors.push(`${where}: ${file} has version ${v}, lower than the highest applied version ${highest}; give it a higher version, or set outOfOrder on the set`);
            continue;
        }
        pending.push({ file, version, description: parseScriptName(file)!.description });
    }
    const latest = new Map<string, string>(); // repeatable script -> checksum of its latest run
    for (const row of ok.filter((r) => r.version === null)) latest.set(row.script, row.checksum);
    if (!set.ignoreMissing) {
        for (const script of latest.keys()) {
            if (!repeatable.includes(script)) {
                errors.push(`${where}: ${script} (repeatable) was applied but its file is gone; restore the file, or set ignoreMissing on the set`);
            }
        }
    }
    for (const file of repeatable) {
        if (latest.get(file) !== set.files[file].checksum) {
            pending.push({ file, version: null, description: parseScriptName(file)?.description ?? file.replace(/\.sql$/, "") });
        }
    }
    // Only files about to run are scanned: applied ones passed this check when they ran, and a no-op must not
    // cost more as history grows.
    for (const p of pending) {
        for (const m of scanSql(set.files[p.file].sql).metaCommands) {
            errors.push(`${where}: ${p.file} line ${m.line} has a psql meta-command (${m.text}) the server cannot run; use plain SQL (INSERT instead of COPY FROM stdin, one database per set instead of \\connect)`);
        }
    }
    if (errors.length) {
        plan.errors.push(...errors);
        return;
    }
    if (rows === undefined) {
        plan.steps.push({
            target: "database",
            kind: "history-table",
            description: `${where}: create history table ${set.schema}.${set.table}`,
            sql: [
                `CREATE SCHEMA IF NOT EXISTS ${id(set.schema)}`,
                `CREATE TABLE IF NOT EXISTS ${historyTableOf(set)} (
    installed_rank serial PRIMARY KEY,
    version text,
    description text NOT NULL,
    type text NOT NULL,
    script text NOT NULL,
    checksum text NOT NULL,
    installed_by text NOT NULL DEFAULT current_user,
    installed_on timestamptz NOT NULL DEFAULT now(),
    execution_time integer NOT NULL,
    success boolean NOT NULL
)`,
            ],
        });
    }
    for (const p of pending) {
        const spec = set.files[p.file];
        // Outside a transaction when the file says so, or when it has a statement PostgreSQL runs only there (check
        // refuses such a statement beside others unless the set allows mixing), as Flyway decides it.
        const statements = scanSql(spec.sql).statements;
        const transactional = !wantsNoTransaction(spec.sql) && transactionNeeds(statements).outside.length === 0;
        plan.steps.push({
            target: "database",
            kind: "migration",
            description: `${where}: apply ${p.file}${transactional ? "" : " (outside a transaction)"}`,
            set: set.name,
            historyTable: historyTableOf(set),
            script: p.file,
            version: p.version,
            scriptDescription: p.description,
            checksum: spec.checksum,
            sql: transactional ? [spec.sql] : statements,
            transactional,
            timeouts,
        });
    }
    const byVersion = new Map<string, [string, string]>();
    for (const r of ok.filter((r) => r.version !== null)) byVersion.set(versionKey(r.version!), [r.script, r.checksum]);
    for (const p of pending.filter((p) => p.version !== null)) byVersion.set(versionKey(p.version!), [p.file, set.files[p.file].checksum]);
    const rep = new Map(latest);
    for (const p of pending.filter((p) => p.version === null)) rep.set(p.file, set.files[p.file].checksum);
    plan.applied[set.name] = historyAfter(byVersion, rep);
}

/** What a set's history holds afterwards: versioned scripts in version order, then each repeatable's latest run. */
function historyAfter(byVersion: Map<string, [string, string]>, repeatables: Map<string, string>): Record<string, string> {
    const after: Record<string, string> = {};
    for (const v of [...byVersion.keys()].sort(compareVersions)) after[byVersion.get(v)![0]] = byVersion.get(v)![1];
    for (const [script, checksum] of [...repeatables.entries()].sort()) after[script] = checksum;
    return after;
}

/**
 * `applied` as a completed bootstrap of `desired` leaves it when each set's history holds exactly the set's own
 * files (the usual case; history rows kept by ignoreMissing are the exception). A contender compares this, by
 * digest, with what the lock holder announces it completed.
 */
export function appliedWhenComplete(desired: BootstrapInputs): AppliedMigrations {
    const applied: AppliedMigrations = {};
    for (const set of desired.migrationSets) {
        const byVersion = new Map<string, [string, string]>();
        const repeatables = new Map<string, string>();
        for (const [file, spec] of Object.entries(set.files)) {
            const parsed = set.kind === "content" ? null : parseScriptName(file);
            if (parsed?.kind === "versioned") byVersion.set(versionKey(parsed.version!), [file, spec.checksum]);
            else repeatables.set(file, spec.checksum);
        }
        applied[set.name] = historyAfter(byVersion, repeatables);
    }
    return applied;
}

/**
 * Plans the bootstrap. `previous` is the inputs of the last successful run (undefined on create). Everything the
 * bootstrap would refuse shows up in `errors`, and then no step may run.
 */
export function planBootstrap(desired: BootstrapInputs, previous: BootstrapInputs | undefined, actual: ActualState): Plan {
    const plan: Plan = { steps: [], notes: [], errors: [], applied: {} };
    planRoles(desired, previous, actual, plan);
    planDatabase(desired, previous, actual, plan);
    planRemovedRoles(desired, previous, actual, plan);
    for (const ext of desired.database.extensions) {
        if (!actual.extensions.includes(ext)) {
            plan.steps.push({ target: "database", kind: "extension", description: `extension ${ext}: create`, sql: [`CREATE EXTENSION IF NOT EXISTS ${id(ext)}`] });
        }
    }
    const timeouts = migrationTimeouts(desired.wait);
    for (const set of desired.migrationSets) planSet(set, actual.history[set.name], timeouts, plan);
    if (plan.errors.length) plan.steps = [];
    return plan;
}
