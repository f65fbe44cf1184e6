import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { bootstrapProvider } from "./provider";
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

/** How long to wait for the server, and for a concurrent bootstrap of the same database. */
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
}

/** A role the bootstrap creates and keeps in shape. */
export interface BootstrapRoleArgs {
    /** Role name. */
    name: string;
    /** May log in. @default true */
    login?: boolean;
    /** Password (secret). @default undefined (no password) */
    password?: pulumi.Input<string>;
    /** May create databases. @default false */
    createdb?: boolean;
    /** Connection limit; -1 for none. @default -1 */
    connectionLimit?: number;
    /** Inherits privileges of roles it is a member of. @default true */
    inherit?: boolean;
    /** Roles granted to this role. @default [] */
    memberOf?: string[];
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
    /** Directory with Flyway-named files (`V<version>__<desc>.sql`, `R__<desc>.sql`). Read when the program runs. */
    directory?: string;
    /** Files given inline (name → SQL), merged with `directory`. @default {} */
    scripts?: Record<string, string>;
    /** Schema of the history table. @default "public" */
    schema?: string;
    /** History table. @default "schema_history_<name>" */
    table?: string;
    /** Allow new versions lower than the highest applied. @default false */
    outOfOrder?: boolean;
    /** Do not fail when an applied file is gone. @default false */
    ignoreMissing?: boolean;
}

/** Content (seed data, pages, settings) deployed when new or changed, tracked by checksum. */
export interface BootstrapContentArgs {
    /** Directory of `.sql` files, applied in file-name order. */
    directory?: string;
    /** Inline items (name → SQL). @default {} */
    items?: Record<string, string>;
    /** Schema of the content history table. @default "public" */
    schema?: string;
}

export interface BootstrapArgs {
    /** The admin connection. */
    connection: BootstrapConnectionArgs;
    /** Readiness and lock waits. @default { timeoutSeconds: 120, maxBackoffMs: 250, lockTimeoutSeconds: 600 } */
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
    applicationEndpoint?: { host: pulumi.Input<string>; port?: pulumi.Input<number> };
}

/** Reads a directory's `.sql` files into name → SQL, sorted by name. Missing directory is an error naming it. */
export function readScripts(directory: string, what: string): Record<string, string> {
    if (!fs.existsSync(directory) || !fs.statSync(directory).isDirectory()) {
        throw new Error(`${what}: directory "${directory}" does not exist; create it or fix the path`);
    }
    const out: Record<string, string> = {};
    for (const file of fs.readdirSync(directory).filter((f) => f.endsWith(".sql")).sort()) {
        out[file] = fs.readFileSync(path.join(directory, file), "utf8");
    }
    return out;
}

function scriptSpecs(scripts: Record<string, string>): Record<string, ScriptSpec> {
    const out: Record<string, ScriptSpec> = {};
    for (const [file, sql] of Object.entries(scripts)) out[file] = { checksum: checksumOf(sql), sql };
    return out;
}

/** Builds the wire form of the migration sets (and content as a final "content" set). Pure but for reading files. */
export function migrationSetSpecs(sets: BootstrapMigrationSetArgs[], content?: BootstrapContentArgs): MigrationSetSpec[] {
    const specs: MigrationSetSpec[] = sets.map((s) => ({
        name: s.name,
        schema: s.schema ?? "public",
        table: s.table ?? `schema_history_${s.name}`,
        outOfOrder: s.outOfOrder ?? false,
        ignoreMissing: s.ignoreMissing ?? false,
        kind: "migrations" as const,
        files: scriptSpecs({ ...(s.directory ? readScripts(s.directory, `migration set "${s.name}"`) : {}), ...(s.scripts ?? {}) }),
    }));
    if (content) {
        specs.push({
            name: "content",
            schema: content.schema ?? "public",
            table: "content_history",
            outOfOrder: true,
            ignoreMissing: true,
            kind: "content",
            files: scriptSpecs({ ...(content.directory ? readScripts(content.directory, "content") : {}), ...(content.items ?? {}) }),
        });
    }
    return specs;
}

/**
 * Maps the user-facing args to the provider's wire inputs (defaults applied, scripts read and checksummed).
 * `secret` wraps password values; the resource passes `pulumi.secret`, tests pass the identity.
 */
export function wireInputs(args: BootstrapArgs, secret: (v: pulumi.Input<string>) => pulumi.Input<string>): pulumi.Inputs {
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
 * outstanding migrations per set and deploys content, once, under an advisory lock. See README "Bootstrap".
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
            if (seen.has(r.name)) throw new Error(`Bootstrap ${name}: role "${r.name}" is listed twice in roles; list each role once`);
            seen.add(r.name);
        }
        const appRole = args.applicationRole ?? roles.find((r) => r.login !== false)?.name;
        if (args.applicationRole && !seen.has(args.applicationRole)) {
            throw new Error(`Bootstrap ${name}: applicationRole "${args.applicationRole}" is not in roles; add it to roles or fix the name`);
        }
        const c = args.connection;
        const inputs = wireInputs(args, (v) => pulumi.secret(v));
        super(bootstrapProvider, name, inputs, {
            ...opts,
            additionalSecretOutputs: [...(opts.additionalSecretOutputs ?? []), "connection", "roles"],
        }, "postgres", "Bootstrap");

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

export type { BootstrapInputs };
