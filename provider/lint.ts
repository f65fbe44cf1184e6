/**
 * A lint of the migration SQL about to run: it names the statements that lose data or lock a busy table, so a
 * reviewer sees them in the preview before `pulumi up` runs them. Pure: text in, findings out.
 *
 * What it looks at, and what it leaves alone:
 * - Statements as `scanSql` splits them; inside each, comments and string literals are skipped token by token, so
 *   they never trigger a rule. Keywords are matched case-insensitively, across any whitespace or line breaks.
 * - A function or procedure body (`CREATE FUNCTION … AS $$ … $$`, `BEGIN ATOMIC … END`) runs only when called,
 *   so it is not linted. A `DO` block runs now, so its PL/pgSQL body is: each SQL statement in it (after `BEGIN`,
 *   `THEN`, `ELSE`, `LOOP`) is linted like a top-level one. SQL built in a string for `EXECUTE` cannot be read
 *   and is not linted.
 * - A table is "new" when a `CREATE TABLE` (or `CREATE TABLE … AS`, or a `CREATE SCHEMA` of its schema) earlier in
 *   the same batch made it: changing, filling, emptying or dropping a new table risks nobody's data, so every
 *   table rule is quiet on it. `CREATE … IF NOT EXISTS` does not make a table or schema new: the statement itself
 *   says it may already exist, with rows. A table renamed in the batch keeps its newness under its new name. So
 *   `DROP TABLE [IF EXISTS]` of a table the batch created (a staging table, say) is quiet: no data that existed
 *   before the batch goes with it.
 * - Names: an unquoted name is folded to lower case, a quoted one kept as written, and an unqualified one is taken
 *   to be in `defaultSchema` ("public" unless given; `SET search_path` is not followed). So `users`, `"users"`
 *   and `public.users` are one table; `"Users"` is another.
 * - `CREATE INDEX … ON ONLY parent` is quiet: it is how a partitioned table is indexed without a long lock.
 * - `ALTER COLUMN … SET NOT NULL` is quiet when the same batch added a `CHECK (col IS NOT NULL)` constraint on that
 *   column and validated it (PostgreSQL 12+ then skips the scan).
 * - A comment `-- bootstrap:allow <rule> [<rule> …]` inside a statement, on the lines just above it, or after its
 *   `;` on its last line, allows those rules for that statement only; `options.allow` allows them for the batch.
 */
import { scanSql } from "./migrations";

/** Every rule, in the order provider/README.md lists them. */
export const LINT_RULES = [
    "drop-table",
    "drop-column",
    "drop-schema",
    "drop-database",
    "type-change",
    "set-not-null",
    "not-null-column-without-default",
    "index-without-concurrently",
    "constraint-without-not-valid",
    "truncate",
    "delete-without-where",
    "update-without-where",
    "rename-table",
    "rename-column",
] as const;

export type LintRule = (typeof LINT_RULES)[number];

export interface LintFinding {
    /** The migration set's name. */
    set: string;
    /** The file's name, as given. */
    file: string;
    /** 1-based line of the statement's first keyword (not of a comment above it). */
    line: number;
    rule: LintRule;
    /** The object, the risk, and the safe way. */
    message: string;
}

export interface LintOptions {
    /** Rules that report nothing for this batch. @default [] */
    allow?: LintRule[];
    /** The schema unqualified table names are taken to be in. @default "public" */
    defaultSchema?: string;
}

/** The comment that allows rules for one statement. */
export const LINT_ALLOW_MARKER = "bootstrap:allow";

/**
 * Lints the files about to run, in run order. Tables created earlier in the same batch are new, so changing them is
 * not risky. Findings come in file order, then line order.
 */
export function lintMigrations(
    set: string,
    files: { file: string; sql: string }[],
    options: LintOptions = {},
): LintFinding[] {
    const allowed = new Set<string>(options.allow ?? []);
    const batch = new Batch(options.defaultSchema ?? "public");
    const findings: LintFinding[] = [];
    for (const { file, sql } of files) {
        const lines = new LineIndex(sql);
        const statements = locate(sql);
        const allows = statements.map(() => new Set<string>());
        const marked = MARKER.test(sql);
        for (const c of marked ? tokenize(sql, 0).comments : []) {
            const rules = allowedBy(c.text);
            if (rules.length === 0) continue;
            // A comment belongs to the statement holding it; else to the one whose last line it ends; else the next.
            let owner = statements.findIndex((s) => s.start <= c.at && c.at < s.end);
            if (owner < 0) {
                const next = statements.findIndex((s) => s.start > c.at);
                const prev = (next < 0 ? statements.length : next) - 1;
                owner = prev >= 0 && lines.lineOf(statements[prev].end - 1) === lines.lineOf(c.at) ? prev : next;
            }
            if (owner >= 0) for (const rule of rules) allows[owner].add(rule);
        }
        let inAtomicBody = false;
        statements.forEach((s, k) => {
            // scanSql splits a `BEGIN ATOMIC … END` body at its semicolons: skip the pieces up to the lone END.
            if (inAtomicBody) {
                if (s.tokens.length === 1 && s.tokens[0].upper === "END") inAtomicBody = false;
                return;
            }
            if (opensAtomicBody(s.tokens)) {
                inAtomicBody = true;
                return;
            }
            const emit = (rule: LintRule, at: number, message: string) => {
                if (allowed.has(rule) || allows[k].has(rule)) return;
                findings.push({ set, file, line: lines.lineOf(at), rule, message });
            };
            lintStatement(s.tokens, batch, emit, (extra) => {
                for (const rule of extra) allows[k].add(rule);
            });
        });
    }
    return findings;
}

// ---------------------------------------------------------------------------------------------------------------
// Tokens

interface Token {
    kind: "word" | "ident" | "string" | "dollar" | "number" | "punct";
    /** Upper-cased word, or the punctuation character; "" for the other kinds. */
    upper: string;
    /** An identifier's name (a word folded to lower case, a quoted identifier unquoted), a dollar quote's body. */
    value: string;
    /** The token as written. */
    text: string;
    /** Offset in the file. */
    at: number;
    /** Parenthesis depth outside the token (so a "(" and its ")" have the same depth). */
    depth: number;
    /** Where a dollar quote's body starts in the file. */
    bodyAt?: number;
}

interface Comment {
    text: string;
    at: number;
}

/** Tokenises `text`, which starts at offset `base` of its file. Comments are returned apart. */
function tokenize(text: string, base: number): { tokens: Token[]; comments: Comment[] } {
    const tokens: Token[] = [];
    const comments: Comment[] = [];
    const n = text.length;
    let depth = 0;
    let i = 0;
    const push = (kind: Token["kind"], start: number, end: number, value = "", upper = "") => {
        const t: Token = { kind, upper, value, text: text.slice(start, end), at: base + start, depth };
        if (kind === "punct" && upper === ")") t.depth = depth = Math.max(0, depth - 1);
        tokens.push(t);
        if (kind === "punct" && upper === "(") depth++;
    };
    // A quoted run from the quote at `i`: returns the offset after the closing quote and the unescaped content.
    const quoted = (q: string, backslashes: boolean): [number, string] => {
        let j = i + 1;
        let content = "";
        while (j < n) {
            if (backslashes && text[j] === "\\") {
                content += text.slice(j, j + 2);
                j += 2;
                continue;
            }
            if (text[j] === q) {
                if (text[j + 1] === q) {
                    content += q;
                    j += 2;
                    continue;
                }
                return [j + 1, content];
            }
            content += text[j++];
        }
        return [n, content];
    };
    while (i < n) {
        const c = text[i];
        if (c === " " || c === "\n" || c === "\t" || c === "\r" || c === "\f") {
            i++;
            continue;
        }
        if (c === "-" && text[i + 1] === "-") {
            const e = text.indexOf("\n", i);
            const end = e < 0 ? n : e;
            comments.push({ text: text.slice(i, end), at: base + i });
            i = end;
            continue;
        }
        if (c === "/" && text[i + 1] === "*") {
            const start = i;
            let d = 1;
            i += 2;
            while (i < n && d > 0) {
                if (text[i] === "/" && text[i + 1] === "*") {
                    d++;
                    i += 2;
                } else if (text[i] === "*" && text[i + 1] === "/") {
                    d--;
                    i += 2;
                } else i++;
            }
            comments.push({ text: text.slice(start, i), at: base + start });
            continue;
        }
        if (c === "'") {
            const start = i;
            const [end] = quoted("'", false);
            push("string", start, end);
            i = end;
            continue;
        }
        if (c === '"') {
            const start = i;
            const [end, name] = quoted('"', false);
            push("ident", start, end, name);
            i = end;
            continue;
        }
        if (c === "$") {
            const m = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(text.slice(i, i + 64));
            if (m) {
                const close = text.indexOf(m[0], i + m[0].length);
                const end = close < 0 ? n : close + m[0].length;
                push("dollar", i, end, text.slice(i + m[0].length, close < 0 ? n : close));
                tokens[tokens.length - 1].bodyAt = base + i + m[0].length;
                i = end;
                continue;
            }
            let j = i + 1;
            while (j < n && /[0-9]/.test(text[j])) j++;
            push("punct", i, j, "", "$");
            i = j;
            continue;
        }
        if (isWordStart(text.charCodeAt(i))) {
            let j = i + 1;
            while (j < n && (isWordStart(text.charCodeAt(j)) || isDigit(text.charCodeAt(j)) || text[j] === "$")) j++;
            const word = text.slice(i, j);
            // A prefixed string: E'…' (backslash escapes), B'…', X'…', N'…', U&'…'.
            if (text[j] === "'" && /^[EeBbXxNn]$/.test(word)) {
                const start = i;
                i = j;
                const [end] = quoted("'", /^[Ee]$/.test(word));
                push("string", start, end);
                i = end;
                continue;
            }
            if (/^[Uu]$/.test(word) && text[j] === "&" && (text[j + 1] === "'" || text[j + 1] === '"')) {
                const start = i;
                i = j + 1;
                const [end, name] = quoted(text[j + 1], false);
                if (text[j + 1] === "'") push("string", start, end);
                else push("ident", start, end, name);
                i = end;
                continue;
            }
            push("word", i, j, word.toLowerCase(), word.toUpperCase());
            i = j;
            continue;
        }
        if (isDigit(text.charCodeAt(i)) || (c === "." && isDigit(text.charCodeAt(i + 1)))) {
            let j = i + 1;
            while (j < n && /[0-9.eE_]/.test(text[j])) j++;
            push("number", i, j);
            i = j;
            continue;
        }
        push("punct", i, i + 1, "", c);
        i++;
    }
    return { tokens, comments };
}

function isWordStart(code: number): boolean {
    return (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 95 || code >= 128;
}

function isDigit(code: number): boolean {
    return code >= 48 && code <= 57;
}

/** A statement's tokens, and the offsets of its first token and of its end (its `;`, or the end of the file). */
interface Located {
    tokens: Token[];
    start: number;
    end: number;
}

/** The file's statements (as scanSql splits them) with their tokens and comments, in file offsets. */
function locate(sql: string): Located[] {
    const out: Located[] = [];
    let from = 0;
    for (const statement of scanSql(sql).statements) {
        const at = sql.indexOf(statement, from);
        const start = at < 0 ? from : at;
        from = start + statement.length;
        const { tokens } = tokenize(statement, start);
        if (tokens.length > 0) out.push({ tokens, start: tokens[0].at, end: from });
    }
    return out;
}

/** Offsets to 1-based line numbers. */
class LineIndex {
    private readonly starts: number[] = [0];
    constructor(text: string) {
        for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) this.starts.push(i + 1);
    }
    lineOf(offset: number): number {
        let lo = 0;
        let hi = this.starts.length - 1;
        while (lo < hi) {
            const mid = (lo + hi + 1) >> 1;
            if (this.starts[mid] <= offset) lo = mid;
            else hi = mid - 1;
        }
        return lo + 1;
    }
}

const MARKER = /bootstrap\s*:\s*allow\b/i;

function allowedBy(comment: string): LintRule[] {
    const m = new RegExp(`${MARKER.source}([^\\n*]*)`, "i").exec(comment);
    if (!m) return [];
    const words = m[1].toLowerCase().split(/[\s,]+/);
    return LINT_RULES.filter((r) => words.includes(r));
}

function opensAtomicBody(tokens: Token[]): boolean {
    const w = tokens.filter((t) => t.depth === 0).map((t) => t.upper);
    const routine = w[0] === "CREATE" && (w.includes("FUNCTION") || w.includes("PROCEDURE"));
    return routine && w.some((x, i) => x === "BEGIN" && w[i + 1] === "ATOMIC") && w[w.length - 1] !== "END";
}

// ---------------------------------------------------------------------------------------------------------------
// What the batch has made so far

class Batch {
    readonly tables = new Set<string>();
    readonly schemas = new Set<string>();
    readonly databases = new Set<string>();
    /** "table\0constraint" → the column a `CHECK (col IS NOT NULL)` constraint covers. */
    readonly notNullChecks = new Map<string, string>();
    /** "table\0column" with a validated not-null check. */
    readonly checkedNotNull = new Set<string>();
    constructor(readonly defaultSchema: string) {}

    isNewTable(key: string): boolean {
        return this.tables.has(key) || this.schemas.has(key.slice(0, key.indexOf("\0")));
    }
}

interface Name {
    key: string;
    shown: string;
}

/** Reads a possibly qualified name at `i`: the name (or null) and the index after it. */
function readName(tokens: Token[], i: number, batch: Batch): [Name | null, number] {
    const parts: Token[] = [];
    let j = i;
    while (j < tokens.length && (tokens[j].kind === "word" || tokens[j].kind === "ident")) {
        parts.push(tokens[j]);
        if (tokens[j + 1]?.upper === "." && tokens[j + 2]) j += 2;
        else {
            j++;
            break;
        }
    }
    if (parts.length === 0) return [null, i];
    const names = parts.map((p) => p.value);
    const table = names[names.length - 1];
    const schema = names.length >= 2 ? names[names.length - 2] : batch.defaultSchema;
    return [{ key: `${schema}\0${table}`, shown: parts.map((p) => p.text).join(".") }, j];
}

/** Skips the listed optional words in order at `i` (each at most once), returning the new index. */
function skip(tokens: Token[], i: number, ...words: string[]): number {
    for (const w of words) {
        const seq = w.includes(" ") ? w.split(" ") : [w];
        if (seq.every((s, k) => tokens[i + k]?.upper === s)) i += seq.length;
    }
    return i;
}

/** Tokens as SQL text, spaced the usual way: `numeric(10, 2)`, `public.users`. */
function show(tokens: Token[]): string {
    let out = "";
    tokens.forEach((t, k) => {
        const prev = tokens[k - 1];
        const tight =
            !prev ||
            [".", "(", "["].includes(prev.upper) ||
            [".", ")", ",", "]"].includes(t.upper) ||
            (["(", "["].includes(t.upper) && prev.kind !== "punct");
        out += (tight ? "" : " ") + t.text;
    });
    return out;
}

/** Splits a token run at commas of depth `depth`. */
function splitAtCommas(tokens: Token[], depth: number): Token[][] {
    const parts: Token[][] = [[]];
    for (const t of tokens) {
        if (t.upper === "," && t.depth === depth) parts.push([]);
        else parts[parts.length - 1].push(t);
    }
    return parts.filter((p) => p.length > 0);
}

// ---------------------------------------------------------------------------------------------------------------
// Rules

type Emit = (rule: LintRule, at: number, message: string) => void;

const ALLOW_HINT = (rule: LintRule) =>
    `If intended, allow it with a "-- ${LINT_ALLOW_MARKER} ${rule}" comment on the statement, or allow the rule for the set.`;

function lintStatement(tokens: Token[], batch: Batch, emit: Emit, allowMore: (rules: LintRule[]) => void): void {
    if (tokens.length === 0) return;
    const w = (k: number) => tokens[k]?.upper ?? "";
    const at = tokens[0].at;
    switch (w(0)) {
        case "CREATE":
            return lintCreate(tokens, batch, emit, at);
        case "DROP":
            return lintDrop(tokens, batch, emit, at);
        case "ALTER":
            if (w(1) === "TABLE") lintAlterTable(tokens, batch, emit, at);
            return;
        case "TRUNCATE":
            return lintTruncate(tokens, batch, emit, at);
        case "DELETE":
            return lintDelete(tokens, batch, emit, at);
        case "UPDATE":
            return lintUpdate(tokens, batch, emit, at);
        case "WITH":
            return lintWith(tokens, batch, emit, allowMore);
        case "DO":
            return lintDo(tokens, batch, emit, allowMore);
        default:
            return;
    }
}

function lintCreate(tokens: Token[], batch: Batch, emit: Emit, at: number): void {
    let i = skip(tokens, 1, "OR REPLACE");
    i = skip(tokens, i, "GLOBAL", "LOCAL", "TEMPORARY", "TEMP", "UNLOGGED");
    const what = tokens[i]?.upper;
    if (what === "TABLE") {
        const ifNotExists = tokens[i + 1]?.upper === "IF";
        const [name] = readName(tokens, skip(tokens, i + 1, "IF NOT EXISTS"), batch);
        if (name && !ifNotExists) batch.tables.add(name.key);
    } else if (what === "SCHEMA") {
        const ifNotExists = tokens[i + 1]?.upper === "IF";
        let j = skip(tokens, i + 1, "IF NOT EXISTS");
        // CREATE SCHEMA AUTHORIZATION role names the schema after the role.
        if (tokens[j]?.upper === "AUTHORIZATION") j++;
        const name = tokens[j];
        if (name && (name.kind === "word" || name.kind === "ident") && !ifNotExists) batch.schemas.add(name.value);
    } else if (what === "DATABASE") {
        const name = tokens[i + 1];
        if (name && (name.kind === "word" || name.kind === "ident")) batch.databases.add(name.value);
    } else if (what === "UNIQUE" || what === "INDEX") {
        const j = skip(tokens, i, "UNIQUE", "INDEX");
        const concurrently = tokens[j]?.upper === "CONCURRENTLY";
        const on = tokens.findIndex((t, k) => k >= j && t.upper === "ON" && t.depth === 0);
        if (on < 0) return;
        // ON ONLY is the first step of indexing a partitioned table (pg_dump writes it for those only): it builds
        // nothing, the partitions are then indexed one by one and attached.
        if (tokens[on + 1]?.upper === "ONLY") return;
        const [table] = readName(tokens, on + 1, batch);
        if (!table || concurrently || batch.isNewTable(table.key)) return;
        const index = tokens
            .slice(j, on)
            .find(
                (t) =>
                    (t.kind === "word" || t.kind === "ident") &&
                    !["IF", "NOT", "EXISTS", "CONCURRENTLY"].includes(t.upper),
            );
        emit(
            "index-without-concurrently",
            at,
            `CREATE INDEX${index ? ` ${index.text}` : ""} on existing table ${table.shown} without CONCURRENTLY blocks writes to the table ` +
                `until the index is built. Safe way: CREATE INDEX CONCURRENTLY in a file of its own (it runs outside a transaction). ` +
                ALLOW_HINT("index-without-concurrently"),
        );
    }
}

function lintDrop(tokens: Token[], batch: Batch, emit: Emit, at: number): void {
    const what = tokens[1]?.upper;
    if (what !== "TABLE" && what !== "SCHEMA" && what !== "DATABASE") return;
    const start = skip(tokens, 2, "IF EXISTS");
    const names = splitAtCommas(tokens.slice(start), 0);
    for (const part of names) {
        if (what === "TABLE") {
            const [name] = readName(part, 0, batch);
            if (!name) continue;
            if (batch.isNewTable(name.key)) {
                batch.tables.delete(name.key);
                continue;
            }
            emit(
                "drop-table",
                at,
                `DROP TABLE ${name.shown} deletes the table and every row in it; no later migration can bring them back. ` +
                    `Safe way: stop the application using it first, keep a backup (or rename it and drop it in a later release). ` +
                    ALLOW_HINT("drop-table"),
            );
        } else if (what === "SCHEMA") {
            const name = part[0];
            if (!name || (name.kind !== "word" && name.kind !== "ident")) continue;
            if (batch.schemas.has(name.value)) {
                batch.schemas.delete(name.value);
                for (const key of [...batch.tables]) if (key.startsWith(`${name.value}\0`)) batch.tables.delete(key);
                continue;
            }
            const cascade = tokens.some((t) => t.upper === "CASCADE" && t.depth === 0);
            emit(
                "drop-schema",
                at,
                `DROP SCHEMA ${name.text}${cascade ? " CASCADE deletes every table in it with its rows" : " deletes the schema (and, with CASCADE, every table in it)"}. ` +
                    `Safe way: move or back up what it holds first, and drop it in a release of its own. ` +
                    ALLOW_HINT("drop-schema"),
            );
        } else {
            const name = part[0];
            if (!name || (name.kind !== "word" && name.kind !== "ident")) continue;
            if (batch.databases.has(name.value)) {
                batch.databases.delete(name.value);
                continue;
            }
            emit(
                "drop-database",
                at,
                `DROP DATABASE ${name.text} deletes the whole database and all its data. ` +
                    `Safe way: back it up and drop it by hand, outside the migrations. ` +
                    ALLOW_HINT("drop-database"),
            );
        }
    }
}

function lintAlterTable(tokens: Token[], batch: Batch, emit: Emit, at: number): void {
    let i = skip(tokens, 2, "IF EXISTS", "ONLY");
    const [table, after] = readName(tokens, i, batch);
    if (!table) return;
    i = skip(tokens, after, "*");
    const isNew = batch.isNewTable(table.key);
    const actions = splitAtCommas(tokens.slice(i), 0);
    for (const a of actions) {
        const w = (k: number) => a[k]?.upper ?? "";
        if (w(0) === "RENAME") {
            if (w(1) === "TO") {
                const [to] = readName(a, 2, batch);
                if (!to) continue;
                // RENAME TO takes an unqualified name; the table stays in its schema.
                const newKey = table.key.slice(0, table.key.indexOf("\0") + 1) + to.key.slice(to.key.indexOf("\0") + 1);
                if (isNew) {
                    batch.tables.delete(table.key);
                    batch.tables.add(newKey);
                    continue;
                }
                emit(
                    "rename-table",
                    at,
                    `Renaming existing table ${table.shown} to ${to.shown} breaks every running query that names ${table.shown} ` +
                        `(the application version still deployed during the rollout). Safe way: create a view with the old name, ` +
                        `or add the new name first and move the application over before removing the old one. ` +
                        ALLOW_HINT("rename-table"),
                );
            } else if (w(1) !== "CONSTRAINT") {
                const k = skip(a, 1, "COLUMN");
                const from = a[k];
                const to = a[k + 2];
                if (isNew || !from || !to) continue;
                emit(
                    "rename-column",
                    at,
                    `Renaming column ${table.shown}.${from.text} to ${to.text} breaks every running query that names it ` +
                        `(the application version still deployed during the rollout). Safe way: add the new column, write to both, ` +
                        `move reads over, then drop the old one in a later release. ` +
                        ALLOW_HINT("rename-column"),
                );
            }
            continue;
        }
        if (w(0) === "DROP" && w(1) !== "CONSTRAINT") {
            const k = skip(a, skip(a, 1, "COLUMN"), "IF EXISTS");
            const column = a[k];
            if (isNew || !column) continue;
            emit(
                "drop-column",
                at,
                `Dropping column ${table.shown}.${column.text} deletes its data in every row, and breaks running queries that ` +
                    `still name it. Safe way: stop the application reading and writing it first (a release without it), keep a ` +
                    `backup, then drop it. ` +
                    ALLOW_HINT("drop-column"),
            );
            continue;
        }
        if (w(0) === "ALTER") {
            const k = skip(a, 1, "COLUMN");
            const column = a[k];
            if (!column) continue;
            const rest = skip(a, k + 1, "SET DATA");
            if (a[rest]?.upper === "TYPE") {
                if (isNew) continue;
                const type = a.slice(rest + 1);
                const until = type.findIndex((t) => t.depth === 0 && (t.upper === "USING" || t.upper === "COLLATE"));
                const shownType = show(until < 0 ? type : type.slice(0, until));
                emit(
                    "type-change",
                    at,
                    `Changing the type of ${table.shown}.${column.text} to ${shownType || "a new type"} can rewrite the whole table ` +
                        `under an ACCESS EXCLUSIVE lock (no reads or writes meanwhile), and fails or loses precision if a value does not fit. ` +
                        `Safe way: add a column of the new type, backfill it in batches, switch the application over, then drop the old column. ` +
                        ALLOW_HINT("type-change"),
                );
            } else if (a[k + 1]?.upper === "SET" && a[k + 2]?.upper === "NOT" && a[k + 3]?.upper === "NULL") {
                if (isNew || batch.checkedNotNull.has(`${table.key}\0${column.value}`)) continue;
                emit(
                    "set-not-null",
                    at,
                    `SET NOT NULL on ${table.shown}.${column.text} scans the whole table under an ACCESS EXCLUSIVE lock, and fails if ` +
                        `a row holds NULL. Safe way: ADD CONSTRAINT … CHECK (${column.text} IS NOT NULL) NOT VALID, then VALIDATE CONSTRAINT ` +
                        `(no exclusive lock), then SET NOT NULL (PostgreSQL 12+ skips the scan). ` +
                        ALLOW_HINT("set-not-null"),
                );
            }
            continue;
        }
        if (w(0) === "VALIDATE" && w(1) === "CONSTRAINT" && a[2]) {
            const column = batch.notNullChecks.get(`${table.key}\0${a[2].value}`);
            if (column !== undefined) batch.checkedNotNull.add(`${table.key}\0${column}`);
            continue;
        }
        if (w(0) === "ADD") {
            lintAdd(a, table, isNew, batch, emit, at);
        }
    }
}

const TABLE_CONSTRAINT_WORDS = ["CONSTRAINT", "CHECK", "FOREIGN", "PRIMARY", "UNIQUE", "EXCLUDE"];
const SERIAL_TYPES = ["SERIAL", "BIGSERIAL", "SMALLSERIAL", "SERIAL2", "SERIAL4", "SERIAL8"];

function lintAdd(a: Token[], table: Name, isNew: boolean, batch: Batch, emit: Emit, at: number): void {
    const top = (from: number) => a.slice(from).filter((t) => t.depth === 0);
    if (a[1] && a[1].kind === "word" && TABLE_CONSTRAINT_WORDS.includes(a[1].upper)) {
        let k = 1;
        let constraint: Token | undefined;
        if (a[1].upper === "CONSTRAINT") {
            constraint = a[2];
            k = 3;
        }
        const kind = a[k]?.upper ?? "";
        const words = top(k).map((t) => t.upper);
        const notValid = words.some((x, j) => x === "NOT" && words[j + 1] === "VALID");
        if (kind === "CHECK" && constraint) {
            // CHECK ( col IS NOT NULL ), with any extra parentheses.
            const body = a.slice(k + 1).filter((t) => t.upper !== "(" && t.upper !== ")");
            const bodyEnd = body.findIndex((t) => t.depth === 0);
            const inner = bodyEnd < 0 ? body : body.slice(0, bodyEnd);
            if (
                inner.length === 4 &&
                (inner[0].kind === "word" || inner[0].kind === "ident") &&
                inner
                    .slice(1)
                    .map((t) => t.upper)
                    .join(" ") === "IS NOT NULL"
            ) {
                batch.notNullChecks.set(`${table.key}\0${constraint.value}`, inner[0].value);
                if (!notValid) batch.checkedNotNull.add(`${table.key}\0${inner[0].value}`);
            }
        }
        if (isNew) return;
        const named = constraint ? ` ${constraint.text}` : "";
        if ((kind === "CHECK" || kind === "FOREIGN") && !notValid) {
            emit(
                "constraint-without-not-valid",
                at,
                `Adding ${kind === "CHECK" ? "CHECK" : "FOREIGN KEY"} constraint${named} to existing table ${table.shown} checks every row ` +
                    `while holding a lock that blocks writes${kind === "FOREIGN" ? " (on the referenced table too)" : ""}. Safe way: ADD CONSTRAINT … NOT VALID, ` +
                    `then VALIDATE CONSTRAINT in a later statement (it lets writes through). ` +
                    ALLOW_HINT("constraint-without-not-valid"),
            );
        } else if (kind === "PRIMARY" || kind === "UNIQUE" || kind === "EXCLUDE") {
            // … USING INDEX name adopts an index built beforehand; USING INDEX TABLESPACE still builds one.
            const usingIndex = words.some(
                (x, j) => x === "USING" && words[j + 1] === "INDEX" && words[j + 2] !== "TABLESPACE",
            );
            if (usingIndex) return;
            emit(
                "index-without-concurrently",
                at,
                `Adding ${kind === "PRIMARY" ? "PRIMARY KEY" : kind} constraint${named} to existing table ${table.shown} builds its index ` +
                    `while blocking writes to the table. Safe way: CREATE UNIQUE INDEX CONCURRENTLY first (a file of its own), then ` +
                    `ADD CONSTRAINT … ${kind === "PRIMARY" ? "PRIMARY KEY" : "UNIQUE"} USING INDEX. ` +
                    ALLOW_HINT("index-without-concurrently"),
            );
        }
        return;
    }
    // A column: ADD [COLUMN] [IF NOT EXISTS] name type [constraints…]
    const k = skip(a, skip(a, 1, "COLUMN"), "IF NOT EXISTS");
    const column = a[k];
    if (!column || isNew) return;
    const words = top(k + 1).map((t) => t.upper);
    const notNull =
        words.some((x, j) => x === "NOT" && words[j + 1] === "NULL") ||
        words.some((x, j) => x === "PRIMARY" && words[j + 1] === "KEY");
    const filled = words.includes("DEFAULT") || words.includes("GENERATED") || SERIAL_TYPES.includes(words[0] ?? "");
    if (notNull && !filled) {
        emit(
            "not-null-column-without-default",
            at,
            `Adding NOT NULL column ${table.shown}.${column.text} without a DEFAULT fails as soon as the table has a row. ` +
                `Safe way: add it with a DEFAULT (no rewrite for a constant default on PostgreSQL 11+), or add it nullable, ` +
                `backfill it, then make it NOT NULL through a validated CHECK constraint. ` +
                ALLOW_HINT("not-null-column-without-default"),
        );
    }
}

function lintTruncate(tokens: Token[], batch: Batch, emit: Emit, at: number): void {
    const start = skip(tokens, 1, "TABLE");
    for (const part of splitAtCommas(tokens.slice(start), 0)) {
        const [name] = readName(part, skip(part, 0, "ONLY"), batch);
        if (!name || batch.isNewTable(name.key)) continue;
        emit(
            "truncate",
            at,
            `TRUNCATE ${name.shown} deletes every row of the table (and, with CASCADE, of the tables referencing it). ` +
                `Safe way: delete only the rows meant, with a WHERE clause, or back the table up first. ` +
                ALLOW_HINT("truncate"),
        );
    }
}

/** The target of DELETE FROM / UPDATE at `i`, and whether a WHERE follows at the statement's own depth. */
function targetAndWhere(tokens: Token[], i: number, batch: Batch): [Name | null, boolean] {
    const [name] = readName(tokens, skip(tokens, i, "ONLY"), batch);
    const depth = tokens[0]?.depth ?? 0;
    return [name, tokens.some((t) => t.upper === "WHERE" && t.depth === depth)];
}

function lintDelete(tokens: Token[], batch: Batch, emit: Emit, at: number): void {
    const [name, where] = targetAndWhere(tokens, skip(tokens, 1, "FROM"), batch);
    if (!name || where || batch.isNewTable(name.key)) return;
    emit(
        "delete-without-where",
        at,
        `DELETE FROM ${name.shown} without WHERE deletes every row of the table. ` +
            `Safe way: add a WHERE clause naming the rows meant (in batches on a large table). ` +
            ALLOW_HINT("delete-without-where"),
    );
}

function lintUpdate(tokens: Token[], batch: Batch, emit: Emit, at: number): void {
    const [name, where] = targetAndWhere(tokens, 1, batch);
    if (!name || where || batch.isNewTable(name.key)) return;
    emit(
        "update-without-where",
        at,
        `UPDATE ${name.shown} without WHERE rewrites every row of the table in one transaction, locking them all. ` +
            `Safe way: add a WHERE clause naming the rows meant, and backfill a large table in batches. ` +
            ALLOW_HINT("update-without-where"),
    );
}

/** WITH …: each CTE body (a data-modifying one runs too) and the main statement. */
function lintWith(tokens: Token[], batch: Batch, emit: Emit, allowMore: (rules: LintRule[]) => void): void {
    const depth = tokens[0].depth;
    let i = skip(tokens, 1, "RECURSIVE");
    while (i < tokens.length) {
        // name [(columns)] AS [NOT] [MATERIALIZED] ( body )
        let j = i + 1;
        if (tokens[j]?.upper === "(") j = closing(tokens, j) + 1;
        j = skip(tokens, j, "AS", "NOT", "MATERIALIZED");
        if (tokens[j]?.upper !== "(") return;
        const end = closing(tokens, j);
        const body = tokens.slice(j + 1, end);
        if (body.length > 0) lintStatement(body, batch, emit, allowMore);
        i = end + 1;
        if (tokens[i]?.upper === "," && tokens[i].depth === depth) {
            i++;
            continue;
        }
        break;
    }
    const main = tokens.slice(i);
    if (main.length > 0) lintStatement(main, batch, emit, allowMore);
}

function closing(tokens: Token[], open: number): number {
    const depth = tokens[open].depth;
    for (let k = open + 1; k < tokens.length; k++) if (tokens[k].upper === ")" && tokens[k].depth === depth) return k;
    return tokens.length;
}

const PLPGSQL_CONDITIONS = ["IF", "ELSIF", "ELSEIF", "WHEN", "CASE"];
const PLPGSQL_LOOPS = ["FOR", "FOREACH", "WHILE"];
const PLPGSQL_OPENERS = ["BEGIN", "ELSE", "LOOP", "EXCEPTION"];

/** DO [LANGUAGE plpgsql] $$ body $$: the SQL statements in a PL/pgSQL body, linted as top-level ones. */
function lintDo(tokens: Token[], batch: Batch, emit: Emit, allowMore: (rules: LintRule[]) => void): void {
    const language = tokens.findIndex((t) => t.upper === "LANGUAGE");
    const named = tokens[language + 1];
    if (
        language >= 0 &&
        named &&
        (named.kind === "string" ? named.text.slice(1, -1) : named.value).toLowerCase() !== "plpgsql"
    )
        return;
    const body = tokens.find((t, k) => t.kind === "dollar" || (t.kind === "string" && k !== language + 1));
    if (!body) return;
    let bodyText: string;
    let bodyAt: number;
    if (body.kind === "dollar") {
        bodyText = body.value;
        bodyAt = body.bodyAt ?? body.at;
    } else {
        // DO '…': the body is a string literal with doubled quotes; offsets stay exact only without them.
        bodyText = body.text.slice(1, -1);
        if (bodyText.includes("''")) return;
        bodyAt = body.at + 1;
    }
    const { tokens: inner, comments } = tokenize(bodyText, bodyAt);
    allowMore(comments.flatMap((c) => allowedBy(c.text)));
    let piece: Token[] = [];
    const flush = () => {
        if (piece.length > 0) lintStatement(piece, batch, emit, allowMore);
        piece = [];
    };
    for (const t of inner) {
        if (t.upper === ";" && t.depth === 0) {
            flush();
            continue;
        }
        if (piece.length === 0 && t.kind === "word" && PLPGSQL_OPENERS.includes(t.upper)) continue;
        const lead = piece[0]?.upper ?? "";
        if (t.upper === "THEN" && t.depth === 0 && PLPGSQL_CONDITIONS.includes(lead)) {
            piece = [];
            continue;
        }
        if (t.upper === "LOOP" && t.depth === 0 && PLPGSQL_LOOPS.includes(lead)) {
            piece = [];
            continue;
        }
        piece.push(t);
        // A <<label>> before a block or loop.
        if (piece.length === 5 && piece.map((p) => p.upper).join(" ") === `< < ${piece[2].upper} > >`) piece = [];
    }
    flush();
}
