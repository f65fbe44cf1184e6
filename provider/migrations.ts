/**
 * Pure helpers for Flyway-style migration files: names, versions, checksums, and the SQL checks and splitting
 * the provider needs. No I/O here.
 */
import { createHash } from "crypto";
import { crc32 } from "zlib";

/** SQL callbacks of Flyway's migrate command the provider runs (`<event>.sql` or `<event>__<description>.sql`). */
export const MIGRATE_CALLBACKS = [
    "beforeMigrate",
    "beforeEachMigrate",
    "afterEachMigrate",
    "afterEachMigrateError",
    "afterMigrate",
    "afterMigrateApplied",
    "afterMigrateError",
] as const;
export type MigrateCallback = (typeof MIGRATE_CALLBACKS)[number];

/** Callback events of Flyway's other commands (clean, validate, info, repair, baseline, undo): never run by a migrate, so ignored quietly. */
const OTHER_CALLBACK =
    /^(before|after)(Each)?(Clean|Validate|Info|Repair|Baseline|Undo|Connect|Versioned)(Error|Statement|StatementError|Applied|OperationFinish)?$|^(beforeEachMigrateStatement|afterEachMigrateStatement|afterEachMigrateStatementError|afterVersioned|afterMigrateOperationFinish|createSchema)$/;

/** A parsed script file name (the file's own name: folders in front of it do not count, as in Flyway). */
export type ScriptName =
    | {
          kind: "versioned" | "repeatable";
          /** The version as Flyway records it: as written, "_" read as "." ("1_10" is "1.10", "010" stays), null for repeatables. */
          version: string | null;
          description: string;
      }
    | { kind: "callback"; event: MigrateCallback; version: null; description: string }
    /** An undo migration (Flyway Teams), a callback of another command: ignored, the first with a warning. */
    | { kind: "undo" | "other-callback"; version: null; description: string };

const VERSIONED = /^V(\d+(?:[._]\d+)*)__(.+)\.sql$/;
const REPEATABLE = /^R__(.+)\.sql$/;
const UNDO = /^U(\d+(?:[._]\d+)*)__(.+)\.sql$/;
const CALLBACK = /^([A-Za-z]+)(?:__(.+))?\.sql$/;

/** The marker comment that makes a file run outside a transaction (needed for CREATE INDEX CONCURRENTLY). */
export const NO_TRANSACTION_MARKER = "-- bootstrap:no-transaction";

/** The file's own name, without the folders of its key ("sub/V2__x.sql" → "V2__x.sql"). */
export function baseName(file: string): string {
    return file.slice(file.lastIndexOf("/") + 1);
}

/** Parses `V<version>__<description>.sql`, `R__<description>.sql`, a callback or an undo file; null when the name fits none. */
export function parseScriptName(file: string): ScriptName | null {
    const name = baseName(file);
    const v = VERSIONED.exec(name);
    if (v) {
        return { kind: "versioned", version: v[1].replace(/_/g, "."), description: v[2].replace(/_/g, " ") };
    }
    const r = REPEATABLE.exec(name);
    if (r) return { kind: "repeatable", version: null, description: r[1].replace(/_/g, " ") };
    const u = UNDO.exec(name);
    if (u) return { kind: "undo", version: null, description: u[2].replace(/_/g, " ") };
    const c = CALLBACK.exec(name);
    if (c) {
        const event = MIGRATE_CALLBACKS.find((e) => e === c[1]);
        const description = (c[2] ?? "").replace(/_/g, " ");
        if (event) return { kind: "callback", event, version: null, description };
        if (OTHER_CALLBACK.test(c[1])) return { kind: "other-callback", version: null, description };
    }
    return null;
}

/** Compares versions numerically part by part: 1.9 < 1.10, 2 == 002, 1 < 1.0.1. */
export function compareVersions(a: string, b: string): number {
    const pa = a.split(".").map((p) => BigInt(p));
    const pb = b.split(".").map((p) => BigInt(p));
    for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
        const x = pa[i] ?? BigInt(0);
        const y = pb[i] ?? BigInt(0);
        if (x !== y) return x < y ? -1 : 1;
    }
    return 0;
}

/**
 * The identity of a version: numeric parts without leading zeros, trailing zero parts dropped, so every spelling
 * that compareVersions calls equal ("1", "1.0", "001.0.0") has one key. Maps of versions are keyed by it.
 */
export function versionKey(version: string): string {
    const parts = version.split(/[._]/).map((p) => BigInt(p).toString());
    while (parts.length > 1 && parts[parts.length - 1] === "0") parts.pop();
    return parts.join(".");
}

/** Content checksum of a script: sha256 of its text with line endings normalised, so CRLF checkouts agree. */
export function checksumOf(sql: string): string {
    return "sha256:" + createHash("sha256").update(sql.replace(/\r\n/g, "\n"), "utf8").digest("hex");
}

/**
 * Flyway's checksum of a script: CRC-32 over the UTF-8 bytes of its lines without their line breaks, a leading
 * byte-order mark dropped, as a signed 32-bit integer (Flyway's `checksum` column). So line endings, and blank lines,
 * do not change it; every other edit does. Taken of the file as written, before any placeholder is replaced.
 */
export function flywayChecksum(text: string): number {
    return crc32(Buffer.from(text.replace(/^\uFEFF/, "").replace(/[\r\n]/g, ""), "utf8")) | 0;
}

/** True when the file asks to run outside a transaction. */
export function wantsNoTransaction(sql: string): boolean {
    return sql.split("\n").some((l) => l.trim().toLowerCase() === NO_TRANSACTION_MARKER);
}

/**
 * Statements PostgreSQL refuses inside a transaction block, by their leading words: Flyway's list for PostgreSQL
 * (CREATE/DROP DATABASE, TABLESPACE or SUBSCRIPTION; ALTER SYSTEM; CREATE/DROP [UNIQUE] INDEX CONCURRENTLY;
 * REINDEX SCHEMA/DATABASE/SYSTEM; VACUUM; DISCARD ALL), plus REINDEX … CONCURRENTLY, which Flyway's list lacks.
 * `ALTER TYPE … ADD VALUE` is left out: from PostgreSQL 12 on it runs in a transaction.
 */
const OUTSIDE_TRANSACTION: readonly RegExp[] = [
    /^(CREATE|DROP) (DATABASE|TABLESPACE|SUBSCRIPTION)\b/,
    /^ALTER SYSTEM\b/,
    /^(CREATE|DROP)( UNIQUE)? INDEX CONCURRENTLY\b/,
    /^REINDEX( \([^)]*\))?( VERBOSE)? (SCHEMA|DATABASE|SYSTEM)\b/,
    /^REINDEX( \([^)]*\))?( VERBOSE)? (INDEX|TABLE|SCHEMA|DATABASE|SYSTEM) CONCURRENTLY\b/,
    /^VACUUM\b/,
    /^DISCARD ALL\b/,
];

/** A statement's words without comments, upper-cased, whitespace collapsed: what the rules above look at. */
function leadingWords(statement: string): string {
    return statement
        .replace(/--[^\n]*/g, " ")
        .replace(/\/\*[\s\S]*?\*\//g, " ")
        .replace(/\s+/g, " ")
        .trim()
        .slice(0, 200)
        .toUpperCase();
}

/**
 * How a file's statements (as scanSql splits them) relate to transactions: those PostgreSQL runs only outside a
 * transaction block, and the others (each as its first 60 characters, for messages). A file with only the first kind runs outside a
 * transaction, as Flyway runs it; a file with both is refused unless its set allows mixing.
 */
export function transactionNeeds(statements: readonly string[]): { outside: string[]; inside: string[] } {
    const outside: string[] = [];
    const inside: string[] = [];
    for (const statement of statements) {
        const words = leadingWords(statement);
        (OUTSIDE_TRANSACTION.some((r) => r.test(words)) ? outside : inside).push(words.slice(0, 60));
    }
    return { outside, inside };
}

/**
 * Splits SQL into statements on top-level semicolons, respecting quotes, dollar quotes and comments. Also reports
 * psql meta-commands (a backslash command at the start of a line, or COPY ... FROM STDIN), which the server
 * cannot run. Returns statements without trailing semicolons, empty ones dropped.
 */
export function scanSql(sql: string): { statements: string[]; metaCommands: { line: number; text: string }[] } {
    const statements: string[] = [];
    const metaCommands: { line: number; text: string }[] = [];
    let start = 0;
    let i = 0;
    let line = 1;
    let atLineStart = true;
    const n = sql.length;
    const push = (end: number) => {
        const s = sql.slice(start, end).trim();
        if (s && !/^(--[^\n]*\n?\s*)*$/.test(s)) statements.push(s);
    };
    while (i < n) {
        const c = sql[i];
        if (c === "\n") {
            line++;
            atLineStart = true;
            i++;
            continue;
        }
        if (atLineStart && c === "\\") {
            const end = sql.indexOf("\n", i);
            metaCommands.push({ line, text: sql.slice(i, end < 0 ? n : end).trim() });
        }
        if (c !== " " && c !== "\t" && c !== "\r") atLineStart = false;
        if (c === "-" && sql[i + 1] === "-") {
            const e = sql.indexOf("\n", i);
            i = e < 0 ? n : e;
            continue;
        }
        if (c === "/" && sql[i + 1] === "*") {
            let depth = 1;
            i += 2;
            while (i < n && depth > 0) {
                if (sql[i] === "\n") line++;
                if (sql[i] === "/" && sql[i + 1] === "*") {
                    depth++;
                    i += 2;
                } else if (sql[i] === "*" && sql[i + 1] === "/") {
                    depth--;
                    i += 2;
                } else i++;
            }
            continue;
        }
        if (c === "'" || c === '"') {
            // E'...' strings take backslash escapes, so \' does not end them.
            const escapes = c === "'" && /[eE]/.test(sql[i - 1] ?? "") && !/[A-Za-z0-9_$]/.test(sql[i - 2] ?? "");
            i++;
            while (i < n) {
                if (sql[i] === "\n") line++;
                if (escapes && sql[i] === "\\") {
                    if (sql[i + 1] === "\n") line++;
                    i += 2;
                    continue;
                }
                if (sql[i] === c) {
                    if (sql[i + 1] === c) {
                        i += 2;
                        continue;
                    }
                    break;
                }
                i++;
            }
            i++;
            continue;
        }
        if (c === "$") {
            const m = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i, i + 64));
            if (m && !/[A-Za-z0-9_]/.test(sql[i - 1] ?? "")) {
                const tag = m[0];
                const end = sql.indexOf(tag, i + tag.length);
                const stop = end < 0 ? n : end + tag.length;
                for (let k = i; k < stop; k++) if (sql[k] === "\n") line++;
                i = stop;
                continue;
            }
        }
        if (c === ";") {
            push(i);
            start = i + 1;
        }
        i++;
    }
    push(n);
    for (const s of statements) {
        const body = s.replace(/^(\s*(--[^\n]*\n|\/\*[\s\S]*?\*\/))*\s*/, "");
        if (/^copy\b[\s\S]*\bfrom\s+stdin\b/i.test(body)) {
            const at = sql.indexOf(s);
            metaCommands.push({ line: sql.slice(0, at).split("\n").length, text: body.split("\n")[0].slice(0, 80) });
        }
    }
    return { statements, metaCommands };
}

/**
 * Flyway's placeholder replacement: every `<prefix><name><suffix>` in the text (comments and strings too, as Flyway
 * does) whose name has a value is replaced by it; the others are reported with their line and left as written.
 */
export function replacePlaceholders(
    sql: string,
    values: Record<string, string>,
    prefix: string,
    suffix: string,
): { sql: string; undefinedNames: { line: number; name: string; text: string }[] } {
    const undefinedNames: { line: number; name: string; text: string }[] = [];
    const esc = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    const re = new RegExp(`${esc(prefix)}([A-Za-z0-9_.:\\-]+)${esc(suffix)}`, "g");
    const out = sql.replace(re, (text, name: string, offset: number) => {
        if (Object.prototype.hasOwnProperty.call(values, name)) return values[name];
        undefinedNames.push({ line: sql.slice(0, offset).split("\n").length, name, text });
        return text;
    });
    return { sql: out, undefinedNames };
}
