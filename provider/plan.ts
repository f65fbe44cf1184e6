/**
 * "What must the bootstrap do": a pure function of the desired inputs, the previous inputs and the actual state
 * read from the server. It returns ordered steps (with the SQL to run) or the errors that forbid running anything.
 * No I/O here; `postgres.ts` reads the state and carries the steps out.
 */
import {
    baseName,
    compareVersions,
    flywayChecksum,
    MigrateCallback,
    parseScriptName,
    replacePlaceholders,
    scanSql,
    transactionNeeds,
    versionKey,
    wantsNoTransaction,
} from "./migrations";
import { lintMigrations, LintRule } from "./lint";
import { scramVerifier } from "./scram";
import {
    ActualState,
    AppliedMigrations,
    BootstrapInputs,
    HistoryRow,
    MigrationSetSpec,
    PrivilegePreset,
    RoleSpec,
    SchemaPrivileges,
    ScriptSpec,
    WaitSpec,
} from "./types";

// `pg` is required where it is used, never at module top, in every provider file: the provider is serialized into
// the state with the functions it reaches, and a require inside a function stays a require of the installed package.
/** An identifier quoted for SQL. */
function id(name: string): string {
    return (require("pg") as typeof import("pg")).escapeIdentifier(name);
}

/** A literal quoted for SQL. */
function lit(value: string): string {
    return (require("pg") as typeof import("pg")).escapeLiteral(value);
}

/** A migration's `lock_timeout` and `statement_timeout` in whole milliseconds; 0 sets none. */
export interface MigrationTimeouts {
    lockMs: number;
    statementMs: number;
}

/** One step of work. `description` is safe to log; `sql` may carry password verifiers and is never logged. */
export type Step =
    | { target: "cluster"; kind: "role" | "database"; description: string; sql: string[] }
    | {
          target: "database";
          kind: "extension" | "history-table" | "history" | "privileges";
          description: string;
          sql: string[];
      }
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
          /** A callback's event: the script runs but is not recorded in the history. */
          callback?: string;
          /** Error callbacks (afterEachMigrateError, afterMigrateError) run when the script fails. */
          onError?: string[];
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
    return typeof seconds === "number" && Number.isFinite(seconds) && seconds > 0
        ? Math.max(1, Math.round(seconds * 1000))
        : 0;
}

/** The migration timeouts of `wait` (states written before they existed have none). */
export function migrationTimeouts(wait: Partial<WaitSpec> | undefined): MigrationTimeouts {
    return {
        lockMs: timeoutMs(wait?.migrationLockTimeoutSeconds),
        statementMs: timeoutMs(wait?.migrationStatementTimeoutSeconds),
    };
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

function planRoles(
    desired: BootstrapInputs,
    previous: BootstrapInputs | undefined,
    actual: ActualState,
    plan: Plan,
): void {
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
                have.login !== r.login ||
                have.createdb !== r.createdb ||
                have.inherit !== r.inherit ||
                have.connectionLimit !== r.connectionLimit;
            if (differs) what.push("attributes");
            if (r.password !== undefined && actual.passwordMatches?.[name] !== true) what.push("password");
            if (differs || what.includes("password")) {
                sql.push(
                    `ALTER ROLE ${id(name)} WITH ${roleOptions(r)}${what.includes("password") ? passwordSql() : ""}`,
                );
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
        // Settings: set the ones that differ; reset only names this resource kept before (others are not ours).
        const haveSettings = have?.settings ?? {};
        for (const [k, v] of Object.entries(r.settings ?? {})) {
            if (haveSettings[k] !== v) {
                sql.push(`ALTER ROLE ${id(name)} SET ${k} = ${lit(v)}`);
                what.push(`set ${k}`);
            }
        }
        for (const k of Object.keys(previous?.roles[name]?.settings ?? {})) {
            if (!(k in (r.settings ?? {})) && k in haveSettings) {
                sql.push(`ALTER ROLE ${id(name)} RESET ${k}`);
                what.push(`reset ${k}`);
            }
        }
        if (sql.length)
            plan.steps.push({ target: "cluster", kind: "role", description: `role ${name}: ${what.join(", ")}`, sql });
    }
}

/**
 * `connection.restrictMaintenanceDatabase`: PUBLIC loses CONNECT on the maintenance database, where the bootstrap
 * takes its advisory lock, so an application role cannot hold that lock and stall every later run. Only a
 * superuser or the database's owner keeps connecting afterwards; anyone else is told instead of locked out.
 */
function planMaintenanceDatabase(desired: BootstrapInputs, actual: ActualState, plan: Plan): void {
    const m = actual.maintenance;
    if (!desired.connection.restrictMaintenanceDatabase || !m?.publicConnect) return;
    const name = desired.connection.maintenanceDatabase;
    if (!m.canRevoke) {
        plan.notes.push(
            `maintenance database ${name}: left open to PUBLIC, because ${desired.connection.user} is neither a superuser nor its owner ` +
                "and would lock itself out; any role may then hold the bootstrap's lock",
        );
        return;
    }
    plan.steps.push({
        target: "cluster",
        kind: "database",
        description: `maintenance database ${name}: revoke CONNECT from PUBLIC`,
        sql: [`REVOKE CONNECT ON DATABASE ${id(name)} FROM PUBLIC`],
    });
}

/** What a preset keeps, per kind of object; privileges of a kind not listed are revoked while a preset applies. */
export interface PrivilegeSet {
    database: string[];
    schema: string[];
    tables: string[];
    sequences: string[];
}

/**
 * The presets. "owner": the role migrates itself (CREATE on the schemas, so it owns what it creates, and on the
 * database, for schemas of its own), and has every privilege on the tables the bootstrap's migrations make.
 * "readwrite": the bootstrap migrates, the role reads and writes rows. "readonly": it reads. "none" keeps nothing:
 * the migrations grant what they want (the default, and what switching away from a preset leaves).
 */
export const PRIVILEGE_PRESETS: Record<PrivilegePreset | "none", PrivilegeSet> = {
    owner: {
        database: ["CREATE"],
        schema: ["USAGE", "CREATE"],
        tables: ["SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"],
        sequences: ["USAGE", "SELECT", "UPDATE"],
    },
    readwrite: {
        database: [],
        schema: ["USAGE"],
        tables: ["SELECT", "INSERT", "UPDATE", "DELETE"],
        sequences: ["USAGE", "SELECT"],
    },
    readonly: { database: [], schema: ["USAGE"], tables: ["SELECT"], sequences: ["SELECT"] },
    none: { database: [], schema: [], tables: [], sequences: [] },
};

/** Everything a preset may hold, so everything a preset revokes when it does not keep it. */
const MANAGED_PRIVILEGES = PRIVILEGE_PRESETS.owner;

/** The schemas the presets cover: `public` and each migration set's. */
export function privilegeSchemas(inputs: Pick<BootstrapInputs, "migrationSets">): string[] {
    return [...new Set(["public", ...(inputs.migrationSets ?? []).map((s) => s.schema)])];
}

/** The role whose preset is "owner", if one is. */
export function ownerRole(inputs: Pick<BootstrapInputs, "roles"> | undefined): string | undefined {
    return Object.entries(inputs?.roles ?? {}).find(([, r]) => r.privileges === "owner")?.[0];
}

/** Roles with a preset now or in the previous inputs: the ones whose privileges are read and planned. */
export function managedPrivilegeRoles(desired: BootstrapInputs, previous: BootstrapInputs | undefined): string[] {
    const names = [...Object.keys(desired.roles), ...Object.keys(previous?.roles ?? {})];
    return [...new Set(names)].filter((n) => desired.roles[n]?.privileges || previous?.roles[n]?.privileges);
}

/**
 * The roles whose default privileges the presets set: the admin, who runs the migrations, and the "owner" role,
 * whose own migrations create tables the other roles must reach (now or in the previous inputs, to revoke).
 */
export function privilegeCreators(desired: BootstrapInputs, previous: BootstrapInputs | undefined): string[] {
    const all = [desired.connection.user, ownerRole(desired), previous?.connection.user, ownerRole(previous)];
    return [...new Set(all.filter((c): c is string => typeof c === "string"))];
}

/** What the plan knows of this run beyond the actual state: schemas and history tables its sets create, whether it migrates. */
export interface PrivilegeContext {
    newSchemas: string[];
    /** History tables created by this run, as `schema.table`. */
    newHistory: string[];
    /** Migrations run before the privileges: their tables are new, so the grants on all tables are made again. */
    migrating: boolean;
}

const NO_SCHEMA_PRIVILEGES: SchemaPrivileges = {
    schema: [],
    tables: { all: [], held: {} },
    sequences: { all: [], held: {} },
    history: [],
    defaults: {},
};

/**
 * The statements that bring `name`'s privileges to its preset (to none when it has none now but had one), and
 * what they do in words. Empty when the role is in shape. `first`, the default privileges taken away, must run
 * before this run's migrations, or the tables they create would still get them. Pure; `read` reports drift with it.
 */
export function privilegeStatements(
    name: string,
    desired: BootstrapInputs,
    previous: BootstrapInputs | undefined,
    actual: ActualState,
    ctx: PrivilegeContext,
): { first: string[]; sql: string[]; what: string[] } {
    const first: string[] = [];
    const sql: string[] = [];
    const what: string[] = [];
    const want = PRIVILEGE_PRESETS[desired.roles[name]?.privileges ?? "none"];
    const have = actual.privileges?.[name];
    const role = id(name);
    const list = (ps: string[]) => ps.join(", ");
    const change = (wanted: string[], held: string[], managed: string[]) => ({
        grant: wanted.filter((p) => !held.includes(p)),
        revoke: managed.filter((p) => held.includes(p) && !wanted.includes(p)),
    });

    const db = have?.ownsDatabase
        ? { grant: [], revoke: [] }
        : change(want.database, have?.database ?? [], MANAGED_PRIVILEGES.database);
    if (db.grant.length) {
        sql.push(`GRANT ${list(db.grant)} ON DATABASE ${id(desired.database.name)} TO ${role}`);
        what.push(`grant ${list(db.grant)} on the database`);
    }
    if (db.revoke.length) {
        sql.push(`REVOKE ${list(db.revoke)} ON DATABASE ${id(desired.database.name)} FROM ${role}`);
        what.push(`revoke ${list(db.revoke)} on the database`);
    }

    // A new database is made from a template that has `public`; a set's schema exists once its history table does.
    const existing = new Set([...(actual.database.exists ? (actual.schemas ?? []) : ["public"]), ...ctx.newSchemas]);
    const covered = privilegeSchemas(desired);
    const schemas = [...new Set([...covered, ...(previous ? privilegeSchemas(previous) : [])])];
    const wantedCreators = [desired.connection.user, ownerRole(desired)].filter((c) => c !== undefined && c !== name);
    const creators = privilegeCreators(desired, previous).filter((c) => c !== name);
    for (const s of schemas.filter((x) => existing.has(x))) {
        const w = covered.includes(s) ? want : PRIVILEGE_PRESETS.none;
        const h = have?.schemas[s] ?? NO_SCHEMA_PRIVILEGES;
        const schema = h.owns ? { grant: [], revoke: [] } : change(w.schema, h.schema, MANAGED_PRIVILEGES.schema);
        if (schema.grant.length) {
            sql.push(`GRANT ${list(schema.grant)} ON SCHEMA ${id(s)} TO ${role}`);
            what.push(`grant ${list(schema.grant)} on schema ${s}`);
        }
        let grantedAll = false;
        for (const kind of ["tables", "sequences"] as const) {
            const missing = w[kind].filter((p) => !h[kind].all.includes(p));
            if (w[kind].length && (missing.length || ctx.migrating)) {
                sql.push(`GRANT ${list(w[kind])} ON ALL ${kind.toUpperCase()} IN SCHEMA ${id(s)} TO ${role}`);
                if (missing.length) what.push(`grant ${list(missing)} on ${kind} in ${s}`);
                grantedAll ||= kind === "tables";
            }
            // Table by table, not ON ALL: that would also take from the role its privileges on the tables it owns.
            const revoked = new Set<string>();
            for (const [rel, held] of Object.entries(h[kind].held)) {
                const extra = MANAGED_PRIVILEGES[kind].filter((p) => held.includes(p) && !w[kind].includes(p));
                if (!extra.length) continue;
                const on = kind === "tables" ? "TABLE" : "SEQUENCE";
                sql.push(`REVOKE ${list(extra)} ON ${on} ${id(s)}.${id(rel)} FROM ${role}`);
                extra.forEach((p) => revoked.add(p));
            }
            if (revoked.size)
                what.push(`revoke ${list(MANAGED_PRIVILEGES[kind].filter((p) => revoked.has(p)))} on ${kind} in ${s}`);
        }
        for (const c of creators) {
            const wc = wantedCreators.includes(c) ? w : PRIVILEGE_PRESETS.none;
            const hc = h.defaults[c] ?? { tables: [], sequences: [] };
            for (const kind of ["tables", "sequences"] as const) {
                const d = change(wc[kind], hc[kind], MANAGED_PRIVILEGES[kind]);
                const alter = `ALTER DEFAULT PRIVILEGES FOR ROLE ${id(c)} IN SCHEMA ${id(s)}`;
                if (d.grant.length) {
                    sql.push(`${alter} GRANT ${list(d.grant)} ON ${kind.toUpperCase()} TO ${role}`);
                    what.push(`grant ${list(d.grant)} on ${kind} ${c} creates in ${s}`);
                }
                if (d.revoke.length) {
                    first.push(`${alter} REVOKE ${list(d.revoke)} ON ${kind.toUpperCase()} FROM ${role}`);
                    what.push(`revoke ${list(d.revoke)} on ${kind} ${c} creates in ${s}`);
                }
            }
        }
        // History tables are the bootstrap's alone: a grant on all tables, or default privileges, reach them too.
        const ours = desired.migrationSets.filter((x) => x.schema === s).map((x) => `${x.schema}.${x.table}`);
        const revokeOn = grantedAll ? ours : [...h.history, ...ctx.newHistory];
        for (const x of desired.migrationSets.filter(
            (x) => revokeOn.includes(`${x.schema}.${x.table}`) && x.schema === s,
        ))
            sql.push(`REVOKE ALL ON TABLE ${historyTableOf(x)} FROM ${role}`);
        if (h.history.length) what.push(`revoke privileges on history tables ${h.history.join(", ")}`);
        if (schema.revoke.length) {
            sql.push(`REVOKE ${list(schema.revoke)} ON SCHEMA ${id(s)} FROM ${role}`);
            what.push(`revoke ${list(schema.revoke)} on schema ${s}`);
        }
    }
    return { first, sql, what };
}

/**
 * Each role's privileges brought to its preset, after the migration sets: their schemas and history tables exist by
 * then, and the grants on all tables reach the tables they made. Default privileges taken away go before the sets
 * (at `setsStart`). Only roles with a preset (now or before) are touched.
 */
function planPrivileges(
    desired: BootstrapInputs,
    previous: BootstrapInputs | undefined,
    actual: ActualState,
    plan: Plan,
    setsStart: number,
): void {
    const created = desired.migrationSets.filter((s) => actual.history[s.name] === undefined);
    const ctx: PrivilegeContext = {
        newSchemas: created.map((s) => s.schema),
        newHistory: created.map((s) => `${s.schema}.${s.table}`),
        migrating: plan.steps.some((x) => x.kind === "migration"),
    };
    for (const name of managedPrivilegeRoles(desired, previous)) {
        if (!(name in desired.roles)) continue; // a removed role is revoked before its drop, or left in place
        const { first, sql, what } = privilegeStatements(name, desired, previous, actual, ctx);
        const preset = desired.roles[name].privileges ?? "none";
        if (first.length)
            plan.steps.splice(setsStart, 0, {
                target: "database",
                kind: "privileges",
                description: `role ${name}: privileges ${preset}: default privileges taken away before the migrations`,
                sql: first,
            });
        if (!sql.length) continue;
        plan.steps.push({
            target: "database",
            kind: "privileges",
            description: `role ${name}: privileges ${preset}${what.length ? `: ${what.join("; ")}` : ""}`,
            sql,
        });
    }
}

/**
 * Roles removed from the inputs: dropped only on request, and after the database changed owner (a role that still
 * owns the database cannot be dropped).
 */
function planRemovedRoles(
    desired: BootstrapInputs,
    previous: BootstrapInputs | undefined,
    actual: ActualState,
    plan: Plan,
): void {
    for (const name of Object.keys(previous?.roles ?? {})) {
        if (name in desired.roles || !actual.roles[name]) continue;
        if (desired.dropRemovedRoles) {
            // A role that still holds privileges cannot be dropped: a preset's go first.
            if (previous?.roles[name]?.privileges && actual.database.exists) {
                const ctx = { newSchemas: [], newHistory: [], migrating: false };
                const x = privilegeStatements(name, desired, previous, actual, ctx);
                const sql = [...x.first, ...x.sql];
                if (sql.length)
                    plan.steps.push({
                        target: "database",
                        kind: "privileges",
                        description: `role ${name}: revoke its privileges before the drop`,
                        sql,
                    });
            }
            plan.steps.push({
                target: "cluster",
                kind: "role",
                description: `role ${name}: drop (dropRemovedRoles)`,
                sql: [`DROP ROLE ${id(name)}`],
            });
        } else {
            plan.notes.push(
                `role ${name} was removed from the inputs and is left in place (set dropRemovedRoles to drop it)`,
            );
        }
    }
}

function planDatabase(
    desired: BootstrapInputs,
    previous: BootstrapInputs | undefined,
    actual: ActualState,
    plan: Plan,
): void {
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
        plan.errors.push(
            `database.encoding: the server knows no encoding "${db.encoding}"; use a name such as UTF8, LATIN1 or EUC_JP`,
        );
        return;
    }
    if (!actual.database.exists) {
        const locale = db.locale ? ` LC_COLLATE ${lit(db.locale)} LC_CTYPE ${lit(db.locale)}` : "";
        plan.steps.push({
            target: "cluster",
            kind: "database",
            description: `database ${db.name}: create (owner ${db.owner})`,
            sql: [
                `CREATE DATABASE ${id(db.name)} WITH OWNER ${id(db.owner)} ENCODING ${lit(db.encoding)}${locale} TEMPLATE ${id(db.template)}`,
            ],
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

/** What a set's plan needs besides the set and its history. */
export interface SetContext {
    /** The admin user (`flyway:user`) and the database (`flyway:database`). */
    user: string;
    database: string;
    /** The set as the last successful run had it: a callback new or changed since then runs. */
    previous?: MigrationSetSpec;
    /** Whether the set's schema holds tables (read only for a set with a baseline and no history table). */
    schemaHasTables?: boolean;
    /** `flyway:timestamp`: when the plan was made. */
    now: Date;
    timeouts: MigrationTimeouts;
}

/** Whether `recorded` (a history row's checksum) is the checksum of `spec`: Flyway's CRC-32, or our sha256 in older tables. */
export function checksumMatches(recorded: string | null, spec: ScriptSpec): boolean {
    if (recorded === null) return true;
    if (recorded.startsWith("sha256:")) return recorded === spec.checksum;
    return Number(recorded) === flywayChecksum(spec.sql);
}

/** The checksum a new history row records: Flyway's, so Flyway itself can carry on from the table. */
export function recordedChecksum(spec: ScriptSpec): string {
    return String(flywayChecksum(spec.sql));
}

/** Whether one of Flyway's `ignoreMigrationPatterns` (`<type>:<state>`, `*` for any) covers a migration. */
export function patternIgnores(
    patterns: readonly string[],
    type: "versioned" | "repeatable",
    state: "missing" | "future" | "ignored" | "pending",
): boolean {
    return patterns.some((p) => {
        const [t, st] = p.toLowerCase().split(":");
        return (t === "*" || t === type) && (st === "*" || st === state);
    });
}

/** The SQL that runs for `file`: its text with placeholders replaced (unless turned off). Undefined names land in `errors`. */
function scriptSql(set: MigrationSetSpec, file: string, ctx: SetContext, errors: string[]): string {
    const sql = set.files[file].sql;
    if (set.placeholderReplacement === false || set.kind === "content") return sql;
    const builtIns: Record<string, string> = {
        "flyway:defaultSchema": set.schema,
        "flyway:user": ctx.user,
        "flyway:database": ctx.database,
        "flyway:timestamp": ctx.now.toISOString().replace("T", " ").slice(0, 19),
        "flyway:filename": baseName(file),
        "flyway:table": set.table,
        "flyway:environment": "default",
    };
    const { sql: out, undefinedNames } = replacePlaceholders(
        sql,
        { ...builtIns, ...(set.placeholders ?? {}) },
        set.placeholderPrefix ?? "${",
        set.placeholderSuffix ?? "}",
    );
    for (const u of undefinedNames) {
        errors.push(
            `migration set "${set.name}": ${file} line ${u.line} uses placeholder ${u.text}, which has no value; give it in the set's placeholders, ` +
                `or set placeholderReplacement: false on the set to run the text as written`,
        );
    }
    return out;
}

/** A step that runs a script (a migration, or a callback when `callback` is set). */
function scriptStep(
    set: MigrationSetSpec,
    file: string,
    sql: string,
    p: Omit<Pending, "file"> | undefined,
    ctx: SetContext,
    extra: { callback?: string; before?: string[]; after?: string[]; onError?: string[] },
): Step {
    const spec = set.files[file];
    // Outside a transaction when the file's config or marker says so, or when it has a statement PostgreSQL runs
    // only there (check refuses such a statement beside others unless the set allows mixing), as Flyway decides it.
    const statements = scanSql(sql).statements;
    const transactional =
        spec.executeInTransaction ?? (!wantsNoTransaction(sql) && transactionNeeds(statements).outside.length === 0);
    const before = extra.before ?? [];
    const after = extra.after ?? [];
    const where = `migration set "${set.name}"`;
    const what = extra.callback ? `run callback ${file}` : `apply ${file}`;
    return {
        target: "database",
        kind: "migration",
        description: `${where}: ${what}${transactional ? "" : " (outside a transaction)"}`,
        set: set.name,
        historyTable: historyTableOf(set),
        script: file,
        version: p?.version ?? null,
        scriptDescription: p?.description ?? "",
        checksum: recordedChecksum(spec),
        sql: transactional
            ? [[...before, sql, ...after].join("\n;\n")]
            : [
                  ...before.flatMap((b) => scanSql(b).statements),
                  ...statements,
                  ...after.flatMap((b) => scanSql(b).statements),
              ],
        transactional,
        timeouts: ctx.timeouts,
        ...(extra.callback ? { callback: extra.callback } : {}),
        ...(extra.onError?.length ? { onError: extra.onError } : {}),
    };
}

/** One set's planning in progress: what it refuses, notes, and the history rows a repair or baseline writes. */
interface SetPlanning {
    set: MigrationSetSpec;
    /** `migration set "<name>"`, the prefix of every message. */
    where: string;
    /** The history table, quoted. */
    table: string;
    validate: boolean;
    errors: string[];
    notes: string[];
    /** History writes (repair, baseline), each with what it does. */
    repair: { sql: string; what: string }[];
}

/** The set's files by kind: versioned (keyed by versionKey: "1" and "1.0" are one), repeatables in run order, callbacks. */
interface SetFiles {
    versioned: Map<string, Pending>;
    repeatable: Pending[];
    callbacks: Map<MigrateCallback, string[]>;
}

/** What the history holds, as validation left it. */
interface AppliedState {
    baseline: string | null;
    /** The highest applied (or baseline) version, as a versionKey. */
    highest: string | null;
    appliedVersions: Set<string>;
    /** version → [script, checksum]: the versioned history afterwards. */
    byVersion: Map<string, [string, string]>;
    /** repeatable script → checksum of its latest run. */
    latest: Map<string, string>;
}

/** Whether `ignoreMigrationPatterns` (or `ignoreMissing`) lets a migration in this state pass validation. */
function ignores(set: MigrationSetSpec, type: "versioned" | "repeatable", state: "missing" | "future" | "ignored") {
    return (
        patternIgnores(set.ignoreMigrationPatterns ?? ["*:future"], type, state) ||
        (state === "missing" && set.ignoreMissing)
    );
}

/** A history row written by the bootstrap itself (baseline, deleted marker), ranked after the last one. */
function historyRowSql(
    table: string,
    version: string | null,
    description: string,
    type: string,
    script: string,
    checksum: string | null,
): string {
    const nextRank = `(SELECT coalesce(max(installed_rank), 0) + 1 FROM ${table})`;
    return (
        `INSERT INTO ${table} (installed_rank, version, description, type, script, checksum, installed_by, execution_time, success) ` +
        `VALUES (${nextRank}, ${version === null ? "NULL" : lit(version)}, ${lit(description)}, ${lit(type)}, ${lit(script)}, ${checksum === null ? "NULL" : lit(checksum)}, current_user, 0, true)`
    );
}

/** Sorts the set's files by kind; misnamed and undo files are noted (or refused under strictNaming). */
function classifyFiles(p: SetPlanning): SetFiles {
    const { set, where } = p;
    const out: SetFiles = { versioned: new Map(), repeatable: [], callbacks: new Map() };
    for (const file of Object.keys(set.files).sort()) {
        if (set.kind === "content") {
            out.repeatable.push({ file, version: null, description: file.replace(/\.sql$/, "") });
            continue;
        }
        const parsed = parseScriptName(file);
        if (!parsed) {
            if (set.strictNaming) p.errors.push(`${where}: ${file} ${NAMING_HINT.problem}; ${NAMING_HINT.fix}`);
            else
                p.notes.push(
                    `${where}: ${file} is ignored: ${NAMING_HINT.problem} (set strictNaming to refuse such files)`,
                );
            continue;
        }
        if (parsed.kind === "undo") {
            p.notes.push(`${where}: ${file} is an undo migration (a Flyway Teams feature) and is ignored`);
        } else if (parsed.kind === "callback") {
            out.callbacks.set(parsed.event, [...(out.callbacks.get(parsed.event) ?? []), file]);
        } else if (parsed.kind === "versioned") {
            const key = versionKey(parsed.version!);
            if (out.versioned.has(key))
                p.errors.push(
                    `${where}: ${out.versioned.get(key)!.file} and ${file} both have version ${key}; give each migration its own version`,
                );
            else out.versioned.set(key, { file, version: parsed.version, description: parsed.description });
        } else if (parsed.kind === "repeatable") {
            out.repeatable.push({ file, version: null, description: parsed.description });
        }
    }
    // Flyway runs repeatables in the order of their descriptions.
    if (set.kind !== "content")
        out.repeatable.sort((a, b) =>
            a.description < b.description ? -1 : a.description > b.description ? 1 : a.file < b.file ? -1 : 1,
        );
    return out;
}

/** Failed rows: deleted by a repair, else refused. */
function checkFailedRows(p: SetPlanning, history: HistoryRow[]): void {
    for (const row of history.filter((r) => !r.success)) {
        if (p.set.repair) {
            p.repair.push({
                sql: `DELETE FROM ${p.table} WHERE installed_rank = ${Math.trunc(row.rank)}`,
                what: `delete the failed row of ${row.script}`,
            });
        } else {
            p.errors.push(
                `${p.where}: ${row.script} is recorded as failed in ${p.set.schema}.${p.set.table}; undo what it applied by hand, then set repair: true on the set ` +
                    `for one up (it deletes failed rows, as Flyway's repair does)`,
            );
        }
    }
}

/** Applied versioned migrations against their files: edited, renamed, gone or future ones are refused or repaired. */
function validateApplied(p: SetPlanning, ok: HistoryRow[], files: SetFiles, baseline: string | null): AppliedState {
    const { set, where } = p;
    const deleted = new Set(
        ok
            .filter((r) => r.type === "DELETE")
            .map((r) => (r.version === null ? `R:${r.script}` : versionKey(r.version))),
    );
    const applied = ok.filter((r) => r.type !== "BASELINE" && r.type !== "SCHEMA" && r.type !== "DELETE");
    const state: AppliedState = {
        baseline,
        highest: baseline === null ? null : versionKey(baseline),
        appliedVersions: new Set(),
        byVersion: new Map(),
        latest: new Map(),
    };
    const highestFile = [...files.versioned.keys()].sort(compareVersions).pop() ?? null;
    for (const row of applied.filter((r) => r.version !== null)) {
        const version = versionKey(row.version!);
        if (deleted.has(version)) continue;
        state.appliedVersions.add(version);
        if (state.highest === null || compareVersions(version, state.highest) > 0) state.highest = version;
        const entry = files.versioned.get(version);
        if (entry === undefined) {
            state.byVersion.set(version, [row.script, row.checksum ?? ""]);
            const future = highestFile === null || compareVersions(version, highestFile) > 0;
            if (!p.validate || ignores(set, "versioned", future ? "future" : "missing")) continue;
            if (set.repair && !future) {
                p.repair.push({
                    sql: historyRowSql(p.table, row.version, row.description, "DELETE", row.script, row.checksum),
                    what: `mark ${row.script} (version ${version}) deleted: its file is gone`,
                });
                state.byVersion.delete(version);
                continue;
            }
            p.errors.push(
                future
                    ? `${where}: ${row.script} (version ${version}) is applied but newer than every file (a later release migrated this database); run that release, or add "versioned:future" to the set's ignoreMigrationPatterns`
                    : `${where}: ${row.script} (version ${version}) was applied but its file is gone; restore the file, set ignoreMissing (or ignoreMigrationPatterns ["*:missing"]) on the set, or set repair: true for one up to mark it deleted`,
            );
            continue;
        }
        const spec = set.files[entry.file];
        state.byVersion.set(version, [row.script, row.checksum ?? recordedChecksum(spec)]);
        const sameChecksum = checksumMatches(row.checksum, spec);
        const sameDescription = row.description === entry.description;
        if (sameChecksum && sameDescription) continue;
        if (set.repair) {
            p.repair.push({
                sql: `UPDATE ${p.table} SET checksum = ${lit(recordedChecksum(spec))}, description = ${lit(entry.description)} WHERE installed_rank = ${Math.trunc(row.rank)}`,
                what: `realign ${entry.file} with its file`,
            });
            state.byVersion.set(version, [row.script, recordedChecksum(spec)]);
        } else if (p.validate) {
            p.errors.push(
                sameChecksum
                    ? `${where}: ${entry.file} has description "${entry.description}" but was applied as "${row.description}"; rename it back, or set repair: true on the set for one up to realign the history`
                    : `${where}: ${entry.file} was edited after it was applied (applied checksum ${row.checksum}, file checksum ${recordedChecksum(spec)}); ` +
                          `revert the edit and put the change in a new migration; if the edit is harmless, set repair: true on the set for one up to accept it (or validateOnMigrate: false)`,
            );
        }
    }
    for (const row of applied.filter((r) => r.version === null)) {
        if (!deleted.has(`R:${row.script}`)) state.latest.set(row.script, row.checksum ?? "");
    }
    return state;
}

/** Applied repeatables whose file is gone: refused, or marked deleted by a repair. */
function checkRepeatablesGone(p: SetPlanning, ok: HistoryRow[], files: SetFiles, state: AppliedState): void {
    const { set, where } = p;
    const applied = ok.filter((r) => r.type !== "BASELINE" && r.type !== "SCHEMA" && r.type !== "DELETE");
    const repeatableFiles = new Set(files.repeatable.map((r) => r.file));
    for (const script of [...state.latest.keys()]) {
        if (repeatableFiles.has(script) || !p.validate || ignores(set, "repeatable", "missing")) continue;
        if (set.repair) {
            const row = applied.filter((r) => r.script === script).pop()!;
            p.repair.push({
                sql: historyRowSql(p.table, null, row.description, "DELETE", script, row.checksum),
                what: `mark ${script} (repeatable) deleted: its file is gone`,
            });
            state.latest.delete(script);
            continue;
        }
        p.errors.push(
            `${where}: ${script} (repeatable) was applied but its file is gone; restore the file, set ignoreMissing on the set, or set repair: true for one up to mark it deleted`,
        );
    }
}

/** Versioned files not applied that run: above the baseline, and in order unless outOfOrder. */
function pendingVersioned(p: SetPlanning, files: SetFiles, state: AppliedState): Pending[] {
    const { set, where } = p;
    const pending: Pending[] = [];
    const versions = [...files.versioned.keys()].filter((k) => !state.appliedVersions.has(k)).sort(compareVersions);
    for (const v of versions) {
        const file = files.versioned.get(v)!;
        if (state.baseline !== null && compareVersions(v, versionKey(state.baseline)) <= 0) continue; // below the baseline: the schema has it
        if (state.highest !== null && compareVersions(v, state.highest) < 0 && !set.outOfOrder) {
            if (ignores(set, "versioned", "ignored") || !p.validate) {
                p.notes.push(
                    `${where}: ${file.file} (version ${v}) is lower than the applied version ${state.highest} and is not applied (set outOfOrder to apply it)`,
                );
                continue;
            }
            p.errors.push(
                `${where}: ${file.file} has version ${v}, lower than the highest applied version ${state.highest}; give it a higher version, or set outOfOrder on the set`,
            );
            continue;
        }
        pending.push(file);
    }
    return pending;
}

/** Repeatables that run: new ones, and those whose checksum changed since their latest run. */
function pendingRepeatables(set: MigrationSetSpec, files: SetFiles, state: AppliedState): Pending[] {
    return files.repeatable.filter((r) => {
        const was = state.latest.get(r.file);
        return was === undefined || !checksumMatches(was, set.files[r.file]);
    });
}

/**
 * The SQL of the files about to run, placeholders replaced, meta-commands refused and the migrations linted. Only
 * these are scanned: applied ones passed when they ran, and a no-op must not cost more as history grows.
 */
function scriptsToRun(p: SetPlanning, files: string[], pending: Pending[], ctx: SetContext): Map<string, string> {
    const { set, where } = p;
    const sqlOf = new Map<string, string>();
    for (const file of files) {
        const sql = scriptSql(set, file, ctx, p.errors);
        sqlOf.set(file, sql);
        for (const m of scanSql(sql).metaCommands) {
            p.errors.push(
                `${where}: ${file} line ${m.line} has a psql meta-command (${m.text}) the server cannot run; use plain SQL (INSERT instead of COPY FROM stdin, one database per set instead of \\connect)`,
            );
        }
    }
    // Lint what is about to run, in run order: tables the batch creates are new, so changing them is no risk.
    if (set.lint !== "off" && pending.length) {
        const linted = pending.map((x) => ({ file: x.file, sql: sqlOf.get(x.file)! }));
        for (const x of lintMigrations(set.name, linted, {
            allow: (set.lintAllow ?? []) as LintRule[],
            defaultSchema: set.schema,
        })) {
            const finding = `lint: ${where}: ${x.file} line ${x.line}: ${x.rule}: ${x.message}`;
            if (set.lint === "error")
                p.errors.push(`${finding} (lint is "error" on the set; set it to "warn" to run it anyway)`);
            else p.notes.push(finding);
        }
    }
    return sqlOf;
}

/** The steps of a set that runs: beforeMigrate, each migration wrapped in its per-migration callbacks, afterMigrate. */
function runSteps(
    set: MigrationSetSpec,
    callbacks: Map<MigrateCallback, string[]>,
    pending: Pending[],
    sqlOf: Map<string, string>,
    ctx: SetContext,
): Step[] {
    const steps: Step[] = [];
    const cb = (event: MigrateCallback) => (callbacks.get(event) ?? []).map((f) => sqlOf.get(f)!);
    const onError = [...cb("afterEachMigrateError"), ...cb("afterMigrateError")];
    for (const f of callbacks.get("beforeMigrate") ?? [])
        steps.push(
            scriptStep(set, f, sqlOf.get(f)!, undefined, ctx, {
                callback: "beforeMigrate",
                onError: cb("afterMigrateError"),
            }),
        );
    for (const x of pending) {
        steps.push(
            scriptStep(set, x.file, sqlOf.get(x.file)!, x, ctx, {
                before: cb("beforeEachMigrate"),
                after: cb("afterEachMigrate"),
                onError,
            }),
        );
    }
    const afterEvents: MigrateCallback[] =
        pending.length > 0 ? ["afterMigrate", "afterMigrateApplied"] : ["afterMigrate"];
    for (const event of afterEvents) {
        for (const f of callbacks.get(event) ?? [])
            steps.push(
                scriptStep(set, f, sqlOf.get(f)!, undefined, ctx, {
                    callback: event,
                    onError: cb("afterMigrateError"),
                }),
            );
    }
    return steps;
}

/**
 * One migration set: validate the history against the files (Flyway's validate), then plan the history table, the
 * repair or baseline rows, and the scripts to run with their callbacks. Refusals go to `plan.errors`, nothing else then.
 */
function planSet(set: MigrationSetSpec, rows: HistoryRow[] | undefined, ctx: SetContext, plan: Plan): void {
    const where = `migration set "${set.name}"`;
    const p: SetPlanning = {
        set,
        where,
        table: historyTableOf(set),
        validate: set.validateOnMigrate !== false,
        errors: [],
        notes: plan.notes,
        repair: [],
    };
    const history = rows ?? [];
    checkFailedRows(p, history);
    const files = classifyFiles(p);
    const ok = history.filter((r) => r.success);
    // A baseline: the one Flyway's baseline wrote, or one to write now (baselineOnMigrate on a schema with tables).
    const baselineNow = rows === undefined && set.baseline !== undefined && ctx.schemaHasTables === true;
    const baseline = baselineNow
        ? set.baseline!.version
        : (ok.find((r) => r.type === "BASELINE" && r.version !== null)?.version ?? null);
    const state = validateApplied(p, ok, files, baseline);
    const pending = pendingVersioned(p, files, state);
    checkRepeatablesGone(p, ok, files, state);
    pending.push(...pendingRepeatables(set, files, state));

    // Callbacks run when the set runs a migration, or when one of them is new or changed since the last up.
    const previousFiles = ctx.previous?.files ?? {};
    const callbackFiles = [...files.callbacks.values()].flat();
    const callbacksChanged = callbackFiles.some((f) => previousFiles[f]?.checksum !== set.files[f].checksum);
    const runs = pending.length > 0 || (callbacksChanged && callbackFiles.length > 0);
    const sqlOf = scriptsToRun(p, runs ? [...pending.map((x) => x.file), ...callbackFiles] : [], pending, ctx);
    if (p.errors.length) {
        plan.errors.push(...p.errors);
        return;
    }

    if (rows === undefined) {
        plan.steps.push({
            target: "database",
            kind: "history-table",
            description: `${where}: create history table ${set.schema}.${set.table}`,
            sql: historyTableSql(set),
        });
    }
    if (baselineNow) {
        const b = set.baseline!;
        p.repair.unshift({
            sql: historyRowSql(p.table, b.version, b.description, "BASELINE", b.description, null),
            what: `baseline at version ${b.version} (the schema has tables and no history: baselineOnMigrate)`,
        });
    }
    if (p.repair.length)
        plan.steps.push({
            target: "database",
            kind: "history",
            description: `${where}: ${p.repair.map((r) => r.what).join("; ")}`,
            sql: p.repair.map((r) => r.sql),
        });
    if (!runs) {
        plan.applied[set.name] = historyAfter(state.byVersion, state.latest);
        return;
    }
    plan.steps.push(...runSteps(set, files.callbacks, pending, sqlOf, ctx));
    for (const x of pending.filter((x) => x.version !== null))
        state.byVersion.set(versionKey(x.version!), [x.file, recordedChecksum(set.files[x.file])]);
    const rep = new Map(state.latest);
    for (const x of pending.filter((x) => x.version === null)) rep.set(x.file, recordedChecksum(set.files[x.file]));
    plan.applied[set.name] = historyAfter(state.byVersion, rep);
}

/** What to do with a file whose name fits nothing (also check's wording). */
export const NAMING_HINT = {
    problem:
        "fits no migration name (V<version>__<description>.sql, R__<description>.sql) or callback name (afterMigrate.sql, beforeEachMigrate__x.sql, …)",
    fix: "rename it",
};

/** Flyway's own history table layout (its PostgreSQL DDL, names and types), so Flyway itself can carry on from it. */
export function historyTableSql(set: Pick<MigrationSetSpec, "schema" | "table">): string[] {
    return [
        `CREATE SCHEMA IF NOT EXISTS ${id(set.schema)}`,
        `CREATE TABLE IF NOT EXISTS ${historyTableOf(set)} (
    installed_rank integer NOT NULL,
    version varchar(50),
    description varchar(200) NOT NULL,
    type varchar(20) NOT NULL,
    script varchar(1000) NOT NULL,
    checksum integer,
    installed_by varchar(100) NOT NULL,
    installed_on timestamp NOT NULL DEFAULT now(),
    execution_time integer NOT NULL,
    success boolean NOT NULL,
    CONSTRAINT ${id(`${set.table}_pk`)} PRIMARY KEY (installed_rank)
)`,
        `CREATE INDEX IF NOT EXISTS ${id(`${set.table}_s_idx`)} ON ${historyTableOf(set)} (success)`,
    ];
}

/** What a set's history holds afterwards: versioned scripts in version order, then each repeatable's latest run. */
function historyAfter(
    byVersion: Map<string, [string, string]>,
    repeatables: Map<string, string>,
): Record<string, string> {
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
            const parsed = set.kind === "content" ? ({ kind: "repeatable" } as const) : parseScriptName(file);
            if (parsed?.kind === "versioned")
                byVersion.set(versionKey(parsed.version!), [file, recordedChecksum(spec)]);
            else if (parsed?.kind === "repeatable") repeatables.set(file, recordedChecksum(spec));
        }
        applied[set.name] = historyAfter(byVersion, repeatables);
    }
    return applied;
}

/**
 * Plans the bootstrap. `previous` is the inputs of the last successful run (undefined on create). Everything the
 * bootstrap would refuse shows up in `errors`, and then no step may run.
 */
export function planBootstrap(
    desired: BootstrapInputs,
    previous: BootstrapInputs | undefined,
    actual: ActualState,
    now: Date = new Date(),
): Plan {
    const plan: Plan = { steps: [], notes: [], errors: [], applied: {} };
    planMaintenanceDatabase(desired, actual, plan);
    planRoles(desired, previous, actual, plan);
    planDatabase(desired, previous, actual, plan);
    planRemovedRoles(desired, previous, actual, plan);
    for (const ext of desired.database.extensions) {
        if (!actual.extensions.includes(ext)) {
            plan.steps.push({
                target: "database",
                kind: "extension",
                description: `extension ${ext}: create`,
                sql: [`CREATE EXTENSION IF NOT EXISTS ${id(ext)}`],
            });
        }
    }
    const timeouts = migrationTimeouts(desired.wait);
    const setsStart = plan.steps.length;
    for (const set of desired.migrationSets) {
        const ctx: SetContext = {
            user: desired.connection.user,
            database: desired.database.name,
            previous: previous?.migrationSets.find((s) => s.name === set.name),
            schemaHasTables: actual.schemaHasTables?.[set.name],
            now,
            timeouts,
        };
        planSet(set, actual.history[set.name], ctx, plan);
    }
    planPrivileges(desired, previous, actual, plan, setsStart);
    if (plan.errors.length) plan.steps = [];
    return plan;
}

/**
 * The plan a preview shows, without a server: the history is taken to be what the last up left (`applied`, from the
 * stored outputs; none on create) and roles and the database as the inputs want them, so only the migration sets'
 * steps, notes and refusals remain. `pulumi up` reads the server again before it runs anything.
 */
export function previewPlan(desired: BootstrapInputs, applied: AppliedMigrations | undefined): Plan {
    const history: Record<string, HistoryRow[]> = {};
    for (const [set, scripts] of Object.entries(applied ?? {})) {
        history[set] = Object.entries(scripts).map(([script, checksum], i) => {
            const parsed = parseScriptName(script);
            const versioned = parsed?.kind === "versioned";
            return {
                rank: i + 1,
                version: versioned ? parsed.version : null,
                description: parsed?.description ?? script,
                type: "SQL",
                script,
                checksum,
                success: true,
            };
        });
    }
    const actual: ActualState = {
        roles: Object.fromEntries(Object.entries(desired.roles).map(([n, r]) => [n, { ...r }])),
        passwordMatches: Object.fromEntries(Object.keys(desired.roles).map((n) => [n, true])),
        database: applied ? { exists: true, owner: desired.database.owner } : { exists: false },
        extensions: [...desired.database.extensions],
        history,
    };
    const plan = planBootstrap(desired, undefined, actual);
    plan.steps = plan.steps.filter((x) => x.kind === "migration" || x.kind === "history-table");
    return plan;
}

/** The lines a preview logs for `plan`: what will run, in order, then notes and refusals. */
export function previewLines(plan: Plan): string[] {
    return [
        ...plan.steps.map(
            (x) =>
                `preview: ${x.description.replace(/: (apply|run callback|create history table) /, ": will $1 ")}${x.kind === "migration" && x.transactional ? " (in a transaction)" : ""}`,
        ),
        ...plan.notes,
        ...plan.errors.map((e) => `up will refuse: ${e}`),
    ];
}
