/**
 * Input validation for `check`: every failure names the input and the fix, and runs before anything touches a
 * server. Pure.
 */
import { checksumOf, parseScriptName, scanSql, transactionNeeds, versionKey, wantsNoTransaction } from "./migrations";
import { LINT_RULES } from "./lint";
import { grantOrder, NAMING_HINT } from "./plan";
import { saslPrepMayDisagree } from "./scram";
import { BootstrapInputs, isUnknown, MigrationSetSpec } from "./types";

export interface CheckFailure {
    property: string;
    reason: string;
}

/** Role, database, schema and table names we accept: plain identifiers (escaped anyway when used). */
const NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,62}$/;
const RESERVED_ROLES = ["public", "none", "current_user", "session_user", "current_role"];
const TLS_MODES = ["disable", "require", "verify-full"];

function checkName(failures: CheckFailure[], property: string, value: unknown, what: string): void {
    if (isUnknown(value)) return;
    if (typeof value !== "string" || !NAME.test(value)) {
        failures.push({
            property,
            reason: `${what} ${JSON.stringify(value)} is not allowed; use 1-63 letters, digits, "_" or "-", starting with a letter or "_"`,
        });
    }
}

function isInt(v: unknown, min: number, max: number): boolean {
    if (isUnknown(v)) return true;
    return typeof v === "number" && Number.isInteger(v) && v >= min && v <= max;
}

/** The longest migration lock or statement timeout accepted: a day, far inside Postgres's limit (2^31-1 ms). */
const MAX_MIGRATION_TIMEOUT_SECONDS = 86400;

/** A migration timeout: a number of seconds (fractions too) from 0, which sets none, to a day. */
function checkMigrationTimeout(
    failures: CheckFailure[],
    wait: BootstrapInputs["wait"] | undefined,
    key: "migrationLockTimeoutSeconds" | "migrationStatementTimeoutSeconds",
    setting: string,
): void {
    const v: unknown = wait?.[key];
    if (isUnknown(v) || (typeof v === "number" && Number.isFinite(v) && v >= 0 && v <= MAX_MIGRATION_TIMEOUT_SECONDS))
        return;
    failures.push({
        property: `wait.${key}`,
        reason:
            `wait.${key} ${typeof v === "number" ? String(v) : (JSON.stringify(v) ?? "undefined")} is not a ${setting} in seconds; ` +
            `give a number from 0 (no timeout) to ${MAX_MIGRATION_TIMEOUT_SECONDS}, e.g. 10 (fractions of a second are fine)`,
    });
}

const PATTERN = /^(\*|versioned|repeatable):(\*|missing|future|ignored|pending)$/i;
const VERSION = /^\d+([._]\d+)*$/;
const PLACEHOLDER_NAME = /^[A-Za-z0-9_.:-]+$/;

/** The Flyway switches of a set: patterns, baseline, placeholders and lint settings. */
function checkFlywaySwitches(f: CheckFailure[], p: string, s: MigrationSetSpec): void {
    for (const pattern of s.ignoreMigrationPatterns ?? []) {
        if (typeof pattern !== "string" || !PATTERN.test(pattern)) {
            f.push({
                property: `${p}.ignoreMigrationPatterns`,
                reason: `ignoreMigrationPatterns entry ${JSON.stringify(pattern)} is not <type>:<state>; use versioned, repeatable or * before the colon and missing, future, ignored, pending or * after it (e.g. "*:missing")`,
            });
        }
    }
    if (s.baseline !== undefined && (typeof s.baseline.version !== "string" || !VERSION.test(s.baseline.version))) {
        f.push({
            property: `${p}.baselineVersion`,
            reason: `baselineVersion ${JSON.stringify(s.baseline.version)} is not a version; use digits separated by "." or "_", e.g. "1" or "2.3"`,
        });
    }
    if (
        s.baseline !== undefined &&
        (typeof s.baseline.description !== "string" || s.baseline.description.length > 200)
    ) {
        f.push({
            property: `${p}.baselineDescription`,
            reason: "baselineDescription must be a string of up to 200 characters",
        });
    }
    for (const [name, value] of Object.entries(s.placeholders ?? {})) {
        if (!PLACEHOLDER_NAME.test(name) || name.startsWith("flyway:")) {
            f.push({
                property: `${p}.placeholders`,
                reason: `placeholder name ${JSON.stringify(name)} is not allowed; use letters, digits, "_", ".", "-" (names starting with "flyway:" are Flyway's built-ins)`,
            });
        }
        if (typeof value !== "string" && !isUnknown(value))
            f.push({ property: `${p}.placeholders`, reason: `placeholder ${name} must have a string value` });
    }
    for (const [key, value] of [
        ["placeholderPrefix", s.placeholderPrefix],
        ["placeholderSuffix", s.placeholderSuffix],
    ] as const) {
        if (value !== undefined && (typeof value !== "string" || value.length === 0))
            f.push({ property: `${p}.${key}`, reason: `${key} must be a non-empty string` });
    }
    if (s.lint !== undefined && !["warn", "error", "off"].includes(s.lint))
        f.push({ property: `${p}.lint`, reason: `lint must be "warn", "error" or "off"` });
    for (const rule of s.lintAllow ?? []) {
        if (!(LINT_RULES as readonly string[]).includes(rule))
            f.push({
                property: `${p}.lintAllow`,
                reason: `lintAllow entry ${JSON.stringify(rule)} is not a lint rule; use one of ${LINT_RULES.join(", ")}`,
            });
    }
}

/** Validates the wire-form inputs. `olds` are the previous inputs (empty object on create). */
export function checkInputs(olds: Partial<BootstrapInputs>, news: BootstrapInputs): CheckFailure[] {
    const f: CheckFailure[] = [];
    const c = news.connection;
    if (!c || typeof c !== "object") {
        return [{ property: "connection", reason: "connection is required: give host, port, user and password" }];
    }
    if (!isUnknown(c.host) && (typeof c.host !== "string" || c.host.length === 0))
        f.push({
            property: "connection.host",
            reason: "connection.host is empty; give the Postgres host name or address",
        });
    if (!isInt(c.port, 1, 65535))
        f.push({
            property: "connection.port",
            reason: `connection.port ${JSON.stringify(c.port)} is not a port; use an integer from 1 to 65535`,
        });
    checkName(f, "connection.user", c.user, "connection.user");
    if (!isUnknown(c.password) && typeof c.password !== "string")
        f.push({
            property: "connection.password",
            reason: 'connection.password must be a string (use "" for trust authentication)',
        });
    checkName(f, "connection.maintenanceDatabase", c.maintenanceDatabase, "connection.maintenanceDatabase");
    if (!c.tls || (!isUnknown(c.tls.mode) && !TLS_MODES.includes(c.tls.mode)))
        f.push({
            property: "connection.tls.mode",
            reason: `connection.tls.mode must be one of ${TLS_MODES.join(", ")}`,
        });
    const w = news.wait;
    if (!w || !isInt(w.timeoutSeconds, 1, 3600))
        f.push({ property: "wait.timeoutSeconds", reason: "wait.timeoutSeconds must be an integer from 1 to 3600" });
    if (!w || !isInt(w.maxBackoffMs, 10, 60000))
        f.push({ property: "wait.maxBackoffMs", reason: "wait.maxBackoffMs must be an integer from 10 to 60000" });
    if (!w || !isInt(w.lockTimeoutSeconds, 1, 86400))
        f.push({
            property: "wait.lockTimeoutSeconds",
            reason: "wait.lockTimeoutSeconds must be an integer from 1 to 86400",
        });
    checkMigrationTimeout(f, w, "migrationLockTimeoutSeconds", "lock_timeout");
    checkMigrationTimeout(f, w, "migrationStatementTimeoutSeconds", "statement_timeout");

    for (const [name, r] of Object.entries(news.roles ?? {})) {
        const p = `roles.${name}`;
        checkName(f, p, name, "role name");
        if (RESERVED_ROLES.includes(name.toLowerCase()) || name.toLowerCase().startsWith("pg_")) {
            f.push({ property: p, reason: `role name "${name}" is reserved by Postgres; choose another name` });
        }
        if (r.password !== undefined && typeof r.password !== "string")
            f.push({ property: `${p}.password`, reason: "password must be a string" });
        // Postgres clears a password that verifies as the empty string, so it would be "changed" on every run.
        if (r.password === "")
            f.push({
                property: `${p}.password`,
                reason: `role ${name} has an empty password, which Postgres stores as no password; give a non-empty password or leave it out`,
            });
        // Never a character of the password in the reason: it is a secret.
        if (typeof r.password === "string" && saslPrepMayDisagree(r.password)) {
            f.push({
                property: `${p}.password`,
                reason:
                    `role ${name}'s password changes under SASLprep (non-ASCII spaces, soft hyphens and other invisible characters, Unicode ` +
                    `compatibility forms) and keeps non-ASCII characters or nothing at all; libpq and the server may then hash it as typed while the pg ` +
                    `client hashes the changed form, so no stored password would let both log in. Write the password in the form SASLprep leaves it ` +
                    `(plain spaces, no invisible characters, NFKC), or keep printable ASCII around the mapped characters`,
            });
        }
        if (!isInt(r.connectionLimit, -1, 1_000_000))
            f.push({
                property: `${p}.connectionLimit`,
                reason: "connectionLimit must be -1 (no limit) or a positive integer",
            });
        for (const g of r.memberOf ?? []) {
            checkName(f, `${p}.memberOf`, g, "memberOf entry");
            if (g === name)
                f.push({
                    property: `${p}.memberOf`,
                    reason: `role ${name} cannot be a member of itself; remove it from memberOf`,
                });
        }
    }
    const owners: string[] = [];
    for (const [name, r] of Object.entries(news.roles ?? {})) {
        if (r.privileges === undefined) continue;
        if (!["owner", "readwrite", "readonly"].includes(r.privileges))
            f.push({
                property: `roles.${name}.privileges`,
                reason: `privileges ${JSON.stringify(r.privileges)} is not a preset; use "owner", "readwrite", "readonly" or "none"`,
            });
        if (r.privileges === "owner") owners.push(name);
    }
    // Two roles creating tables in one schema could not alter each other's: one role migrates.
    if (owners.length > 1)
        f.push({
            property: `roles.${owners[1]}.privileges`,
            reason: `roles ${owners.join(", ")} all have privileges "owner", but only one role may migrate the schemas (each could not alter the other's tables); give the others "readwrite"`,
        });
    const { cycle } = grantOrder(news.roles ?? {});
    if (cycle)
        f.push({
            property: `roles.${cycle[0]}.memberOf`,
            reason: `roles ${cycle.join(" -> ")} are members of each other in a circle, which Postgres refuses; remove one of these memberships`,
        });
    if (!["retain", "drop"].includes(news.onDelete))
        f.push({ property: "onDelete", reason: `onDelete must be "retain" or "drop"` });

    const db = news.database;
    if (!db || typeof db !== "object") {
        f.push({ property: "database", reason: "database is required: give at least its name" });
    } else {
        checkName(f, "database.name", db.name, "database name");
        if (["template0", "template1"].includes(db.name))
            f.push({ property: "database.name", reason: `"${db.name}" is a template database; choose another name` });
        checkName(f, "database.owner", db.owner, "database owner");
        checkName(f, "database.template", db.template, "database template");
        if (!isUnknown(db.encoding) && (typeof db.encoding !== "string" || !/^[A-Za-z0-9_-]{1,32}$/.test(db.encoding)))
            f.push({
                property: "database.encoding",
                reason: `encoding ${JSON.stringify(db.encoding)} is not an encoding name such as UTF8`,
            });
        if (!isUnknown(db.locale) && (typeof db.locale !== "string" || !/^[A-Za-z0-9_.@-]{0,64}$/.test(db.locale)))
            f.push({
                property: "database.locale",
                reason: `locale ${JSON.stringify(db.locale)} is not a locale name such as en_US.UTF-8`,
            });
        for (const e of db.extensions ?? []) checkName(f, "database.extensions", e, "extension name");
        const oldName = olds?.database?.name;
        if (oldName !== undefined && oldName !== db.name && !isUnknown(db.name)) {
            f.push({
                property: "database.name",
                reason:
                    `changing the name of existing database "${oldName}" to "${db.name}" is refused (it would look like a silent replace); ` +
                    `rename it yourself with ALTER DATABASE and then change the input, or create a new Bootstrap resource for a new database`,
            });
        }
    }

    const setNames = new Set<string>();
    const tables = new Set<string>();
    (news.migrationSets ?? []).forEach((s, i) => {
        const p = `migrationSets[${i}]`;
        if (typeof s.name !== "string" || !/^[a-z][a-z0-9_]{0,62}$/.test(s.name))
            f.push({
                property: `${p}.name`,
                reason: `set name ${JSON.stringify(s.name)} must be lower-case letters, digits or "_"`,
            });
        if (setNames.has(s.name))
            f.push({
                property: `${p}.name`,
                reason: `migration set "${s.name}" is listed twice; give each set its own name`,
            });
        setNames.add(s.name);
        checkName(f, `${p}.schema`, s.schema, "history schema");
        checkName(f, `${p}.table`, s.table, "history table");
        const qualified = `${s.schema}.${s.table}`;
        if (tables.has(qualified))
            f.push({
                property: `${p}.table`,
                reason: `history table ${qualified} is used by two sets; give each set its own table`,
            });
        tables.add(qualified);
        const versions = new Map<string, string>();
        for (const [file, spec] of Object.entries(s.files ?? {})) {
            const where = `migration set "${s.name}": ${file}`;
            if (spec.checksum !== checksumOf(spec.sql))
                f.push({
                    property: `${p}.files`,
                    reason: `${where}: checksum does not match its SQL; build the inputs with the Bootstrap resource, which computes it`,
                });
            const { metaCommands, statements } = scanSql(spec.sql);
            for (const m of metaCommands)
                f.push({
                    property: `${p}.files`,
                    reason: `${where} line ${m.line} has a psql meta-command (${m.text}) the server cannot run; use plain SQL instead`,
                });
            if (!s.mixed && !wantsNoTransaction(spec.sql) && spec.executeInTransaction !== false) {
                const { outside, inside } = transactionNeeds(statements);
                if (outside.length > 0 && inside.length > 0) {
                    f.push({
                        property: `${p}.files`,
                        reason:
                            `${where} mixes "${outside[0]}…", which PostgreSQL runs only outside a transaction, with "${inside[0]}…" (Flyway refuses such a file too); ` +
                            `move that statement into a file of its own, or set mixed: true on migration set "${s.name}" to run the file statement by statement outside a transaction (a failure then leaves the statements before it applied)`,
                    });
                }
            }
            if (s.kind === "content") continue;
            const parsed = parseScriptName(file);
            if (!parsed) {
                // Flyway ignores such a file (the plan warns); strictNaming is its validateMigrationNaming.
                if (s.strictNaming)
                    f.push({
                        property: `${p}.files`,
                        reason: `${where} ${NAMING_HINT}, or turn strictNaming off to ignore it`,
                    });
            } else if (parsed.description.length > 200 || file.length > 1000) {
                f.push({
                    property: `${p}.files`,
                    reason: `${where}: the history table holds descriptions of up to 200 characters and paths of up to 1000 (Flyway's layout); shorten the name`,
                });
            } else if (parsed.version !== null && parsed.kind === "versioned") {
                // "1" and "1.0" are one version (they compare equal), so they are duplicates too.
                const key = versionKey(parsed.version);
                const other = versions.get(key);
                if (other)
                    f.push({
                        property: `${p}.files`,
                        reason: `migration set "${s.name}": ${other} and ${file} both have version ${key}; give each migration its own version`,
                    });
                versions.set(key, file);
                if (parsed.version.length > 50)
                    f.push({
                        property: `${p}.files`,
                        reason: `${where}: version ${parsed.version} is longer than the 50 characters the history table holds; shorten it`,
                    });
            }
        }
        checkFlywaySwitches(f, p, s);
    });
    return f;
}
