import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { bootstrapProvider } from "./provider";
import { checkInputs, CheckFailure } from "./check";
import { checksumOf } from "./migrations";
import { AppliedMigrations, BootstrapInputs, MigrationSetSpec, ScriptSpec } from "./types";

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
     * recorded. 0 sets none, as Flyway does: the server's setting applies (Postgres's default is none). @default 0
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

export interface BootstrapArgs {
    /** The admin connection. */
    connection: BootstrapConnectionArgs;
    /**
     * Readiness, lock and migration waits.
     * @default { timeoutSeconds: 120, maxBackoffMs: 250, lockTimeoutSeconds: 600, migrationLockTimeoutSeconds: 0, migrationStatementTimeoutSeconds: 0 }
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

/**
 * Reads a directory's `.sql` files and their Flyway script configs (`<file>.sql.conf`) into relative path → text,
 * subfolders included (as Flyway scans them), sorted by path. A missing directory is an error naming it.
 */
export function readScripts(directory: string, what: string): Record<string, string> {
    if (!fs.existsSync(directory) || !fs.statSync(directory).isDirectory()) {
        throw new Error(`${what}: directory "${directory}" does not exist; create it or fix the path`);
    }
    const out: Record<string, string> = {};
    const walk = (dir: string, prefix: string) => {
        for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
            const rel = prefix + entry.name;
            const full = path.join(dir, entry.name);
            const isDir = entry.isDirectory() || (entry.isSymbolicLink() && fs.statSync(full).isDirectory());
            if (isDir) walk(full, `${rel}/`);
            else if (entry.name.endsWith(".sql") || entry.name.endsWith(".sql.conf"))
                out[rel] = fs.readFileSync(full, "utf8");
        }
    };
    walk(directory, "");
    return out;
}

/**
 * A Flyway script config (`V2__x.sql.conf`): `executeInTransaction` (true or false) and `encoding` (UTF-8 only: files
 * are read as UTF-8). Anything else is refused with the key named, so a setting is never silently ignored.
 */
export function parseScriptConfig(file: string, text: string): { executeInTransaction?: boolean } {
    const out: { executeInTransaction?: boolean } = {};
    for (const [i, raw] of text.split(/\r?\n/).entries()) {
        const line = raw.trim();
        if (!line || line.startsWith("#") || line.startsWith("!")) continue;
        const m = /^([A-Za-z.]+)\s*[=:]\s*(.*)$/.exec(line);
        const key = m?.[1];
        const value = m?.[2].trim().toLowerCase();
        if (key === "executeInTransaction" && (value === "true" || value === "false"))
            out.executeInTransaction = value === "true";
        else if (key === "encoding" && (value === "utf-8" || value === "utf8")) continue;
        else {
            throw new Error(
                `${file} line ${i + 1}: "${line}" is not a script setting this provider honours; use executeInTransaction=true or executeInTransaction=false ` +
                    `(encoding=UTF-8 is accepted too), or delete the line`,
            );
        }
    }
    return out;
}

/**
 * Each script with its checksum and its config file's settings. A UTF-8 byte-order mark is dropped first, as Flyway
 * drops it: the server would take it for SQL. `where` names the set in errors.
 */
function scriptSpecs(scripts: Record<string, string>, where: string): Record<string, ScriptSpec> {
    const out: Record<string, ScriptSpec> = {};
    for (const [file, text] of Object.entries(scripts)) {
        if (file.endsWith(".conf")) continue;
        const sql = text.replace(/^\uFEFF/, "");
        out[file] = { checksum: checksumOf(sql), sql };
    }
    for (const [file, text] of Object.entries(scripts)) {
        if (!file.endsWith(".conf")) continue;
        const script = file.slice(0, -".conf".length);
        if (!out[script])
            throw new Error(
                `${where}: ${file} configures ${script}, which is not there; rename the config to match its script or delete it`,
            );
        const conf = parseScriptConfig(`${where}: ${file}`, text.replace(/^\uFEFF/, ""));
        if (conf.executeInTransaction !== undefined) out[script].executeInTransaction = conf.executeInTransaction;
    }
    return out;
}

/** Name of the set that carries `content`; a migration set may not use it while content is given. */
const CONTENT_SET = "content";
const CONTENT_TABLE = "content_history";

function migrationSetSpec(s: BootstrapMigrationSetArgs, files: Record<string, string>): MigrationSetSpec {
    const placeholders = s.placeholderReplacement === false ? undefined : s.placeholders;
    // Each Flyway switch travels only when it is not at its default, so states written before it existed show no change.
    return {
        name: s.name,
        schema: s.schema ?? "public",
        table: s.table ?? `schema_history_${s.name}`,
        outOfOrder: s.outOfOrder ?? false,
        ignoreMissing: s.ignoreMissing ?? false,
        ...(s.mixed ? { mixed: true } : {}),
        ...(s.validateOnMigrate === false ? { validateOnMigrate: false } : {}),
        ...(s.ignoreMigrationPatterns !== undefined ? { ignoreMigrationPatterns: s.ignoreMigrationPatterns } : {}),
        ...(s.repair ? { repair: true } : {}),
        ...(s.baselineOnMigrate
            ? {
                  baseline: {
                      version: s.baselineVersion ?? "1",
                      description: s.baselineDescription ?? "<< Flyway Baseline >>",
                  },
              }
            : {}),
        ...(s.strictNaming ? { strictNaming: true } : {}),
        ...(placeholders && Object.keys(placeholders).length ? { placeholders } : {}),
        ...(s.placeholderPrefix !== undefined && s.placeholderPrefix !== "${"
            ? { placeholderPrefix: s.placeholderPrefix }
            : {}),
        ...(s.placeholderSuffix !== undefined && s.placeholderSuffix !== "}"
            ? { placeholderSuffix: s.placeholderSuffix }
            : {}),
        ...(s.placeholderReplacement === false ? { placeholderReplacement: false } : {}),
        ...(s.lint !== undefined && s.lint !== "warn" ? { lint: s.lint } : {}),
        ...(s.lintAllow?.length ? { lintAllow: s.lintAllow } : {}),
        kind: "migrations",
        files: scriptSpecs({ ...files, ...(s.scripts ?? {}) }, `migration set "${s.name}"`),
    };
}

function contentSpec(content: BootstrapContentArgs, files: Record<string, string>): MigrationSetSpec {
    return {
        name: CONTENT_SET,
        schema: content.schema ?? "public",
        table: CONTENT_TABLE,
        outOfOrder: true,
        ignoreMissing: true,
        kind: "content",
        files: scriptSpecs({ ...files, ...(content.items ?? {}) }, "content"),
    };
}

/** Builds the wire form of the migration sets (and content as a final "content" set). Pure but for reading files. */
export function migrationSetSpecs(
    sets: BootstrapMigrationSetArgs[],
    content?: BootstrapContentArgs,
): MigrationSetSpec[] {
    const specs: MigrationSetSpec[] = sets.map((s) =>
        migrationSetSpec(s, s.directory ? readScripts(s.directory, `migration set "${s.name}"`) : {}),
    );
    if (content) specs.push(contentSpec(content, content.directory ? readScripts(content.directory, "content") : {}));
    return specs;
}

/** A value the program already knows (not an Output or a Promise), else `placeholder`. */
function knownOr<T extends string | number>(v: unknown, placeholder: T): T {
    return typeof v === "string" || typeof v === "number" ? (v as T) : placeholder;
}

/**
 * What the provider's `check` would reject in `args`, found while the program runs, before any resource exists:
 * the same rules (`checkInputs`) applied to the wire inputs `args` become. Migration and content directories are
 * read here; a missing one is reported (`migrationSets[i].directory`, `content.directory`) instead of thrown.
 * Values not known yet (Outputs, Promises: host, passwords, ...) are replaced by valid placeholders, so only
 * `check` itself sees them. Properties are the wire names (`database.extensions`, `migrationSets[1].name`,
 * `roles.<name>`), except that the content set's are reported as `content...`. Pure but for reading files.
 */
export function precheckBootstrapArgs(args: BootstrapArgs): CheckFailure[] {
    const failures: CheckFailure[] = [];
    const read = (directory: string | undefined, property: string, what: string): Record<string, string> => {
        if (directory === undefined) return {};
        if (!fs.existsSync(directory) || !fs.statSync(directory).isDirectory()) {
            failures.push({ property, reason: `directory "${directory}" does not exist; create it or fix the path` });
            return {};
        }
        try {
            return readScripts(directory, what);
        } catch (e) {
            failures.push({
                property,
                reason: `directory "${directory}" cannot be read (${(e as Error).message}); fix its permissions or the path`,
            });
            return {};
        }
    };
    const sets = args.migrationSets ?? [];
    const specOrFailure = (property: string, build: () => MigrationSetSpec): MigrationSetSpec[] => {
        try {
            return [build()];
        } catch (e) {
            failures.push({ property, reason: (e as Error).message });
            return [];
        }
    };
    const specs = sets.flatMap((s, i) =>
        specOrFailure(`migrationSets[${i}].directory`, () =>
            migrationSetSpec(s, read(s.directory, `migrationSets[${i}].directory`, `migration set "${s.name}"`)),
        ),
    );
    if (specs.length < sets.length) return failures; // indexes would no longer name the right set
    if (args.content)
        specs.push(
            ...specOrFailure("content.directory", () =>
                contentSpec(args.content!, read(args.content!.directory, "content.directory", "content")),
            ),
        );

    const wire = wireInputs({ ...args, migrationSets: [], content: undefined }, (v) => v) as unknown as BootstrapInputs;
    const c = wire.connection;
    const inputs: BootstrapInputs = {
        ...wire,
        connection: {
            host: knownOr(c.host, "placeholder"),
            port: knownOr(c.port, 5432),
            user: knownOr(c.user, "postgres"),
            password: knownOr(c.password, "placeholder"),
            maintenanceDatabase: knownOr(c.maintenanceDatabase, "postgres"),
            tls: { mode: knownOr(c.tls.mode, "disable") },
        },
        wait: {
            timeoutSeconds: knownOr(wire.wait.timeoutSeconds, 120),
            maxBackoffMs: knownOr(wire.wait.maxBackoffMs, 250),
            lockTimeoutSeconds: knownOr(wire.wait.lockTimeoutSeconds, 600),
            migrationLockTimeoutSeconds: knownOr(wire.wait.migrationLockTimeoutSeconds, 0),
            migrationStatementTimeoutSeconds: knownOr(wire.wait.migrationStatementTimeoutSeconds, 0),
        },
        roles: Object.fromEntries(
            Object.entries(wire.roles).map(([n, r]) => [
                n,
                { ...r, ...(r.password !== undefined ? { password: knownOr(r.password, "placeholder") } : {}) },
            ]),
        ),
        // The owner defaults to the connection's user, which may be an Output too.
        database: { ...wire.database, owner: knownOr(wire.database.owner, "postgres") },
        migrationSets: specs,
    };

    const contentIndex = args.content ? sets.length : -1;
    for (const f of checkInputs({}, inputs)) {
        if (contentIndex < 0 || !f.property.startsWith(`migrationSets[${contentIndex}]`)) {
            failures.push(f);
            continue;
        }
        // The content set is built by us: a clash with it is the migration set's fault, so name that set.
        const clash = sets.findIndex((s) => s.name === CONTENT_SET);
        const tableClash = specs.findIndex(
            (s, i) => i !== contentIndex && s.schema === specs[contentIndex].schema && s.table === CONTENT_TABLE,
        );
        if (f.property === `migrationSets[${contentIndex}].name` && clash >= 0) {
            failures.push({
                property: `migrationSets[${clash}].name`,
                reason: `set name "${CONTENT_SET}" is reserved for the content set while content is given; rename the set`,
            });
        } else if (f.property === `migrationSets[${contentIndex}].table` && tableClash >= 0) {
            failures.push({
                property: `migrationSets[${tableClash}].table`,
                reason: `history table ${specs[contentIndex].schema}.${CONTENT_TABLE} is the content set's; give this set another table`,
            });
        } else {
            failures.push({
                property: `content${f.property.slice(`migrationSets[${contentIndex}]`.length)}`,
                reason: f.reason,
            });
        }
    }
    return failures;
}

/**
 * Maps the user-facing args to the provider's wire inputs (defaults applied, scripts read and checksummed).
 * `secret` wraps password values; the resource passes `pulumi.secret`, tests pass the identity.
 */
export function wireInputs(
    args: BootstrapArgs,
    secret: (v: pulumi.Input<string>) => pulumi.Input<string>,
): pulumi.Inputs {
    const c = args.connection;
    const roles = args.roles ?? [];
    return {
        connection: {
            host: c.host,
            port: c.port ?? 5432,
            user: c.user ?? "postgres",
            password: secret(c.password),
            maintenanceDatabase: c.maintenanceDatabase ?? "postgres",
            tls: { mode: c.tlsMode ?? "disable", ...(c.tlsCa !== undefined ? { ca: c.tlsCa } : {}) },
        },
        wait: {
            timeoutSeconds: args.wait?.timeoutSeconds ?? 120,
            maxBackoffMs: args.wait?.maxBackoffMs ?? 250,
            lockTimeoutSeconds: args.wait?.lockTimeoutSeconds ?? 600,
            migrationLockTimeoutSeconds: args.wait?.migrationLockTimeoutSeconds ?? 0,
            migrationStatementTimeoutSeconds: args.wait?.migrationStatementTimeoutSeconds ?? 0,
        },
        roles: Object.fromEntries(
            roles.map((r) => [
                r.name,
                {
                    login: r.login ?? true,
                    ...(r.password !== undefined ? { password: secret(r.password) } : {}),
                    createdb: r.createdb ?? false,
                    connectionLimit: r.connectionLimit ?? -1,
                    inherit: r.inherit ?? true,
                    memberOf: r.memberOf ?? [],
                    // Off the wire at its default, so states written before it existed show no change.
                    ...(r.privileges !== undefined && r.privileges !== "none" ? { privileges: r.privileges } : {}),
                },
            ]),
        ),
        dropRemovedRoles: args.dropRemovedRoles ?? false,
        database: {
            name: args.database.name,
            owner: args.database.owner ?? c.user ?? "postgres",
            encoding: args.database.encoding ?? "UTF8",
            locale: args.database.locale ?? "",
            template: args.database.template ?? (args.database.locale ? "template0" : "template1"),
            extensions: args.database.extensions ?? [],
        },
        migrationSets: migrationSetSpecs(args.migrationSets ?? [], args.content),
        onDelete: args.onDelete ?? "retain",
        applied: undefined,
        roleNames: undefined,
        databaseName: undefined,
        drift: undefined,
    };
}

/**
 * The database bootstrap as one tracked resource: waits for Postgres, creates roles and the database, applies
 * outstanding migrations per set and deploys content, once, under an advisory lock. See README "The bootstrap (provider/)".
 */
export class Bootstrap extends pulumi.dynamic.Resource {
    /** Applied migrations per set (script file → checksum), as recorded in the history tables. */
    public readonly applied!: pulumi.Output<AppliedMigrations>;
    /** Names of the managed roles. */
    public readonly roleNames!: pulumi.Output<string[]>;
    /** The database name. */
    public readonly databaseName!: pulumi.Output<string>;
    /** What the last refresh found different from the last `up` (empty when in shape); the next `up` repairs it. */
    public readonly drift!: pulumi.Output<string[]>;
    /** `postgresql://role:password@host:port/database` for the application role (secret). */
    public readonly applicationUrl: pulumi.Output<string>;

    constructor(name: string, args: BootstrapArgs, opts: pulumi.CustomResourceOptions = {}) {
        const roles = args.roles ?? [];
        const seen = new Set<string>();
        for (const r of roles) {
            if (seen.has(r.name))
                throw new Error(`Bootstrap ${name}: role "${r.name}" is listed twice in roles; list each role once`);
            seen.add(r.name);
        }
        const appRole = args.applicationRole ?? roles.find((r) => r.login !== false)?.name;
        if (args.applicationRole && !seen.has(args.applicationRole)) {
            throw new Error(
                `Bootstrap ${name}: applicationRole "${args.applicationRole}" is not in roles; add it to roles or fix the name`,
            );
        }
        const c = args.connection;
        const inputs = wireInputs(args, (v) => pulumi.secret(v));
        super(
            bootstrapProvider,
            name,
            inputs,
            {
                ...opts,
                additionalSecretOutputs: [...(opts.additionalSecretOutputs ?? []), "connection", "roles"],
            },
            "postgres",
            "Bootstrap",
        );

        const appPassword = roles.find((r) => r.name === appRole)?.password;
        const endpointHost = args.applicationEndpoint?.host ?? c.host;
        const endpointPort = args.applicationEndpoint?.port ?? c.port ?? 5432;
        this.applicationUrl = pulumi.secret(
            pulumi
                .all([endpointHost, endpointPort, appPassword ?? "", this.databaseName])
                .apply(([h, p, pw, db]) =>
                    appRole === undefined
                        ? ""
                        : `postgresql://${encodeURIComponent(appRole)}${pw ? `:${encodeURIComponent(pw)}` : ""}@${h}:${p}/${encodeURIComponent(db ?? args.database.name)}`,
                ),
        );
    }
}

export type { BootstrapInputs, CheckFailure };
