/**
 * Input validation for `check`: every failure names the input and the fix, and runs before anything touches a
 * server. Pure.
 */
import { checksumOf, parseScriptName, scanSql, transactionNeeds, versionKey, wantsNoTransaction } from "./migrations";
import { LINT_RULES } from "./lint";
import { grantOrder, NAMING_HINT } from "./plan";
import { saslPrepMayDisagree } from "./scram";
import { BootstrapInputs, isUnknown, MigrationSetSpec } from "./types";

/** One refused input: which one, what is wrong with it, and what to do instead. */
export interface CheckFailure {
    /** The input's path in the wire form, e.g. `migrationSets[1].name` or `roles.app.password`. */
    property: string;
    /** What is wrong, naming the value unless it is a secret. */
    problem: string;
    /** What to do instead. */
    fix: string;
}

/** The one-line reason the engine shows for a failure. */
export function reasonOf(f: CheckFailure): string {
    return `${f.problem}; ${f.fix}`;
}

/** A failure as the engine's `check` returns it. */
export function engineFailure(f: CheckFailure): { property: string; reason: string } {
    return { property: f.property, reason: reasonOf(f) };
}

function fail(failures: CheckFailure[], property: string, problem: string, fix: string): void {
    failures.push({ property, problem, fix });
}

/** Role, database, schema and table names we accept: plain identifiers (escaped anyway when used). */
const NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,62}$/;
const RESERVED_ROLES = ["public", "none", "current_user", "session_user", "current_role"];
const TLS_MODES = ["disable", "require", "verify-full"];

function checkName(failures: CheckFailure[], property: string, value: unknown, what: string): void {
    if (isUnknown(value)) return;
    if (typeof value !== "string" || !NAME.test(value)) {
        fail(
            failures,
            property,
            `${what} ${JSON.stringify(value)} is not allowed`,
            `use 1-63 letters, digits, "_" or "-", starting with a letter or "_"`,
        );
    }
}

function isInt(v: unknown, min: number, max: number): boolean {
    if (isUnknown(v)) return true;
    return typeof v === "number" && Number.isInteger(v) && v >= min && v <= max;
}

/** An integer input from `min` to `max`; `meaning` says what the bounds are, e.g. "(-1 for no limit)". */
function checkInt(f: CheckFailure[], property: string, v: unknown, min: number, max: number, meaning = ""): void {
    if (isInt(v, min, max)) return;
    fail(
        f,
        property,
        `${property} is ${typeof v === "number" ? String(v) : (JSON.stringify(v) ?? "undefined")}, not an integer from ${min} to ${max}`,
        `give an integer from ${min} to ${max}${meaning}`,
    );
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
    fail(
        failures,
        `wait.${key}`,
        `wait.${key} ${typeof v === "number" ? String(v) : (JSON.stringify(v) ?? "undefined")} is not a ${setting} in seconds`,
        `give a number from 0 (no timeout) to ${MAX_MIGRATION_TIMEOUT_SECONDS}, e.g. 10 (fractions of a second are fine)`,
    );
}

const PATTERN = /^(\*|versioned|repeatable):(\*|missing|future|ignored|pending)$/i;
const VERSION = /^\d+([._]\d+)*$/;
const PLACEHOLDER_NAME = /^[A-Za-z0-9_.:-]+$/;

/** The Flyway switches of a set: patterns, baseline, placeholders and lint settings. */
function checkFlywaySwitches(f: CheckFailure[], p: string, s: MigrationSetSpec): void {
    for (const pattern of s.ignoreMigrationPatterns ?? []) {
        if (typeof pattern !== "string" || !PATTERN.test(pattern)) {
            fail(
                f,
                `${p}.ignoreMigrationPatterns`,
                `ignoreMigrationPatterns entry ${JSON.stringify(pattern)} is not <type>:<state>`,
                `use versioned, repeatable or * before the colon and missing, future, ignored, pending or * after it (e.g. "*:missing")`,
            );
        }
    }
    if (s.baseline !== undefined && (typeof s.baseline.version !== "string" || !VERSION.test(s.baseline.version))) {
        fail(
            f,
            `${p}.baselineVersion`,
            `baselineVersion ${JSON.stringify(s.baseline.version)} is not a version`,
            `use digits separated by "." or "_", e.g. "1" or "2.3"`,
        );
    }
    if (
        s.baseline !== undefined &&
        (typeof s.baseline.description !== "string" || s.baseline.description.length > 200)
    ) {
        fail(
            f,
            `${p}.baselineDescription`,
            "baselineDescription is not a string of up to 200 characters",
            "shorten it to 200 characters or fewer",
        );
    }
    for (const [name, value] of Object.entries(s.placeholders ?? {})) {
        if (!PLACEHOLDER_NAME.test(name) || name.startsWith("flyway:")) {
            fail(
                f,
                `${p}.placeholders`,
                `placeholder name ${JSON.stringify(name)} is not allowed`,
                `use letters, digits, "_", ".", "-" (names starting with "flyway:" are Flyway's built-ins)`,
            );
        }
        if (typeof value !== "string" && !isUnknown(value))
            fail(f, `${p}.placeholders`, `placeholder ${name} has no string value`, "give it a string value");
    }
    for (const [key, value] of [
        ["placeholderPrefix", s.placeholderPrefix],
        ["placeholderSuffix", s.placeholderSuffix],
    ] as const) {
        if (value !== undefined && (typeof value !== "string" || value.length === 0))
            fail(f, `${p}.${key}`, `${key} is empty`, `give a non-empty string, or leave ${key} out for the default`);
    }
    if (s.lint !== undefined && !["warn", "error", "off"].includes(s.lint))
        fail(f, `${p}.lint`, `lint is ${JSON.stringify(s.lint)}`, `use "warn", "error" or "off"`);
    for (const rule of s.lintAllow ?? []) {
        if (!(LINT_RULES as readonly string[]).includes(rule))
            fail(
                f,
                `${p}.lintAllow`,
                `lintAllow entry ${JSON.stringify(rule)} is not a lint rule`,
                `use one of ${LINT_RULES.join(", ")}`,
            );
    }
}

/** The admin connection: host, port, user, password, maintenance database, TLS. */
function checkConnection(f: CheckFailure[], c: BootstrapInputs["connection"]): void {
    if (!isUnknown(c.host) && (typeof c.host !== "string" || c.host.length === 0))
        fail(f, "connection.host", "connection.host is empty", "give the Postgres host name or address");
    if (!isInt(c.port, 1, 65535))
        fail(
            f,
            "connection.port",
            `connection.port ${JSON.stringify(c.port)} is not a port`,
            "use an integer from 1 to 65535",
        );
    checkName(f, "connection.user", c.user, "connection.user");
    if (!isUnknown(c.password) && typeof c.password !== "string")
        fail(
            f,
            "connection.password",
            "connection.password is not a string",
            'give a string (use "" for trust authentication)',
        );
    checkName(f, "connection.maintenanceDatabase", c.maintenanceDatabase, "connection.maintenanceDatabase");
    if (c.restrictMaintenanceDatabase !== undefined && typeof c.restrictMaintenanceDatabase !== "boolean")
        fail(
            f,
            "connection.restrictMaintenanceDatabase",
            `connection.restrictMaintenanceDatabase is ${JSON.stringify(c.restrictMaintenanceDatabase)}`,
            "give true or false",
        );
    if (!c.tls || (!isUnknown(c.tls.mode) && !TLS_MODES.includes(c.tls.mode)))
        fail(
            f,
            "connection.tls.mode",
            `connection.tls.mode is ${JSON.stringify(c.tls?.mode)}`,
            `use one of ${TLS_MODES.join(", ")}`,
        );
}

/** Readiness, lock and migration waits. */
function checkWait(f: CheckFailure[], w: BootstrapInputs["wait"] | undefined): void {
    checkInt(f, "wait.timeoutSeconds", w?.timeoutSeconds, 1, 3600);
    checkInt(f, "wait.maxBackoffMs", w?.maxBackoffMs, 10, 60000);
    checkInt(f, "wait.lockTimeoutSeconds", w?.lockTimeoutSeconds, 1, 86400);
    checkMigrationTimeout(f, w, "migrationLockTimeoutSeconds", "lock_timeout");
    checkMigrationTimeout(f, w, "migrationStatementTimeoutSeconds", "statement_timeout");
}

/** A setting name as `ALTER ROLE … SET` takes it unquoted: a parameter, or a `prefix.name` custom one. */
const SETTING_NAME = /^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$/;

/** Role settings: plain parameter names, string values (the server judges the value itself when it applies it). */
function checkRoleSettings(f: CheckFailure[], property: string, role: string, settings: unknown): void {
    if (settings === undefined) return;
    if (typeof settings !== "object" || settings === null || Array.isArray(settings)) {
        fail(
            f,
            property,
            `role ${role}'s settings are not a map of name to value`,
            'give e.g. { statement_timeout: "30s" }',
        );
        return;
    }
    for (const [k, v] of Object.entries(settings)) {
        if (!SETTING_NAME.test(k))
            fail(
                f,
                `${property}.${k}`,
                `setting name "${k}" is not a server parameter name`,
                "use a lower-case parameter name such as statement_timeout",
            );
        else if (["role", "session_authorization"].includes(k))
            fail(f, `${property}.${k}`, `setting "${k}" cannot be set per role`, "remove it");
        if (typeof v !== "string" && !isUnknown(v))
            fail(
                f,
                `${property}.${k}`,
                `setting ${k} of role ${role} is not a string`,
                'give the value as a string, e.g. "60s"',
            );
    }
}

/** Roles: names, passwords, limits, memberships (and no circle of them); onDelete. */
function checkRoles(f: CheckFailure[], news: BootstrapInputs): void {
    for (const [name, r] of Object.entries(news.roles ?? {})) {
        const p = `roles.${name}`;
        checkName(f, p, name, "role name");
        if (RESERVED_ROLES.includes(name.toLowerCase()) || name.toLowerCase().startsWith("pg_"))
            fail(f, p, `role name "${name}" is reserved by Postgres`, "choose another name");
        if (r.password !== undefined && typeof r.password !== "string")
            fail(f, `${p}.password`, `role ${name}'s password is not a string`, "give a string, or leave it out");
        // Postgres clears a password that verifies as the empty string, so it would be "changed" on every run.
        if (r.password === "")
            fail(
                f,
                `${p}.password`,
                `role ${name} has an empty password, which Postgres stores as no password`,
                "give a non-empty password or leave it out",
            );
        // Never a character of the password in the failure: it is a secret.
        if (typeof r.password === "string" && saslPrepMayDisagree(r.password)) {
            fail(
                f,
                `${p}.password`,
                `role ${name}'s password changes under SASLprep (non-ASCII spaces, soft hyphens and other invisible characters, Unicode ` +
                    `compatibility forms) and keeps non-ASCII characters or nothing at all; libpq and the server may then hash it as typed while the pg ` +
                    `client hashes the changed form, so no stored password would let both log in`,
                `Write the password in the form SASLprep leaves it (plain spaces, no invisible characters, NFKC), or keep printable ASCII around the mapped characters`,
            );
        }
        checkInt(f, `${p}.connectionLimit`, r.connectionLimit, -1, 1_000_000, " (-1 for no limit)");
        checkRoleSettings(f, `${p}.settings`, name, r.settings);
        for (const g of r.memberOf ?? []) {
            checkName(f, `${p}.memberOf`, g, "memberOf entry");
            if (g === name)
                fail(f, `${p}.memberOf`, `role ${name} cannot be a member of itself`, "remove it from memberOf");
        }
    }
    const owners: string[] = [];
    for (const [name, r] of Object.entries(news.roles ?? {})) {
        if (r.privileges === undefined) continue;
        if (!["owner", "readwrite", "readonly"].includes(r.privileges))
            fail(
                f,
                `roles.${name}.privileges`,
                `privileges ${JSON.stringify(r.privileges)} is not a preset`,
                `use "owner", "readwrite", "readonly" or "none"`,
            );
        if (r.privileges === "owner") owners.push(name);
    }
    // Two roles creating tables in one schema could not alter each other's: one role migrates.
    if (owners.length > 1)
        fail(
            f,
            `roles.${owners[1]}.privileges`,
            `roles ${owners.join(", ")} all have privileges "owner", but only one role may migrate the schemas (each could not alter the other's tables)`,
            `give the others "readwrite"`,
        );
    const { cycle } = grantOrder(news.roles ?? {});
    if (cycle)
        fail(
            f,
            `roles.${cycle[0]}.memberOf`,
            `roles ${cycle.join(" -> ")} are members of each other in a circle, which Postgres refuses`,
            "remove one of these memberships",
        );
    if (!["retain", "drop"].includes(news.onDelete))
        fail(f, "onDelete", `onDelete is ${JSON.stringify(news.onDelete)}`, `use "retain" or "drop"`);
}

/** The database, and a rename of an existing one (refused). */
function checkDatabase(f: CheckFailure[], olds: Partial<BootstrapInputs>, news: BootstrapInputs): void {
    const db = news.database;
    if (!db || typeof db !== "object") {
        fail(f, "database", "database is missing", "give at least its name");
    } else {
        checkName(f, "database.name", db.name, "database name");
        if (["template0", "template1"].includes(db.name))
            fail(f, "database.name", `"${db.name}" is a template database`, "choose another name");
        checkName(f, "database.owner", db.owner, "database owner");
        checkName(f, "database.template", db.template, "database template");
        if (!isUnknown(db.encoding) && (typeof db.encoding !== "string" || !/^[A-Za-z0-9_-]{1,32}$/.test(db.encoding)))
            fail(
                f,
                "database.encoding",
                `encoding ${JSON.stringify(db.encoding)} is not an encoding name`,
                "use one such as UTF8",
            );
        if (!isUnknown(db.locale) && (typeof db.locale !== "string" || !/^[A-Za-z0-9_.@-]{0,64}$/.test(db.locale)))
            fail(
                f,
                "database.locale",
                `locale ${JSON.stringify(db.locale)} is not a locale name`,
                "use one such as en_US.UTF-8",
            );
        for (const e of db.extensions ?? []) checkName(f, "database.extensions", e, "extension name");
        const oldName = olds?.database?.name;
        if (oldName !== undefined && oldName !== db.name && !isUnknown(db.name)) {
            fail(
                f,
                "database.name",
                `changing the name of existing database "${oldName}" to "${db.name}" is refused (it would look like a silent replace)`,
                `rename it yourself with ALTER DATABASE and then change the input, or create a new Bootstrap resource for a new database`,
            );
        }
    }
}

/** Migration sets: names, history tables, and each file's name, version, checksum and transaction needs. */
function checkMigrationSets(f: CheckFailure[], news: BootstrapInputs): void {
    const setNames = new Set<string>();
    const tables = new Set<string>();
    (news.migrationSets ?? []).forEach((s, i) => {
        const p = `migrationSets[${i}]`;
        if (typeof s.name !== "string" || !/^[a-z][a-z0-9_]{0,62}$/.test(s.name))
            fail(
                f,
                `${p}.name`,
                `set name ${JSON.stringify(s.name)} is not lower-case letters, digits or "_"`,
                `rename the set, e.g. "app" or "sso_2"`,
            );
        if (setNames.has(s.name))
            fail(f, `${p}.name`, `migration set "${s.name}" is listed twice`, "give each set its own name");
        setNames.add(s.name);
        checkName(f, `${p}.schema`, s.schema, "history schema");
        checkName(f, `${p}.table`, s.table, "history table");
        const qualified = `${s.schema}.${s.table}`;
        if (tables.has(qualified))
            fail(f, `${p}.table`, `history table ${qualified} is used by two sets`, "give each set its own table");
        tables.add(qualified);
        const versions = new Map<string, string>();
        for (const [file, spec] of Object.entries(s.files ?? {})) {
            const where = `migration set "${s.name}": ${file}`;
            if (spec.checksum !== checksumOf(spec.sql))
                fail(
                    f,
                    `${p}.files`,
                    `${where}: checksum does not match its SQL`,
                    "build the inputs with the Bootstrap resource, which computes it",
                );
            const { metaCommands, statements } = scanSql(spec.sql);
            for (const m of metaCommands)
                fail(
                    f,
                    `${p}.files`,
                    `${where} line ${m.line} has a psql meta-command (${m.text}) the server cannot run`,
                    "use plain SQL instead",
                );
            if (!s.mixed && !wantsNoTransaction(spec.sql) && spec.executeInTransaction !== false) {
                const { outside, inside } = transactionNeeds(statements);
                if (outside.length > 0 && inside.length > 0) {
                    fail(
                        f,
                        `${p}.files`,
                        `${where} mixes "${outside[0]}…", which PostgreSQL runs only outside a transaction, with "${inside[0]}…" (Flyway refuses such a file too)`,
                        `move that statement into a file of its own, or set mixed: true on migration set "${s.name}" to run the file statement by statement outside a transaction (a failure then leaves the statements before it applied)`,
                    );
                }
            }
            if (s.kind === "content") continue;
            const parsed = parseScriptName(file);
            if (!parsed) {
                // Flyway ignores such a file (the plan warns); strictNaming is its validateMigrationNaming.
                if (s.strictNaming)
                    fail(
                        f,
                        `${p}.files`,
                        `${where} ${NAMING_HINT.problem}`,
                        `${NAMING_HINT.fix}, or turn strictNaming off to ignore it`,
                    );
            } else if (parsed.description.length > 200 || file.length > 1000) {
                fail(
                    f,
                    `${p}.files`,
                    `${where}: the history table holds descriptions of up to 200 characters and paths of up to 1000 (Flyway's layout)`,
                    "shorten the name",
                );
            } else if (parsed.version !== null && parsed.kind === "versioned") {
                // "1" and "1.0" are one version (they compare equal), so they are duplicates too.
                const key = versionKey(parsed.version);
                const other = versions.get(key);
                if (other)
                    fail(
                        f,
                        `${p}.files`,
                        `migration set "${s.name}": ${other} and ${file} both have version ${key}`,
                        "give each migration its own version",
                    );
                versions.set(key, file);
                if (parsed.version.length > 50)
                    fail(
                        f,
                        `${p}.files`,
                        `${where}: version ${parsed.version} is longer than the 50 characters the history table holds`,
                        "shorten it",
                    );
            }
        }
        checkFlywaySwitches(f, p, s);
    });
}

/** Validates the wire-form inputs. `olds` are the previous inputs (empty object on create). */
export function checkInputs(olds: Partial<BootstrapInputs>, news: BootstrapInputs): CheckFailure[] {
    const f: CheckFailure[] = [];
    const c = news.connection;
    if (!c || typeof c !== "object") {
        return [
            { property: "connection", problem: "connection is missing", fix: "give host, port, user and password" },
        ];
    }
    checkConnection(f, c);
    checkWait(f, news.wait);
    checkRoles(f, news);
    checkDatabase(f, olds, news);
    checkMigrationSets(f, news);
    return f;
}
