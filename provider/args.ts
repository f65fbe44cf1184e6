/**
 * The bootstrap's user-facing arguments, as a program writes them. `prepare.ts` turns them into the wire inputs the
 * provider checks and applies (`types.ts`).
 */
import type * as pulumi from "@pulumi/pulumi";

/** Where and how the provider reaches Postgres as its administrator. */
export interface BootstrapConnectionArgs {
    /** Host the provider connects to (from the machine running `pulumi up`). */
    host: pulumi.Input<string>;
    /** @default 5432 */
    port?: pulumi.Input<number>;
    /** Administrator (owner) user. @default "postgres" */
    user?: pulumi.Input<string>;
    /** Administrator password; treated as a secret whether or not it arrives as one. */
    password: pulumi.Input<string>;
    /** Database used for cluster-level work. @default "postgres" */
    maintenanceDatabase?: pulumi.Input<string>;
    /**
     * Revoke CONNECT on the maintenance database from PUBLIC (when the admin is a superuser or owns it), so no
     * other role can connect there and hold the bootstrap's advisory lock, stalling every later `pulumi up`. Off by
     * default because the bootstrap may point at a server others use; PostgresCluster, which owns its server, sets
     * it. @default false
     */
    restrictMaintenanceDatabase?: boolean;
    /** TLS mode: "disable", "require" or "verify-full". @default "disable" */
    tlsMode?: pulumi.Input<"disable" | "require" | "verify-full">;
    /** PEM CA certificate for "verify-full". @default undefined */
    tlsCa?: pulumi.Input<string>;
}

/** How long to wait for the server, for a concurrent bootstrap of the same database, and in each migration. */
export interface BootstrapWaitArgs {
    /** Keep retrying an authenticated `SELECT 1` this long. @default 120 */
    timeoutSeconds?: pulumi.Input<number>;
    /**
     * Cap of the exponential backoff between attempts, in milliseconds. Kept small: while Postgres initialises, an
     * attempt is a refused TCP connect that costs nothing, and every millisecond of cap is up to that much delay
     * in noticing the server is ready. @default 250
     */
    maxBackoffMs?: pulumi.Input<number>;
    /** Poll for the advisory lock held by a concurrent bootstrap this long. @default 600 */
    lockTimeoutSeconds?: pulumi.Input<number>;
    /**
     * Postgres `lock_timeout` for each migration and content script, in seconds (fractions allowed, up to 86400).
     * A migration whose `ALTER TABLE` waits behind an application's open transaction then fails instead of
     * waiting, and of blocking every later query on that table while it waits; it is rolled back and not
     * recorded. 0 sets none, as Flyway does: the server's setting applies (Postgres's default is none). @default 10
     */
    migrationLockTimeoutSeconds?: pulumi.Input<number>;
    /**
     * Postgres `statement_timeout` for each statement of each migration and content script, in seconds (fractions
     * allowed, up to 86400). 0 sets none: the server's setting applies. @default 0
     */
    migrationStatementTimeoutSeconds?: pulumi.Input<number>;
}

/** A role the bootstrap creates and keeps in shape. */
export interface BootstrapRoleArgs {
    /** Role name. */
    name: string;
    /** May log in. @default true */
    login?: boolean;
    /**
     * Password (secret). `check` refuses one that SASLprep's mappings would change (non-ASCII spaces such as U+00A0,
     * soft hyphens and other invisible characters, Unicode compatibility forms) while non-ASCII characters remain
     * beside them, or that maps to nothing: libpq and the server may then hash it as typed and the pg client the
     * mapped form, so no stored password lets both log in; write it in the form SASLprep leaves it.
     * @default undefined (no password)
     */
    password?: pulumi.Input<string>;
    /** May create databases. @default false */
    createdb?: boolean;
    /** Connection limit; -1 for none. @default -1 */
    connectionLimit?: number;
    /**
     * Server settings for the role's sessions, kept with `ALTER ROLE … SET` and checked for drift like the other
     * attributes, e.g. `{ idle_in_transaction_session_timeout: "60s", statement_timeout: "30s" }`. A setting removed
     * from here is reset; settings made outside Pulumi on other names are left alone. @default {}
     */
    settings?: Record<string, string>;
    /** Inherits privileges of roles it is a member of. @default true */
    inherit?: boolean;
    /** Roles granted to this role. @default [] */
    memberOf?: string[];
    /**
     * What the role may do in the database, kept by the bootstrap on `public` and every migration set's schema
     * (README "Database privileges"): "owner" (the application migrates itself: CREATE on the schemas and the
     * database, every privilege on the bootstrap's tables; one role at most), "readwrite" (rows of every table,
     * sequences, and tables later migrations create), "readonly" (SELECT, likewise), "none" (the bootstrap grants
     * nothing; the migrations grant what they want). Switching revokes what the old preset kept.
     * @default "none"
     */
    privileges?: "owner" | "readwrite" | "readonly" | "none";
}

/** The application database. */
export interface BootstrapDatabaseArgs {
    /** Database name. Renaming an existing database is refused. */
    name: string;
    /** Owner role (created by `roles` or already existing). @default the admin user */
    owner?: string;
    /** @default "UTF8" */
    encoding?: string;
    /** LC_COLLATE and LC_CTYPE; needs template "template0" when it differs from the template's. @default "" (template's) */
    locale?: string;
    /** @default "template1", or "template0" when `locale` is set */
    template?: string;
    /** Extensions created in the database. @default [] */
    extensions?: string[];
}

/** One ordered set of migrations with its own history table. */
export interface BootstrapMigrationSetArgs {
    /** Set name, e.g. "app" or "sso". */
    name: string;
    /**
     * A Flyway migration folder, read when the program runs: `V<version>__<desc>.sql`, `R__<desc>.sql`, SQL callbacks
     * (`afterMigrate.sql`, …) and script configs (`<file>.sql.conf`), subfolders included (keys are paths in the
     * folder). Other `.sql` files are ignored with a warning (see `strictNaming`). @default undefined (only `scripts`)
     */
    directory?: string;
    /** Files given inline (path → text, script configs too), merged over `directory`'s. @default {} */
    scripts?: Record<string, string>;
    /** Schema of the history table. @default "public" */
    schema?: string;
    /** History table. @default "schema_history_<name>" */
    table?: string;
    /** Allow new versions lower than the highest applied. @default false */
    outOfOrder?: boolean;
    /** Do not fail when an applied file is gone. @default false */
    ignoreMissing?: boolean;
    /**
     * Check applied migrations against their files before migrating (Flyway's `validateOnMigrate`): an edited,
     * renamed or missing applied file stops the run. false skips the check. @default true
     */
    validateOnMigrate?: boolean;
    /**
     * Flyway's `ignoreMigrationPatterns`, each `<type>:<state>` with type `versioned`, `repeatable` or `*` and state
     * `missing` (applied, file gone), `future` (applied, newer than every file), `ignored` (a file lower than the
     * applied version, not applied) or `*`. @default ["*:future"]
     */
    ignoreMigrationPatterns?: string[];
    /**
     * Flyway's `repair`, done at the start of the run: failed rows are deleted, applied checksums and descriptions
     * realigned with the files, applied migrations whose file is gone marked deleted. Set it for one `up`, then remove
     * it: while set, an edit of an applied file is accepted instead of refused. @default false
     */
    repair?: boolean;
    /**
     * Flyway's `baselineOnMigrate`: on a schema that has tables but no history table, record a baseline at
     * `baselineVersion` and apply only the migrations above it. @default false
     */
    baselineOnMigrate?: boolean;
    /** The baseline's version. @default "1" */
    baselineVersion?: string;
    /** The baseline's description. @default "<< Flyway Baseline >>" */
    baselineDescription?: string;
    /**
     * Refuse a `.sql` file whose name fits no migration or callback (Flyway's `validateMigrationNaming`); without it
     * such a file is ignored with a warning, as Flyway ignores it. @default false
     */
    strictNaming?: boolean;
    /**
     * Values for `${name}` placeholders in the scripts, beside Flyway's built-ins (`${flyway:defaultSchema}`,
     * `${flyway:user}`, `${flyway:database}`, `${flyway:timestamp}`, `${flyway:filename}`, `${flyway:table}`). A
     * placeholder with no value stops the run, naming file, line and name. Checksums are of the files as written. @default {}
     */
    placeholders?: Record<string, string>;
    /** @default "${" */
    placeholderPrefix?: string;
    /** @default "}" */
    placeholderSuffix?: string;
    /** false runs the scripts as written, `${…}` included. @default true */
    placeholderReplacement?: boolean;
    /**
     * What the lint of the migrations about to run does with a finding (a dropped table or column, a rewriting
     * type change, `SET NOT NULL`, an index built without `CONCURRENTLY` on an existing table, `TRUNCATE`, `DELETE`
     * or `UPDATE` without `WHERE`): "warn" shows it in the preview and at up, "error" refuses the run, "off" skips lint. @default "warn"
     */
    lint?: "warn" | "error" | "off";
    /** Lint rules not to report for this set (e.g. ["drop-column"] once a column's removal was reviewed). @default [] */
    lintAllow?: string[];
    /**
     * Allow a file that mixes statements PostgreSQL runs only outside a transaction (`CREATE INDEX CONCURRENTLY`,
     * `VACUUM`, …) with others, as Flyway's `mixed`: the file then runs statement by statement outside a
     * transaction, so a failure leaves the statements before it applied. Without it such a file is refused; a file
     * made only of such statements runs outside a transaction either way. @default false
     */
    mixed?: boolean;
}

/** Content (seed data, pages, settings) deployed when new or changed, tracked by checksum. */
export interface BootstrapContentArgs {
    /** Directory of `.sql` files, applied in file-name order. @default undefined (only `items`) */
    directory?: string;
    /** Inline items (name → SQL). @default {} */
    items?: Record<string, string>;
    /** Schema of the content history table. @default "public" */
    schema?: string;
}

/** Everything the bootstrap does: where the server is, the roles, the database, its migrations and content. */
export interface BootstrapArgs {
    /** The admin connection. */
    connection: BootstrapConnectionArgs;
    /**
     * Readiness, lock and migration waits.
     * @default { timeoutSeconds: 120, maxBackoffMs: 250, lockTimeoutSeconds: 600, migrationLockTimeoutSeconds: 10, migrationStatementTimeoutSeconds: 0 }
     */
    wait?: BootstrapWaitArgs;
    /** Roles to create and keep in shape. @default [] */
    roles?: BootstrapRoleArgs[];
    /** Drop roles removed from `roles`. @default false (removed roles are left in place) */
    dropRemovedRoles?: boolean;
    /** The database to create. */
    database: BootstrapDatabaseArgs;
    /** Ordered migration sets (e.g. app, then sso). @default [] */
    migrationSets?: BootstrapMigrationSetArgs[];
    /** Content deployed after all migrations. @default undefined */
    content?: BootstrapContentArgs;
    /** "retain" leaves database, roles and data on delete; "drop" removes them. @default "retain" */
    onDelete?: "retain" | "drop";
    /** Role whose connection URL is exported as `applicationUrl`. @default the first login role */
    applicationRole?: string;
    /** Host and port the application reaches Postgres on (e.g. the container's network alias). @default the connection's */
    applicationEndpoint?: {
        /** Host name or address the application connects to. */
        host: pulumi.Input<string>;
        /** Port the application connects to. @default the connection's port (5432 when that is not given) */
        port?: pulumi.Input<number>;
    };
}
