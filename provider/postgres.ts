/**
 * The thin I/O layer: connect (with the readiness wait), take the bootstrap's advisory lock, read the actual
 * state, and carry out a plan's steps. Clients are created and ended inside each call; nothing is kept between
 * calls, so the provider serializes cleanly.
 */
import type { Client as PgClient, ClientConfig } from "pg";
import { createHash } from "crypto";
import {
    historyTableOf,
    managedPrivilegeRoles,
    MigrationTimeouts,
    PRIVILEGE_PRESETS,
    privilegeCreators,
    privilegeSchemas,
    Step,
    timeoutSql,
} from "./plan";
import { saslPrepMayDisagree, verifierMatches } from "./scram";
import { ActualState, BootstrapInputs, ConnectionSpec, RolePrivileges, SchemaPrivileges, WaitSpec } from "./types";

/** Log sink: one line per call, never SQL text (it may carry password verifiers). */
export type Log = (line: string) => void;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function clientConfig(c: ConnectionSpec, database: string, connectTimeoutMs: number): ClientConfig {
    const ssl =
        c.tls.mode === "disable"
            ? false
            : c.tls.mode === "require"
              ? { rejectUnauthorized: false }
              : { rejectUnauthorized: true, ...(c.tls.ca ? { ca: c.tls.ca } : {}) };
    return {
        host: c.host,
        port: c.port,
        user: c.user,
        password: c.password,
        database,
        ssl,
        connectionTimeoutMillis: Math.max(250, connectTimeoutMs),
        application_name: "pulumi-bootstrap",
        // TCP keepalive, probing after 10 s idle (pg's default 0 leaves the kernel's 2 hours): a server that vanished
        // without closing (host down, NAT state dropped) is noticed by the kernel's probes instead of leaving a call
        // waiting on a dead socket.
        keepAlive: true,
        keepAliveInitialDelayMillis: 10000,
    };
}

/** Errors that waiting will not fix: wrong password, no such role. */
function isPermanent(e: unknown): boolean {
    const code = (e as { code?: string }).code;
    return code === "28P01" || code === "28000";
}

/**
 * Connects and runs an authenticated `SELECT 1`, retrying with capped exponential backoff until the wait's
 * timeout. Fails with host:port, user and the last error (never the password).
 */
export async function connectWithWait(
    c: ConnectionSpec,
    database: string,
    wait: Pick<WaitSpec, "timeoutSeconds" | "maxBackoffMs">,
    log: Log,
    /** False for a second connection in a call whose first one already proved the server ready. */
    probe = true,
): Promise<PgClient> {
    const { Client } = require("pg") as typeof import("pg");
    const deadline = Date.now() + wait.timeoutSeconds * 1000;
    let backoff = 50;
    let attempts = 0;
    let lastError = "no attempt made";
    for (;;) {
        attempts++;
        const client = new Client(clientConfig(c, database, Math.min(5000, deadline - Date.now())));
        client.on("error", () => undefined); // a server going away must not crash the host; the query fails instead
        try {
            await client.connect();
            if (probe) await client.query("SELECT 1");
            if (attempts > 1) log(`postgres ${c.host}:${c.port} ready after ${attempts} attempts`);
            return client;
        } catch (e) {
            lastError = (e as Error).message;
            await client.end().catch(() => undefined);
            if (isPermanent(e)) {
                // A password SASLprep changes: the server may have stored the hash of it as typed (as libpq hashes it),
                // which this client's hash of the prepared form cannot match.
                const sasl =
                    (e as { code?: string }).code === "28P01" && saslPrepMayDisagree(c.password)
                        ? "; the password changes under SASLprep (non-ASCII spaces, invisible characters, compatibility forms) and keeps non-ASCII characters, so if the server stored it hashed as typed, this client cannot log in with it: set a password in the form SASLprep leaves it"
                        : "";
                throw new Error(
                    `cannot log in to postgres at ${c.host}:${c.port} database "${database}" as user "${c.user}": ${lastError}; check connection.user and connection.password${sasl}`,
                );
            }
        }
        const left = deadline - Date.now();
        if (left <= 0) {
            throw new Error(
                `postgres at ${c.host}:${c.port} (database "${database}", user "${c.user}") did not answer an authenticated SELECT 1 within ` +
                    `${wait.timeoutSeconds}s (${attempts} attempts); last error: ${lastError}. Check that the server runs and is reachable, or raise wait.timeoutSeconds`,
            );
        }
        await sleep(Math.min(backoff, left));
        backoff = Math.min(backoff * 2, wait.maxBackoffMs);
    }
}

/** The advisory lock key of a database's bootstrap: stable across processes and hosts. */
export function lockKey(database: string): string {
    return BigInt.asIntN(
        64,
        BigInt("0x" + createHash("sha256").update(`pulumi-bootstrap:${database}`).digest("hex").slice(0, 16)),
    ).toString();
}

/** The channel the lock holder notifies on release, so contenders wake at once instead of at their next poll. */
export function lockChannel(database: string): string {
    return `pulumi_bootstrap_${lockKey(database).replace("-", "n")}`;
}

/** SQL for the backend pid holding the exclusive form of advisory lock `key` in this database (null if none). */
function holderPid(key: string): string {
    // A bigint advisory key shows in pg_locks as classid (high 32 bits) and objid (low 32 bits), objsubid 1.
    return `(SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 1
        AND classid = ((${key}::bigint >> 32) & 4294967295)::oid AND objid = (${key}::bigint & 4294967295)::oid
        AND mode = 'ExclusiveLock' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))`;
}

/** How often a contender polls when no notification comes (a holder that crashed releases without one). */
const FALLBACK_POLL_MS = 250;

/**
 * Takes the bootstrap's session advisory lock by polling `pg_try_advisory_lock`; it never blocks inside a
 * statement (a waiting statement holds a snapshot and deadlocks a CREATE INDEX CONCURRENTLY run by the holder,
 * Flyway issue 1654). A contender LISTENs on the lock's channel and sleeps between polls until the holder's
 * release notification (or the fallback poll) wakes it:
 * - "announced": the holder's notification carries a completion digest that `announcedDone` accepts, i.e. it
 *   just completed exactly this bootstrap, so nothing is left to do and nothing needs reading;
 * - "done-by-another": otherwise the contender polls for the shared form of the lock, which it gets once the
 *   holder is done, together with the other contenders, and under it `isDone` read the state and found nothing
 *   left to do;
 * - "exclusive": this session holds the lock and does the work.
 */
export async function acquireLock(
    client: PgClient,
    database: string,
    timeoutSeconds: number,
    log: Log,
    isDone: () => Promise<boolean>,
    announcedDone: (payload: string) => boolean = () => false,
    /** Called once when this session starts waiting: the time to get ready to judge an announcement. */
    onWait: () => void = () => undefined,
): Promise<"exclusive" | "done-by-another" | "announced"> {
    const key = lockKey(database);
    const channel = lockChannel(database);
    const deadline = Date.now() + timeoutSeconds * 1000;
    let wake: (() => void) | undefined;
    let notified = false;
    let announced = false;
    // The backend that holds the exclusive lock as last seen: an announcement counts only from that session, so
    // a genuine one captured with LISTEN and replayed from another session is ignored.
    let holder: number | null = null;
    // Notifications that came before the first answer told us the holder (same socket read): judged once it has.
    let early: { processId: number; payload?: string }[] | undefined = [];
    const judge = (m: { processId: number; payload?: string }) => {
        try {
            if (m.payload && holder !== null && m.processId === holder && announcedDone(m.payload)) announced = true;
        } catch {
            // not an announcement this contender can use: it reads the state instead
        }
    };
    const onNotification = (m: { channel: string; payload?: string; processId: number }) => {
        if (m.channel !== channel) return;
        notified = true;
        if (early) early.push(m);
        else judge(m);
        wake?.();
    };
    client.on("notification", onNotification);
    try {
        // LISTEN first, in the same round trip, so a release between the two cannot go unnoticed. All three are
        // literals of our own making (a decimal key, a channel of letters, digits and underscores).
        const first = (await client.query(
            `LISTEN ${channel}; SELECT pg_try_advisory_lock(${key}::bigint) AS ok, ${holderPid(key)} AS holder`,
        )) as unknown as {
            rows: { ok: boolean; holder: number | null }[];
        }[];
        if (first[1].rows[0].ok) return "exclusive";
        holder = first[1].rows[0].holder;
        for (const m of early) judge(m);
        early = undefined;
        log(`another bootstrap of database ${database} holds the lock; waiting`);
        onWait();
        for (;;) {
            for (;;) {
                if (announced) return "announced";
                if (Date.now() > deadline) {
                    throw new Error(
                        `another bootstrap of database "${database}" held the advisory lock for more than ${timeoutSeconds}s; wait for it to finish or raise wait.lockTimeoutSeconds`,
                    );
                }
                if (!notified) {
                    await new Promise<void>((resolve) => {
                        const timer = setTimeout(resolve, FALLBACK_POLL_MS + Math.floor(Math.random() * 100));
                        wake = () => {
                            clearTimeout(timer);
                            resolve();
                        };
                    });
                    wake = undefined;
                    if (announced) return "announced";
                }
                notified = false;
                const s = await client.query<{ ok: boolean; holder: number | null }>(
                    `SELECT pg_try_advisory_lock_shared(${key}::bigint) AS ok, ${holderPid(key)} AS holder`,
                );
                holder = s.rows[0].holder; // the lock may have changed hands since
                if (s.rows[0].ok && announced)
                    await client.query("SELECT pg_advisory_unlock_shared($1::bigint)", [key]);
                if (announced) return "announced"; // it arrived while the poll was on its way
                if (s.rows[0].ok) break;
            }
            try {
                if (await isDone()) return "done-by-another";
            } finally {
                await client.query("SELECT pg_advisory_unlock_shared($1::bigint)", [key]);
            }
            const r = await client.query<{ ok: boolean }>("SELECT pg_try_advisory_lock($1::bigint) AS ok", [key]);
            if (r.rows[0].ok) return "exclusive"; // work is left and this contender won it
        }
    } finally {
        client.off("notification", onNotification);
    }
}

/**
 * Releases the exclusive lock and wakes the contenders, in one round trip. `completion` (a hex digest) tells them
 * which bootstrap was just completed; without it they read the state to find out.
 */
export async function releaseLock(client: PgClient, database: string, completion?: string): Promise<void> {
    const payload = completion && /^[0-9a-f]+$/.test(completion) ? `, '${completion}'` : "";
    await client.query(
        `SELECT pg_advisory_unlock(${lockKey(database)}::bigint); NOTIFY ${lockChannel(database)}${payload}`,
    );
}

/**
 * Ends a client once the call has answered, without waiting for the server to close the socket: that wait (~6 ms)
 * and the server process's exit are then off the call's critical path. Nothing else is sent on the client.
 */
export function endClient(client: PgClient | undefined): void {
    if (client) setImmediate(() => void client.end().catch(() => undefined));
}

/**
 * Reads what the plan needs: roles of interest, the database, its extensions and every set's history, in as few
 * round trips as it can (each costs most when ten bootstraps share two cores): roles and databases in one query,
 * stored passwords in a second (only when there are roles to check), and in the database the extensions with
 * which history tables exist, then all their rows at once.
 */
export async function readActualState(
    admin: PgClient,
    openDatabase: () => Promise<PgClient>,
    desired: BootstrapInputs,
    previous: BootstrapInputs | undefined,
): Promise<{ state: ActualState }> {
    type RoleRow = {
        name: string;
        login: boolean;
        createdb: boolean;
        connectionLimit: number;
        inherit: boolean;
        memberOf: string[];
        settings: string[] | null;
    };
    type DatabaseRow = { name: string; owner: string; encoding: string; collate: string; ctype: string };
    const names = [...new Set([...Object.keys(desired.roles), ...Object.keys(previous?.roles ?? {})])];
    const cluster = await admin.query<{
        roles: RoleRow[];
        databases: DatabaseRow[];
        encoding_name: string;
        public_connect: boolean;
        can_revoke: boolean;
    }>(
        `SELECT coalesce((SELECT json_agg(json_build_object('name', r.rolname, 'login', r.rolcanlogin, 'createdb', r.rolcreatedb,
                    'connectionLimit', r.rolconnlimit, 'inherit', r.rolinherit,
                    'memberOf', ARRAY(SELECT g.rolname::text FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid ORDER BY 1),
                    'settings', (SELECT s.setconfig FROM pg_db_role_setting s WHERE s.setrole = r.oid AND s.setdatabase = 0)))
                  FROM pg_roles r WHERE r.rolname = ANY($1::text[])), '[]') AS roles,
                coalesce((SELECT json_agg(json_build_object('name', datname, 'owner', pg_get_userbyid(datdba), 'encoding', pg_encoding_to_char(encoding),
                    'collate', datcollate, 'ctype', datctype))
                  FROM pg_database WHERE datname = ANY($2::text[])), '[]') AS databases,
                pg_encoding_to_char(pg_char_to_encoding($3)) AS encoding_name,
                EXISTS (SELECT 1 FROM pg_database d, aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) a
                  WHERE d.datname = current_database() AND a.grantee = 0 AND a.privilege_type = 'CONNECT') AS public_connect,
                coalesce((SELECT rolsuper FROM pg_roles WHERE rolname = current_user), false)
                  OR EXISTS (SELECT 1 FROM pg_database WHERE datname = current_database() AND datdba = (SELECT oid FROM pg_roles WHERE rolname = current_user)) AS can_revoke`,
        [names, [desired.database.name, previous?.database.name ?? desired.database.name], desired.database.encoding],
    );
    const roles: ActualState["roles"] = {};
    for (const { name, settings, ...role } of cluster.rows[0].roles) {
        // setconfig holds "name=value" texts; the value is everything after the first "=".
        const map: Record<string, string> = {};
        for (const kv of settings ?? []) map[kv.slice(0, kv.indexOf("="))] = kv.slice(kv.indexOf("=") + 1);
        roles[name] = { ...role, settings: map };
    }
    const passwordMatches: Record<string, boolean | undefined> = {};
    const withPassword = Object.entries(desired.roles).filter(([n, s]) => s.password !== undefined && roles[n]);
    if (withPassword.length) {
        // pg_authid needs superuser; without it the password is simply set again.
        const p = await admin
            .query<{ rolname: string; rolpassword: string | null }>(
                "SELECT rolname, rolpassword FROM pg_authid WHERE rolname = ANY($1::text[])",
                [withPassword.map(([n]) => n)],
            )
            .catch(() => ({ rows: [] as { rolname: string; rolpassword: string | null }[] }));
        for (const row of p.rows)
            passwordMatches[row.rolname] = verifierMatches(row.rolpassword, desired.roles[row.rolname].password!);
    }
    const databases = cluster.rows[0].databases;
    const own = databases.find((x) => x.name === desired.database.name);
    const state: ActualState = {
        roles,
        passwordMatches,
        database: own
            ? { exists: true, owner: own.owner, encoding: own.encoding, collate: own.collate, ctype: own.ctype }
            : { exists: false },
        encodingName: cluster.rows[0].encoding_name,
        maintenance: { publicConnect: cluster.rows[0].public_connect, canRevoke: cluster.rows[0].can_revoke },
        previousDatabaseExists: previous ? databases.some((x) => x.name === previous.database.name) : undefined,
        extensions: [],
        history: {},
    };
    if (!own) return { state };
    const db = await openDatabase();
    const tables = desired.migrationSets.map(historyTableOf);
    const found = await db.query<{ extensions: string[]; tables: (string | null)[] }>(
        `SELECT ARRAY(SELECT extname::text FROM pg_extension) AS extensions,
                ARRAY(SELECT to_regclass(t)::text FROM unnest($1::text[]) WITH ORDINALITY AS u(t, i) ORDER BY i) AS tables`,
        [tables],
    );
    state.extensions = found.rows[0].extensions;
    const managed = managedPrivilegeRoles(desired, previous);
    if (managed.length) Object.assign(state, await readPrivileges(db, desired, previous, managed));
    const existing = desired.migrationSets
        .map((set, i) => ({ set, i }))
        .filter(({ i }) => found.rows[0].tables[i] !== null);
    // baselineOnMigrate applies to a schema with tables and no history: only then is the schema looked at.
    const baselines = desired.migrationSets.filter(
        (set, i) => set.baseline !== undefined && found.rows[0].tables[i] === null,
    );
    if (baselines.length) {
        const others = desired.migrationSets.map((set) => `${set.schema}.${set.table}`);
        const r = await db.query<{ schema: string; has: boolean }>(
            `SELECT s AS schema, EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                    WHERE n.nspname = s AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND n.nspname || '.' || c.relname <> ALL($2::text[])) AS has
             FROM unnest($1::text[]) AS s`,
            [baselines.map((set) => set.schema), others],
        );
        state.schemaHasTables = Object.fromEntries(baselines.map((set, i) => [set.name, r.rows[i].has]));
    }
    if (!existing.length) return { state };
    for (const { set } of existing) state.history[set.name] = [];
    // checksum as text: Flyway's tables hold an integer, ours from before Flyway's checksum a "sha256:" string.
    const rows = await db.query<{
        set_index: number;
        installed_rank: number;
        version: string | null;
        description: string;
        type: string;
        script: string;
        checksum: string | null;
        success: boolean;
    }>(
        existing
            .map(
                ({ i }) =>
                    `SELECT ${i} AS set_index, installed_rank, version, description, type, script, checksum::text AS checksum, success FROM ${tables[i]}`,
            )
            .join("\nUNION ALL\n") + "\nORDER BY set_index, installed_rank",
    );
    for (const x of rows.rows) {
        state.history[desired.migrationSets[x.set_index].name].push({
            rank: x.installed_rank,
            version: x.version,
            description: x.description,
            type: x.type,
            script: x.script,
            checksum: x.checksum,
            success: x.success,
        });
    }
    return { state };
}

/** One privilege a role holds, as the catalogs' ACLs say (`aclexplode`), on the object `on`. */
interface AclRow {
    role: string;
    on: "database" | "schema" | "tables" | "sequences" | "history" | "defaults-tables" | "defaults-sequences";
    /** Whether the role owns the database or schema (rows "database" and "schema"). */
    owns?: boolean;
    schema: string | null;
    /** The relation (tables, sequences, history), or the creating role (defaults). */
    object: string | null;
    privileges: string[];
}

/**
 * The privileges of the roles with a preset, on the database, the schemas the presets cover, the relations in them
 * (the role's own aside) and the default privileges the creating roles give them there: one round trip.
 */
async function readPrivileges(
    db: PgClient,
    desired: BootstrapInputs,
    previous: BootstrapInputs | undefined,
    roles: string[],
): Promise<Pick<ActualState, "schemas" | "privileges">> {
    const schemas = [...new Set([...privilegeSchemas(desired), ...(previous ? privilegeSchemas(previous) : [])])];
    const history = desired.migrationSets.map((x) => `${x.schema}.${x.table}`);
    const r = await db.query<{ schemas: string[]; acl: AclRow[] }>(
        `WITH r AS (SELECT oid, rolname::text AS name FROM pg_roles WHERE rolname = ANY($1::text[])),
              n AS (SELECT oid, nspname::text AS name, nspacl, nspowner FROM pg_namespace WHERE nspname = ANY($2::text[])),
              acl AS (
                SELECT r.name AS role, 'database' AS on, NULL AS schema, NULL AS object, ARRAY(SELECT a.privilege_type FROM aclexplode(d.datacl) a WHERE a.grantee = r.oid) AS privileges,
                       d.datdba = r.oid AS owns
                  FROM r, pg_database d WHERE d.datname = current_database()
                UNION ALL
                SELECT r.name, 'schema', n.name, NULL, ARRAY(SELECT a.privilege_type FROM aclexplode(n.nspacl) a WHERE a.grantee = r.oid), n.nspowner = r.oid
                  FROM r, n
                UNION ALL
                SELECT r.name, CASE WHEN c.relkind = 'S' THEN 'sequences' WHEN n.name || '.' || c.relname = ANY($4::text[]) THEN 'history' ELSE 'tables' END,
                       n.name, c.relname::text, ARRAY(SELECT a.privilege_type FROM aclexplode(c.relacl) a WHERE a.grantee = r.oid), NULL
                  FROM r, n JOIN pg_class c ON c.relnamespace = n.oid
                  WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND c.relowner <> r.oid
                UNION ALL
                SELECT r.name, CASE WHEN d.defaclobjtype = 'S' THEN 'defaults-sequences' ELSE 'defaults-tables' END, n.name, pg_get_userbyid(d.defaclrole)::text,
                       ARRAY(SELECT a.privilege_type FROM aclexplode(d.defaclacl) a WHERE a.grantee = r.oid), NULL
                  FROM r, n JOIN pg_default_acl d ON d.defaclnamespace = n.oid
                  WHERE d.defaclobjtype IN ('r', 'S') AND pg_get_userbyid(d.defaclrole) = ANY($3::text[]))
         SELECT ARRAY(SELECT name FROM n) AS schemas, coalesce((SELECT json_agg(acl) FROM acl), '[]') AS acl`,
        [roles, schemas, privilegeCreators(desired, previous), history],
    );
    return { schemas: r.rows[0].schemas, privileges: privilegesOf(r.rows[0].acl, roles, r.rows[0].schemas) };
}

/** The ACL rows folded per role and schema: on all or some relations, default privileges per creating role. */
function privilegesOf(rows: AclRow[], roles: string[], schemas: string[]): Record<string, RolePrivileges> {
    const out: Record<string, RolePrivileges> = {};
    const universe = PRIVILEGE_PRESETS.owner;
    for (const role of roles) {
        const mine = rows.filter((x) => x.role === role);
        if (!mine.length) continue; // no such role yet
        const of = (on: AclRow["on"], schema: string) => mine.filter((x) => x.on === on && x.schema === schema);
        const fold = (rs: AclRow[], all: string[]) => ({
            all: all.filter((p) => rs.every((x) => x.privileges.includes(p))),
            held: Object.fromEntries(rs.filter((x) => x.privileges.length).map((x) => [x.object!, x.privileges])),
        });
        const per: Record<string, SchemaPrivileges> = {};
        for (const s of schemas) {
            const defaults: SchemaPrivileges["defaults"] = {};
            for (const kind of ["tables", "sequences"] as const) {
                for (const d of of(`defaults-${kind}`, s)) {
                    defaults[d.object!] ??= { tables: [], sequences: [] };
                    defaults[d.object!][kind] = d.privileges;
                }
            }
            per[s] = {
                schema: of("schema", s).flatMap((x) => x.privileges),
                ...(of("schema", s).some((x) => x.owns) ? { owns: true } : {}),
                tables: fold(of("tables", s), universe.tables),
                sequences: fold(of("sequences", s), universe.sequences),
                history: of("history", s)
                    .filter((x) => x.privileges.length)
                    .map((x) => `${s}.${x.object}`),
                defaults,
            };
        }
        const database = mine.filter((x) => x.on === "database");
        out[role] = {
            database: database.flatMap((x) => x.privileges),
            ...(database.some((x) => x.owns) ? { ownsDatabase: true } : {}),
            schemas: per,
        };
    }
    return out;
}

/** Describes a pg error with its position (in the file: `prefix` characters were sent ahead of it). */
function pgErrorText(e: unknown, prefix = 0): string {
    const err = e as { message?: string; code?: string; position?: string; detail?: string };
    const at = err.position ? Number(err.position) - prefix : 0;
    return [
        err.message,
        err.code ? `(SQLSTATE ${err.code})` : "",
        at > 0 ? `at character ${at}` : "",
        err.detail ? `- ${err.detail}` : "",
    ]
        .filter(Boolean)
        .join(" ");
}

/**
 * When one of the migration's own timeouts cancelled it: which one expired, with its value, and the way out. Told
 * by SQLSTATE and by the time the message took (at least the timeout), not by the server's wording, which may be
 * translated, and by where the server raised it: a timeout cancels in ProcessInterrupts, a NOWAIT lock fails
 * elsewhere (measured), and a cancel by hand comes sooner. Those are reported as they are.
 */
function timeoutExpired(e: unknown, t: MigrationTimeouts, elapsedMs: number): { why: string; fix: string } | undefined {
    const { code, routine } = e as { code?: string; routine?: string };
    if (routine !== undefined && routine !== "ProcessInterrupts") return undefined;
    if (code === "55P03" && t.lockMs > 0 && elapsedMs >= t.lockMs) {
        return {
            why: `lock_timeout expired: it waited longer than wait.migrationLockTimeoutSeconds (${t.lockMs / 1000}s) for a lock another session holds, typically an open transaction that used the same table`,
            fix: "end the blocking transaction (pg_stat_activity shows it) or raise wait.migrationLockTimeoutSeconds",
        };
    }
    if (code === "57014" && t.statementMs > 0 && elapsedMs >= t.statementMs) {
        return {
            why: `statement_timeout expired: a statement ran longer than wait.migrationStatementTimeoutSeconds (${t.statementMs / 1000}s)`,
            fix: "raise wait.migrationStatementTimeoutSeconds (0 for none), or, if it was waiting for a lock, end the blocking transaction",
        };
    }
    return undefined;
}

/** Runs one step. Transactional migrations and their history row commit together, or not at all. */
export async function runStep(step: Step, cluster: PgClient, db: PgClient | undefined, log: Log): Promise<void> {
    log(step.description);
    if (step.kind !== "migration") {
        const client = step.target === "cluster" ? cluster : db;
        if (!client) throw new Error(`${step.description}: the database connection is not open (internal error)`);
        // A step's own statements travel in one message: one round trip and one implicit transaction (a role is
        // created with its grants or not at all). CREATE DATABASE cannot run in a transaction, so it goes alone.
        for (const sql of step.kind === "database" ? step.sql : [step.sql.join(";\n")]) {
            try {
                await client.query(sql);
            } catch (e) {
                throw new Error(`${step.description} failed: ${pgErrorText(e)}`);
            }
        }
        return;
    }
    if (!db) throw new Error(`${step.description}: the database connection is not open (internal error)`);
    const started = Date.now();
    // Literals through pg's own escaping, so the row can travel in one message with the COMMIT.
    const recordSql = () => {
        const { escapeLiteral: lit } = require("pg") as typeof import("pg");
        const values = [
            step.version === null ? "NULL" : lit(step.version),
            lit(step.scriptDescription),
            "'SQL'",
            lit(step.script),
            lit(step.checksum),
        ];
        // The rank given, not defaulted: Flyway's table has no sequence (ours from before it did; both take it).
        const rank = `(SELECT coalesce(max(installed_rank), 0) + 1 FROM ${step.historyTable})`;
        return (
            `INSERT INTO ${step.historyTable} (installed_rank, version, description, type, script, checksum, installed_by, execution_time, success) ` +
            `VALUES (${rank}, ${values.join(", ")}, current_user, ${Math.trunc(Date.now() - started)}, true)`
        );
    };
    // Each migration starts as the admin with the session's defaults, as Flyway's do: a SET ROLE or SET search_path
    // in one file must not carry into the history row (the role may not write it) or into the next file. RESET ALL
    // also ends the migration's own timeouts, so they never apply to the history row.
    const reset = "SET SESSION AUTHORIZATION DEFAULT;\nRESET ALL;\n";
    // A callback runs like a migration but leaves no history row, as in Flyway.
    const record = () => db.query(step.callback ? reset : reset + recordSql());
    const what = step.callback ? `callback ${step.script}` : step.script;
    // Flyway's error callbacks (afterEachMigrateError, afterMigrateError) run after a failure, each on its own.
    const errorCallbacks = async (): Promise<string> => {
        const failed: string[] = [];
        for (const sql of step.onError ?? []) await db.query(sql).catch((e) => failed.push(pgErrorText(e)));
        return step.onError?.length
            ? ` The error callbacks ran${failed.length ? ` (and failed: ${failed.join("; ")})` : ""}.`
            : "";
    };
    if (step.transactional) {
        // Two round trips, not four: BEGIN travels with the file (the transaction stays open past the message),
        // COMMIT with the history row. Nothing is sent after the file in its message, so however it ends, it
        // cannot swallow a statement of ours. The timeouts are SET LOCAL after BEGIN, in the same message, so they
        // end with the transaction; the previous migration's session state was reset with its history row.
        const begin = "BEGIN;\n" + timeoutSql(step.timeouts, "local");
        let failure: string | undefined;
        let expired: ReturnType<typeof timeoutExpired>;
        const sent = Date.now();
        try {
            await db.query(begin + step.sql[0]);
        } catch (e) {
            failure = pgErrorText(e, begin.length);
            expired = timeoutExpired(e, step.timeouts, Date.now() - sent);
        }
        if (failure === undefined) {
            try {
                await db.query(step.callback ? `${reset}COMMIT` : `${reset}${recordSql()};\nCOMMIT`);
            } catch (e) {
                failure = pgErrorText(e);
            }
        }
        if (failure !== undefined) {
            await db.query("ROLLBACK").catch(() => undefined);
            const called = await errorCallbacks();
            throw new Error(
                `migration set "${step.set}": ${what} failed: ${failure}. ` +
                    (expired
                        ? `${expired.why}. It was rolled back and not recorded; ${expired.fix}, and run again`
                        : "It was rolled back and not recorded; fix the file and run again") +
                    called,
            );
        }
        return;
    }
    // Outside a transaction the timeouts are session settings, sent alone: one message with several statements is
    // a transaction block, where CREATE INDEX CONCURRENTLY cannot run. The history row's RESET ALL ends them; after
    // a failure the run stops and this connection is closed, so they reach nothing of ours either.
    const settings = timeoutSql(step.timeouts, "session");
    if (settings) await db.query(settings);
    for (const [i, sql] of step.sql.entries()) {
        const sent = Date.now();
        try {
            await db.query(sql);
        } catch (e) {
            const expired = timeoutExpired(e, step.timeouts, Date.now() - sent);
            const called = await errorCallbacks();
            throw new Error(
                `migration set "${step.set}": ${what} failed at statement ${i + 1} of ${step.sql.length}: ${pgErrorText(e)}. ` +
                    (expired ? `${expired.why}. ` : "") +
                    `It runs outside a transaction, so statements before it stay applied; it was not recorded, so make it idempotent (IF NOT EXISTS` +
                    (expired
                        ? `; a cancelled CREATE INDEX CONCURRENTLY leaves an INVALID index to drop first), ${expired.fix},`
                        : ")") +
                    " and run again." +
                    called,
            );
        }
    }
    await record();
}
