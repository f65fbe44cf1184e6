/**
 * The wire form of the bootstrap's inputs: plain JSON, as the engine stores it in state and hands it to the
 * provider. `resource.ts` builds it from the user-facing `BootstrapArgs`; `check.ts` validates it.
 */

/** TLS settings for the admin connection. */
export interface TlsSpec {
    /** "disable" (default), "require" (encrypt, do not verify), "verify-full" (encrypt and verify host and CA). */
    mode: "disable" | "require" | "verify-full";
    /** PEM-encoded CA certificate used with "verify-full". */
    ca?: string;
}

export interface ConnectionSpec {
    host: string;
    port: number;
    user: string;
    password: string;
    /** The database connected to for cluster-level work (roles, CREATE DATABASE, the advisory lock). */
    maintenanceDatabase: string;
    /**
     * Revoke CONNECT on the maintenance database from PUBLIC, so no other role can take the bootstrap's advisory
     * lock. Absent (the default, kept off the wire): the maintenance database is left as found.
     */
    restrictMaintenanceDatabase?: boolean;
    tls: TlsSpec;
}

export interface WaitSpec {
    /** How long to keep trying an authenticated `SELECT 1` before failing. */
    timeoutSeconds: number;
    /** The cap of the exponential backoff between attempts. */
    maxBackoffMs: number;
    /** How long a contender polls for the bootstrap's advisory lock before failing. */
    lockTimeoutSeconds: number;
    /**
     * Postgres `lock_timeout` for each migration and content script; 0 sets none (the server's setting applies).
     * Absent in states written before it existed, which read as 0.
     */
    migrationLockTimeoutSeconds: number;
    /** Postgres `statement_timeout` for each migration and content script; 0 sets none. Absent in older states: 0. */
    migrationStatementTimeoutSeconds: number;
}

export interface RoleSpec {
    login: boolean;
    /** Absent: the role has no password (or keeps the one it has, for an existing role). */
    password?: string;
    createdb: boolean;
    /** -1 means no limit. */
    connectionLimit: number;
    inherit: boolean;
    /** Roles this role is granted membership in. */
    memberOf: string[];
    /**
     * Server settings for the role's sessions (`ALTER ROLE … SET name = 'value'`), e.g.
     * idle_in_transaction_session_timeout. Absent: none kept (off the wire when empty, so older states show no change).
     */
    settings?: Record<string, string>;
    /**
     * The preset of privileges the bootstrap keeps on the database's schemas (see `plan.ts#PRIVILEGE_PRESETS`).
     * Absent means "none": the bootstrap grants nothing and the migrations grant what they want (kept off the wire
     * when "none", so states written before it existed show no change).
     */
    privileges?: PrivilegePreset;
}

/** A role's privileges on the bootstrap's database and the schemas its migration sets use (and `public`). */
export type PrivilegePreset = "owner" | "readwrite" | "readonly";

/** What a role holds on one schema and the relations in it (relations it owns and history tables aside). */
export interface SchemaPrivileges {
    /** Privileges held directly on the schema (USAGE, CREATE). */
    schema: string[];
    /** The role owns the schema: ownership gives what it gives, and the preset does not change it. */
    owns?: boolean;
    /** Privileges held on every table (views and the like too) of the schema, and per table those it holds. */
    tables: { all: string[]; held: Record<string, string[]> };
    /** Likewise for the sequences. */
    sequences: { all: string[]; held: Record<string, string[]> };
    /** History tables (`schema.table`) in the schema the role holds any privilege on. */
    history: string[];
    /** Creating role → the default privileges it gives the role on tables and sequences created in the schema. */
    defaults: Record<string, { tables: string[]; sequences: string[] }>;
}

/** A role's privileges as read back, only for roles with a preset (now or in the previous inputs). */
export interface RolePrivileges {
    /** Privileges held directly on the database (CREATE, CONNECT, TEMPORARY). */
    database: string[];
    /** The role owns the database (`database.owner`): its privileges there are ownership's, left alone. */
    ownsDatabase?: boolean;
    /** Schema (among those the presets cover, when it exists) → what the role holds there. */
    schemas: Record<string, SchemaPrivileges>;
}

export interface DatabaseSpec {
    name: string;
    owner: string;
    encoding: string;
    /** Empty string: the template's. */
    locale: string;
    template: string;
    /** Extensions created (IF NOT EXISTS) in the database, in order. */
    extensions: string[];
}

/** One migration file as shipped to the provider: what the reviewer sees (checksum) and what runs (sql). */
export interface ScriptSpec {
    checksum: string;
    sql: string;
    /**
     * From the file's Flyway script config (`<file>.conf`, `executeInTransaction`): true or false forces it; absent,
     * the statements decide (a file made only of statements PostgreSQL runs outside a transaction runs outside one).
     */
    executeInTransaction?: boolean;
}

/** A history row Flyway's baseline writes, for a database that has a schema but no history yet. */
export interface BaselineSpec {
    version: string;
    description: string;
}

export interface MigrationSetSpec {
    /** The set's name, e.g. "app" or "sso"; sets run in the order given. */
    name: string;
    /** Schema that holds the set's history table (created if missing). */
    schema: string;
    /** History table name. */
    table: string;
    /** Allow a new version lower than the highest applied one. */
    outOfOrder: boolean;
    /** Do not fail when an applied migration's file is gone. */
    ignoreMissing: boolean;
    /**
     * Allow a file that mixes statements PostgreSQL runs only outside a transaction with others (Flyway's `mixed`);
     * such a file then runs statement by statement outside a transaction. Absent means false (kept off the wire
     * when false, so states written before it existed show no change).
     */
    mixed?: boolean;
    /**
     * Flyway's switches; each absent (off the wire) at its default, so states written before they existed show no change.
     * `validateOnMigrate: false` applies pending migrations without checking applied ones against their files.
     */
    validateOnMigrate?: boolean;
    /** Flyway's `ignoreMigrationPatterns` (`*:missing`, `versioned:future`, …). Absent: Flyway's default, `*:future`. */
    ignoreMigrationPatterns?: string[];
    /** Flyway's `repair`, done before migrating: failed rows deleted, checksums and descriptions realigned, missing files marked deleted. */
    repair?: boolean;
    /** Flyway's `baselineOnMigrate` with its version and description: applies when the history table is missing and the schema has tables. */
    baseline?: BaselineSpec;
    /** Flyway's `validateMigrationNaming`: a `.sql` file whose name fits no migration or callback is refused instead of ignored with a warning. */
    strictNaming?: boolean;
    /** Flyway's placeholders: user values (built-ins `flyway:*` are added by the provider). Absent with `placeholderReplacement` false. */
    placeholders?: Record<string, string>;
    /** Placeholder prefix and suffix. Absent: `${` and `}`. */
    placeholderPrefix?: string;
    placeholderSuffix?: string;
    /** false: `${…}` is left as written. Absent: true. */
    placeholderReplacement?: boolean;
    /** "warn" (absent) logs lint findings in the preview and at up; "error" refuses to run the file; "off" skips lint. */
    lint?: "warn" | "error" | "off";
    /** Lint rules not to report for this set. */
    lintAllow?: string[];
    /** "migrations": Flyway-named V/R files; "content": every file is repeatable, re-deployed on change. */
    kind: "migrations" | "content";
    /** File name → script. Keys are file names so preview diffs show per-file changes. */
    files: Record<string, ScriptSpec>;
}

export interface BootstrapInputs {
    connection: ConnectionSpec;
    wait: WaitSpec;
    roles: Record<string, RoleSpec>;
    /** Drop roles that were in the previous inputs but are not in these. */
    dropRemovedRoles: boolean;
    database: DatabaseSpec;
    migrationSets: MigrationSetSpec[];
    /** "retain" (default): delete leaves database, roles and data in place. "drop": delete drops them. */
    onDelete: "retain" | "drop";
}

/** One history row, as read back from a set's history table. */
export interface HistoryRow {
    rank: number;
    /** Flyway's row type: "SQL", "BASELINE", "SCHEMA", "DELETE"; rows of ours written before "SQL" have "REPEATABLE" too. */
    type: string;
    version: string | null;
    description: string;
    script: string;
    /** Flyway's CRC-32 as decimal text, "sha256:…" in tables written by earlier versions, null for a baseline row. */
    checksum: string | null;
    success: boolean;
}

/** What the provider found in the server. Produced by `postgres.ts#readActualState`, consumed by `plan.ts`. */
export interface ActualState {
    roles: Record<
        string,
        {
            login: boolean;
            createdb: boolean;
            connectionLimit: number;
            inherit: boolean;
            memberOf: string[];
            /** The role's own settings in every database (pg_db_role_setting, setdatabase 0). */
            settings?: Record<string, string>;
        }
    >;
    /** Whether PUBLIC may connect to the maintenance database, and whether the admin may revoke that. */
    maintenance?: { publicConnect: boolean; canRevoke: boolean };
    /** Role name → whether its stored password verifies the desired one (undefined: unknown). */
    passwordMatches?: Record<string, boolean | undefined>;
    database: { exists: boolean; owner?: string; encoding?: string; collate?: string; ctype?: string };
    /** The server's own name for the desired encoding ("EUC_JP" for "euc-jp"); "" when it knows no such encoding. */
    encodingName?: string;
    /** Whether the database named by the previous inputs exists (only looked at when the name changed). */
    previousDatabaseExists?: boolean;
    extensions: string[];
    /** Set name → its history rows (empty when the table does not exist yet). */
    history: Record<string, HistoryRow[]>;
    /** The schemas the presets cover that exist (read only when a role has a preset). */
    schemas?: string[];
    /** Role → its privileges (read only for roles with a preset, now or in the previous inputs). */
    privileges?: Record<string, RolePrivileges>;
    /** Set name → whether its schema holds tables other than the sets' history tables (read only for a set with a baseline and no history). */
    schemaHasTables?: Record<string, boolean>;
}

/** Output `applied`: set name → script file → checksum of its latest successful run (maps travel key-sorted). */
export type AppliedMigrations = Record<string, Record<string, string>>;

/**
 * What the engine sends, during a preview, for an input computed by another resource that does not exist yet
 * (`unknownValue` in @pulumi/pulumi's runtime/rpc; a test keeps the two equal). `check` must let it pass.
 */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** Whether `v` is that placeholder: a value judged once it is known, at up. */
export function isUnknown(v: unknown): boolean {
    return v === UNKNOWN;
}
