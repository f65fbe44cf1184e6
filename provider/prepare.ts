/**
 * The one path from a program's `BootstrapArgs` to the provider's wire inputs: each migration and content directory
 * read once, every script checksummed, and the provider's own `checkInputs` run once, so a program learns of every
 * refused argument before any resource exists. Failures are fields (argument, problem, fix), never text to split.
 * Pure but for reading the directories.
 */
import * as fs from "fs";
import * as path from "path";
import type * as pulumi from "@pulumi/pulumi";
import type { BootstrapArgs, BootstrapContentArgs, BootstrapMigrationSetArgs } from "./args";
import { checkInputs, CheckFailure } from "./check";
import { checksumOf } from "./migrations";
import { BootstrapInputs, MigrationSetSpec, ScriptSpec } from "./types";

/**
 * `wait.migrationLockTimeoutSeconds` when not given: a migration waiting behind an open transaction fails after
 * 10 s instead of queueing every later query on its table behind it. (It was 0, none, before: a stack written then
 * shows one update of `wait` that runs nothing.)
 */
export const DEFAULT_MIGRATION_LOCK_TIMEOUT_SECONDS = 10;

/**
 * A bootstrap ready to create: its arguments, its migration sets read and checksummed, and what the provider would
 * refuse. `failures` name `BootstrapArgs` paths (`migrationSets[1].name`, `content.directory`, `roles.app.password`).
 */
export interface PreparedBootstrap {
    readonly args: BootstrapArgs;
    /** The wire form of `args.migrationSets`, then content as a last set; one per set even when a file was refused. */
    readonly migrationSets: readonly MigrationSetSpec[];
    readonly failures: readonly CheckFailure[];
}

/** Values a component only has once its resources exist: the admin endpoint and generated passwords. */
export interface LateBootstrapValues {
    /** The admin connection's host and password (port, user and the rest stay as prepared). */
    connection: { host: pulumi.Input<string>; password: pulumi.Input<string> };
    /** Role name → password. */
    rolePasswords?: Record<string, pulumi.Input<string>>;
}

/** Name of the set that carries `content`; a migration set may not use it while content is given. */
const CONTENT_SET = "content";
const CONTENT_TABLE = "content_history";

/** A folder's scripts, and the symbolic links in it that lead outside it (never read). */
interface Listing {
    files: Record<string, string>;
    outside: string[];
}

/**
 * Lists a folder's `.sql` files and Flyway script configs (`<file>.sql.conf`) as relative path → text, subfolders
 * included (as Flyway scans them), sorted by path. A symbolic link is followed only while it stays inside the folder:
 * one leading elsewhere would put a file from outside it into the state and into every preview.
 */
function listScripts(directory: string): Listing {
    const root = fs.realpathSync(directory);
    const out: Listing = { files: {}, outside: [] };
    const walk = (dir: string, prefix: string) => {
        for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
            const rel = prefix + entry.name;
            const full = path.join(dir, entry.name);
            const wanted = entry.name.endsWith(".sql") || entry.name.endsWith(".sql.conf");
            if (entry.isSymbolicLink()) {
                const real = fs.realpathSync(full);
                if (real !== root && !real.startsWith(root + path.sep)) {
                    if (wanted || fs.statSync(full).isDirectory()) out.outside.push(rel);
                    continue;
                }
            }
            if (fs.statSync(full).isDirectory()) walk(full, `${rel}/`);
            else if (wanted) out.files[rel] = fs.readFileSync(full, "utf8");
        }
    };
    walk(directory, "");
    return out;
}

function outsideProblem(outside: string[]): { problem: string; fix: string } {
    return {
        problem: `${outside.join(", ")} ${outside.length > 1 ? "are symbolic links" : "is a symbolic link"} leading outside the folder`,
        fix: "copy the file into the folder, or point the directory argument at the folder that holds it",
    };
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

/** Collects failures of one property while the specs are built, so every set keeps its index. */
type Report = (problem: string, fix: string) => void;

/** A directory's scripts, or none with a failure when it cannot be read. */
function readDirectory(directory: string | undefined, report: Report): Record<string, string> {
    if (directory === undefined) return {};
    if (!fs.existsSync(directory) || !fs.statSync(directory).isDirectory()) {
        report(`directory "${directory}" does not exist`, "create it or fix the path");
        return {};
    }
    let listing: Listing;
    try {
        listing = listScripts(directory);
    } catch (e) {
        report(`directory "${directory}" cannot be read (${(e as Error).message})`, "fix its permissions or the path");
        return {};
    }
    if (listing.outside.length > 0) {
        const { problem, fix } = outsideProblem(listing.outside);
        report(`in directory "${directory}", ${problem}`, fix);
    }
    return listing.files;
}

/**
 * Each script with its checksum and its config file's settings. A UTF-8 byte-order mark is dropped first, as Flyway
 * drops it: the server would take it for SQL. A config without its script, or with a setting not honoured, is reported.
 */
function scriptSpecs(scripts: Record<string, string>, where: string, report: Report): Record<string, ScriptSpec> {
    const out: Record<string, ScriptSpec> = {};
    for (const [file, text] of Object.entries(scripts)) {
        if (file.endsWith(".conf")) continue;
        const sql = text.replace(/^\uFEFF/, "");
        out[file] = { checksum: checksumOf(sql), sql };
    }
    for (const [file, text] of Object.entries(scripts)) {
        if (!file.endsWith(".conf")) continue;
        const script = file.slice(0, -".conf".length);
        if (!out[script]) {
            report(
                `${where}: ${file} configures ${script}, which is not there`,
                "rename the config to match its script or delete it",
            );
            continue;
        }
        try {
            const conf = parseScriptConfig(`${where}: ${file}`, text.replace(/^\uFEFF/, ""));
            if (conf.executeInTransaction !== undefined) out[script].executeInTransaction = conf.executeInTransaction;
        } catch (e) {
            const message = (e as Error).message;
            const cut = message.lastIndexOf("; use ");
            report(message.slice(0, cut), message.slice(cut + 2));
        }
    }
    return out;
}

function migrationSetSpec(
    s: BootstrapMigrationSetArgs,
    files: Record<string, string>,
    report: Report,
): MigrationSetSpec {
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
        files: scriptSpecs({ ...files, ...(s.scripts ?? {}) }, `migration set "${s.name}"`, report),
    };
}

function contentSpec(content: BootstrapContentArgs, files: Record<string, string>, report: Report): MigrationSetSpec {
    return {
        name: CONTENT_SET,
        schema: content.schema ?? "public",
        table: CONTENT_TABLE,
        outOfOrder: true,
        ignoreMissing: true,
        kind: "content",
        files: scriptSpecs({ ...files, ...(content.items ?? {}) }, "content", report),
    };
}

/**
 * The wire inputs for `args` with these migration sets (defaults applied). `secret` wraps password values: the
 * resource passes `pulumi.secret`, tests and the check the identity.
 */
export function wireInputs(
    args: BootstrapArgs,
    migrationSets: readonly MigrationSetSpec[],
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
            // Off the wire at its default, so states written before it existed show no change.
            ...(c.restrictMaintenanceDatabase ? { restrictMaintenanceDatabase: true } : {}),
            tls: { mode: c.tlsMode ?? "disable", ...(c.tlsCa !== undefined ? { ca: c.tlsCa } : {}) },
        },
        wait: {
            timeoutSeconds: args.wait?.timeoutSeconds ?? 120,
            maxBackoffMs: args.wait?.maxBackoffMs ?? 250,
            lockTimeoutSeconds: args.wait?.lockTimeoutSeconds ?? 600,
            migrationLockTimeoutSeconds:
                args.wait?.migrationLockTimeoutSeconds ?? DEFAULT_MIGRATION_LOCK_TIMEOUT_SECONDS,
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
                    ...(r.settings && Object.keys(r.settings).length ? { settings: { ...r.settings } } : {}),
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
        migrationSets: [...migrationSets],
        onDelete: args.onDelete ?? "retain",
        applied: undefined,
        roleNames: undefined,
        databaseName: undefined,
        drift: undefined,
    };
}

/** A value the program already knows (not an Output or a Promise), else `placeholder`. */
function knownOr<T extends string | number>(v: unknown, placeholder: T): T {
    return typeof v === "string" || typeof v === "number" ? (v as T) : placeholder;
}

/**
 * The wire inputs as `check` sees them while the program runs: values not known yet (Outputs, Promises: host,
 * passwords, a computed user) replaced by valid placeholders, so only the engine's `check` judges those.
 */
function knownInputs(wire: BootstrapInputs): BootstrapInputs {
    const c = wire.connection;
    return {
        ...wire,
        connection: {
            host: knownOr(c.host, "placeholder"),
            port: knownOr(c.port, 5432),
            user: knownOr(c.user, "postgres"),
            password: knownOr(c.password, "placeholder"),
            maintenanceDatabase: knownOr(c.maintenanceDatabase, "postgres"),
            ...(c.restrictMaintenanceDatabase !== undefined
                ? { restrictMaintenanceDatabase: c.restrictMaintenanceDatabase }
                : {}),
            tls: { mode: knownOr(c.tls.mode, "disable") },
        },
        wait: {
            timeoutSeconds: knownOr(wire.wait.timeoutSeconds, 120),
            maxBackoffMs: knownOr(wire.wait.maxBackoffMs, 250),
            lockTimeoutSeconds: knownOr(wire.wait.lockTimeoutSeconds, 600),
            migrationLockTimeoutSeconds: knownOr(
                wire.wait.migrationLockTimeoutSeconds,
                DEFAULT_MIGRATION_LOCK_TIMEOUT_SECONDS,
            ),
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
    };
}

/** The content set is built by us: a failure of its wire set is the content's, or the clashing migration set's. */
function contentFailure(f: CheckFailure, sets: readonly MigrationSetSpec[], contentIndex: number): CheckFailure {
    const wire = `migrationSets[${contentIndex}]`;
    const content = sets[contentIndex];
    const nameClash = sets.findIndex((s, i) => i !== contentIndex && s.name === CONTENT_SET);
    const tableClash = sets.findIndex(
        (s, i) => i !== contentIndex && s.schema === content.schema && s.table === CONTENT_TABLE,
    );
    if (f.property === `${wire}.name` && nameClash >= 0)
        return {
            property: `migrationSets[${nameClash}].name`,
            problem: `set name "${CONTENT_SET}" is reserved for the content set while content is given`,
            fix: "rename the set",
        };
    if (f.property === `${wire}.table` && tableClash >= 0)
        return {
            property: `migrationSets[${tableClash}].table`,
            problem: `history table ${content.schema}.${CONTENT_TABLE} is the content set's`,
            fix: "give this set another table",
        };
    return { ...f, property: `content${f.property.slice(wire.length)}` };
}

/** What only the arguments show (the wire form is keyed by role name): a role listed twice, an unknown application role. */
function argumentFailures(args: BootstrapArgs): CheckFailure[] {
    const out: CheckFailure[] = [];
    const seen = new Set<string>();
    for (const r of args.roles ?? []) {
        if (seen.has(r.name))
            out.push({ property: "roles", problem: `role "${r.name}" is listed twice`, fix: "list each role once" });
        seen.add(r.name);
    }
    if (args.applicationRole !== undefined && !seen.has(args.applicationRole))
        out.push({
            property: "applicationRole",
            problem: `applicationRole "${args.applicationRole}" is not in roles`,
            fix: "add it to roles or fix the name",
        });
    return out;
}

/**
 * Reads, checksums and checks `args` once. Values not known yet (Outputs, Promises) pass here and are judged by the
 * engine's `check`, which applies the same rules (`checkInputs`) to the final inputs.
 */
export function prepareBootstrap(args: BootstrapArgs): PreparedBootstrap {
    const failures = argumentFailures(args);
    const reporter =
        (property: string): Report =>
        (problem, fix) =>
            failures.push({ property, problem, fix });
    const sets = (args.migrationSets ?? []).map((s, i) => {
        const report = reporter(`migrationSets[${i}].directory`);
        return migrationSetSpec(s, readDirectory(s.directory, report), report);
    });
    if (args.content) {
        const report = reporter("content.directory");
        sets.push(contentSpec(args.content, readDirectory(args.content.directory, report), report));
    }
    const contentIndex = args.content ? sets.length - 1 : -1;
    const wire = wireInputs(args, sets, (v) => v) as unknown as BootstrapInputs;
    for (const f of checkInputs({}, knownInputs(wire)))
        failures.push(
            f.property.startsWith(`migrationSets[${contentIndex}]`) ? contentFailure(f, sets, contentIndex) : f,
        );
    return { args, migrationSets: sets, failures };
}

/**
 * `prepared` with the values its component only has once its resources exist. They are Outputs, which the program
 * cannot judge anyway: the engine's `check` does.
 */
export function withLateValues(prepared: PreparedBootstrap, late: LateBootstrapValues): PreparedBootstrap {
    const passwords = late.rolePasswords ?? {};
    return {
        ...prepared,
        args: {
            ...prepared.args,
            connection: { ...prepared.args.connection, ...late.connection },
            roles: (prepared.args.roles ?? []).map((r) =>
                passwords[r.name] !== undefined ? { ...r, password: passwords[r.name] } : r,
            ),
        },
    };
}

/** The failures as one message, a line each: `<property>: <problem>; <fix>`. */
export function failureLines(failures: readonly CheckFailure[]): string {
    return failures.map((f) => `  ${f.property}: ${f.problem}; ${f.fix}`).join("\n");
}
