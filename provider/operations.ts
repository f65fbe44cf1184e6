/**
 * What the bootstrap provider's methods do (provider.ts is the object the engine ships). Each call builds and
 * ends its own clients: nothing here keeps a client, pool or socket between calls.
 */
import * as pulumi from "@pulumi/pulumi";
import { checkInputs, engineFailure } from "./check";
import {
    appliedWhenComplete,
    managedPrivilegeRoles,
    planBootstrap,
    previewLines,
    previewPlan,
    privilegeStatements,
} from "./plan";
import { acquireLock, connectWithWait, endClient, Log, readActualState, releaseLock, runStep } from "./postgres";
import { AppliedMigrations, BootstrapInputs, MigrationSetSpec } from "./types";

/**
 * Properties that are the engine's or outputs only. (An array, not a Set, at module level: closure serialization
 * does not carry a Set's contents.) Every other input is compared, `wait` included: a changed wait runs no step,
 * but the update stores it in the outputs, which are all that refresh and destroy get.
 */
const OUTPUT_ONLY = ["__provider", "applied", "roleNames", "databaseName", "drift"];

function logFor(database: string): Log {
    // stderr of the provider host is where the engine collects a dynamic provider's diagnostics.
    return (line) => process.stderr.write(`[bootstrap ${database}] ${line}\n`);
}

function stable(v: unknown): string {
    if (Array.isArray(v)) return `[${v.map(stable).join(",")}]`;
    if (v && typeof v === "object") {
        return `{${Object.keys(v as object)
            .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
            .sort()
            .map((k) => `${JSON.stringify(k)}:${stable((v as Record<string, unknown>)[k])}`)
            .join(",")}}`;
    }
    return JSON.stringify(v);
}

/**
 * A set as kept in the outputs: its files reduced to one digest of (file, checksum) pairs. The engine ships the
 * old outputs with every update, so they must not grow with the number of migrations ever written; `applied`
 * carries the per-file record.
 */
type StoredSet = Omit<MigrationSetSpec, "files"> & { filesDigest: string; fileCount: number };

function filesDigest(files: MigrationSetSpec["files"]): string {
    const { createHash } = require("crypto") as typeof import("crypto");
    const h = createHash("sha256");
    for (const f of Object.keys(files).sort()) h.update(`${f}\0${files[f].checksum}\n`);
    return "sha256:" + h.digest("hex");
}

function storedSet(set: MigrationSetSpec | StoredSet): StoredSet {
    if ("filesDigest" in set) return set;
    const { files, ...rest } = set;
    return { ...rest, filesDigest: filesDigest(files), fileCount: Object.keys(files).length };
}

/**
 * `wait` with the fields added after a state may have been written at their defaults (0: no migration timeouts),
 * so upgrading the package alone does not show every bootstrap as changed.
 */
function waitWithDefaults(wait: unknown): unknown {
    return wait && typeof wait === "object"
        ? { migrationLockTimeoutSeconds: 0, migrationStatementTimeoutSeconds: 0, ...wait }
        : wait;
}

/** Whether two input sets differ (outputs aside). */
export function inputsDiffer(olds: Record<string, unknown>, news: Record<string, unknown>): boolean {
    const keys = new Set([...Object.keys(olds), ...Object.keys(news)].filter((k) => !OUTPUT_ONLY.includes(k)));
    const norm = (props: Record<string, unknown>, k: string) =>
        k === "migrationSets" && Array.isArray(props[k])
            ? stable((props[k] as MigrationSetSpec[]).map(storedSet))
            : stable(k === "wait" ? waitWithDefaults(props[k]) : props[k]);
    return [...keys].some((k) => norm(olds, k) !== norm(news, k));
}

/**
 * What a lock holder announces on release once it completed a bootstrap: an HMAC, keyed by the admin password,
 * of the inputs it acted on and the history they left. A contender with the same digest has nothing left to do;
 * the key means only someone who holds the admin password can announce one, and the digest reveals no secret.
 */
function completionDigest(
    desired: BootstrapInputs,
    previous: BootstrapInputs | undefined,
    applied: AppliedMigrations,
): string {
    const { createHmac } = require("crypto") as typeof import("crypto");
    // Sets as stored (one digest of file names and checksums each): the SQL itself need not be serialized again.
    const acted = (i: BootstrapInputs | undefined) =>
        i && { ...i, wait: undefined, migrationSets: i.migrationSets.map(storedSet) };
    return createHmac("sha256", desired.connection.password)
        .update(stable({ desired: acted(desired), previous: acted(previous), applied }))
        .digest("hex");
}

/** Strips engine and output properties, leaving the inputs the bootstrap acts on. */
function inputsOf(props: Record<string, unknown>): BootstrapInputs {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(props)) if (!OUTPUT_ONLY.includes(k)) out[k] = v;
    return out as unknown as BootstrapInputs;
}

/** Outputs: the inputs with each set's files reduced to a digest, plus what was applied and any drift. */
function outputsOf(
    inputs: Omit<BootstrapInputs, "migrationSets"> & { migrationSets: (MigrationSetSpec | StoredSet)[] },
    applied: AppliedMigrations,
    drift: string[] = [],
): Record<string, unknown> {
    return {
        ...inputs,
        migrationSets: inputs.migrationSets.map(storedSet),
        applied,
        roleNames: Object.keys(inputs.roles).sort(),
        databaseName: inputs.database.name,
        drift,
    };
}

/**
 * Runs the whole bootstrap under the advisory lock; returns the outputs. A contender that finds the lock held
 * waits for it to be free (polling, never blocking in a statement), then checks under a shared lock, in parallel
 * with the other contenders, whether anything is left to do; only if so does it take the exclusive lock.
 */
async function bootstrap(
    desired: BootstrapInputs,
    previous: BootstrapInputs | undefined,
): Promise<Record<string, unknown>> {
    const log = logFor(desired.database.name);
    const c = desired.connection;
    const admin = await connectWithWait(c, c.maintenanceDatabase, desired.wait, log);
    let db: Awaited<ReturnType<typeof connectWithWait>> | undefined;
    const openDb = async () => (db ??= await connectWithWait(c, desired.database.name, desired.wait, log, false));
    let holding = false;
    let completion: string | undefined;
    try {
        let sharedPlan: ReturnType<typeof planBootstrap> | undefined;
        let expected: { applied: AppliedMigrations; digest: string } | undefined;
        const expect = () => {
            if (!expected) {
                const applied = appliedWhenComplete(desired);
                expected = { applied, digest: completionDigest(desired, previous, applied) };
            }
            return expected;
        };
        const mode = await acquireLock(
            admin,
            desired.database.name,
            desired.wait.lockTimeoutSeconds,
            log,
            async () => {
                sharedPlan = planBootstrap(
                    desired,
                    previous,
                    (await readActualState(admin, openDb, desired, previous)).state,
                );
                return sharedPlan.errors.length === 0 && sharedPlan.steps.length === 0;
            },
            (announced) => announced === expect().digest,
            () => void expect(), // while the holder works, not in the rush after its release
        );
        if (mode === "announced") {
            log("nothing to do (a concurrent bootstrap with the same inputs just completed it)");
            return outputsOf(desired, expected!.applied);
        }
        if (mode === "done-by-another") {
            log("nothing to do (a concurrent bootstrap did it)");
            return outputsOf(desired, sharedPlan!.applied);
        }
        holding = true;
        const plan = planBootstrap(desired, previous, (await readActualState(admin, openDb, desired, previous)).state);
        if (plan.errors.length) {
            throw new Error(
                `bootstrap of database "${desired.database.name}" refused; nothing was applied:\n  - ${plan.errors.join("\n  - ")}`,
            );
        }
        for (const note of plan.notes) log(note);
        if (!plan.steps.length) log("nothing to do");
        for (const step of plan.steps)
            await runStep(step, admin, step.target === "database" ? await openDb() : undefined, log);
        completion = completionDigest(desired, previous, plan.applied);
        return outputsOf(desired, plan.applied);
    } finally {
        // The lock first: contenders are waiting on it.
        if (holding) await releaseLock(admin, desired.database.name, completion).catch(() => undefined);
        endClient(db);
        endClient(admin);
    }
}

/** Reads the real state and reports drift against the last known outputs. */
export async function read(id: string, props: Record<string, unknown>): Promise<pulumi.dynamic.ReadResult> {
    const known = inputsOf(props);
    const log = logFor(known.database.name);
    const c = known.connection;
    const admin = await connectWithWait(c, c.maintenanceDatabase, known.wait, log);
    let db: Awaited<ReturnType<typeof connectWithWait>> | undefined;
    try {
        const read = await readActualState(
            admin,
            async () => (db ??= await connectWithWait(c, known.database.name, known.wait, log, false)),
            known,
            undefined,
        );
        const actual = read.state;
        const drift: string[] = [];
        const seen: BootstrapInputs = JSON.parse(JSON.stringify(known));
        for (const [name, want] of Object.entries(known.roles)) {
            const have = actual.roles[name];
            if (!have) {
                drift.push(`role ${name} is missing`);
                delete seen.roles[name];
                continue;
            }
            for (const k of ["login", "createdb", "inherit", "connectionLimit"] as const) {
                if (have[k] !== want[k]) {
                    drift.push(`role ${name}: ${k} is ${have[k]}, expected ${want[k]}`);
                    (seen.roles[name] as unknown as Record<string, unknown>)[k] = have[k];
                }
            }
            for (const [k, v] of Object.entries(want.settings ?? {})) {
                const got = have.settings?.[k];
                if (got !== v) {
                    drift.push(
                        `role ${name}: setting ${k} is ${got === undefined ? "unset" : JSON.stringify(got)}, expected ${JSON.stringify(v)}`,
                    );
                    const seenSettings = { ...(seen.roles[name].settings ?? {}) };
                    if (got === undefined) delete seenSettings[k];
                    else seenSettings[k] = got;
                    seen.roles[name].settings = seenSettings;
                }
            }
            const missing = want.memberOf.filter((g) => !have.memberOf.includes(g));
            if (missing.length) {
                drift.push(`role ${name}: not a member of ${missing.join(", ")}`);
                seen.roles[name].memberOf = want.memberOf.filter((g) => have.memberOf.includes(g));
            }
            if (want.password !== undefined && actual.passwordMatches?.[name] === false)
                drift.push(`role ${name}: password was changed outside Pulumi`);
        }
        if (!actual.database.exists) {
            drift.push(`database ${known.database.name} is missing`);
        } else if (actual.database.owner !== known.database.owner) {
            drift.push(
                `database ${known.database.name}: owner is ${actual.database.owner}, expected ${known.database.owner}`,
            );
            seen.database.owner = actual.database.owner!;
        }
        if (actual.database.exists) {
            const gone = known.database.extensions.filter((e) => !actual.extensions.includes(e));
            if (gone.length) {
                drift.push(`extensions missing: ${gone.join(", ")}`);
                seen.database.extensions = known.database.extensions.filter((e) => actual.extensions.includes(e));
            }
        }
        if (actual.database.exists) {
            const ctx = { newSchemas: [], newHistory: [], migrating: false };
            for (const name of managedPrivilegeRoles(known, undefined).filter((n) => actual.roles[n])) {
                const { what } = privilegeStatements(name, known, undefined, actual, ctx);
                if (what.length)
                    drift.push(
                        `role ${name}: privileges differ from preset "${known.roles[name].privileges}" (up will ${what.join("; ")})`,
                    );
            }
        }
        const applied: AppliedMigrations = {};
        const previouslyApplied = (props.applied ?? {}) as AppliedMigrations;
        for (const set of seen.migrationSets) {
            const latest: Record<string, string> = {};
            for (const r of actual.history[set.name] ?? []) {
                // Flyway's own rows: a baseline or schema marker applies no script; a DELETE row (repair) cancels one.
                if (!r.success || r.type === "BASELINE" || r.type === "SCHEMA") continue;
                if (r.type === "DELETE") delete latest[r.script];
                else latest[r.script] = r.checksum ?? "";
            }
            applied[set.name] = latest;
            const before = previouslyApplied[set.name] ?? {};
            for (const [script, checksum] of Object.entries(before)) {
                const now = latest[script];
                if (now === undefined) {
                    drift.push(
                        `migration set "${set.name}": ${script} is no longer recorded in ${set.schema}.${set.table}`,
                    );
                } else if (now !== checksum) {
                    drift.push(
                        `migration set "${set.name}": ${script} is recorded with checksum ${now}, expected ${checksum}`,
                    );
                }
            }
            for (const script of Object.keys(latest)) {
                if (!(script in before))
                    drift.push(
                        `migration set "${set.name}": ${script} is recorded but was not applied by this resource`,
                    );
            }
        }
        for (const d of drift) log(`drift: ${d}`);
        // Drift lives in the outputs (refresh shows it; diff turns it into an update). The stored inputs are left
        // alone: they hold the scripts' SQL and the secrets exactly as the program gave them.
        return { id, props: outputsOf(seen, applied, drift) };
    } finally {
        endClient(db);
        endClient(admin);
    }
}

/** Leaves database, roles and data in place unless `onDelete` is "drop". */
export async function destroy(_id: string, props: Record<string, unknown>): Promise<void> {
    const known = inputsOf(props);
    const log = logFor(known.database.name);
    const roles = Object.keys(known.roles);
    if (known.onDelete !== "drop") {
        log(
            `onDelete is "retain": database ${known.database.name}, roles ${roles.join(", ") || "(none)"} and their data are left in place`,
        );
        return;
    }
    const { escapeIdentifier } = require("pg") as typeof import("pg");
    const c = known.connection;
    const admin = await connectWithWait(c, c.maintenanceDatabase, known.wait, log);
    try {
        await acquireLock(admin, known.database.name, known.wait.lockTimeoutSeconds, log, async () => false);
        try {
            log(
                `onDelete is "drop": dropping database ${known.database.name} and roles ${roles.join(", ") || "(none)"}`,
            );
            await admin.query(`DROP DATABASE IF EXISTS ${escapeIdentifier(known.database.name)} WITH (FORCE)`);
            for (const r of roles) await admin.query(`DROP ROLE IF EXISTS ${escapeIdentifier(r)}`);
        } finally {
            await releaseLock(admin, known.database.name).catch(() => undefined);
        }
    } finally {
        endClient(admin);
    }
}

export async function check(
    olds: Record<string, unknown>,
    news: Record<string, unknown>,
): Promise<pulumi.dynamic.CheckResult> {
    const failures = checkInputs(inputsOf(olds ?? {}), inputsOf(news));
    // A new resource gets no diff: its preview's plan is told here.
    if (!failures.length && Object.keys(olds ?? {}).length === 0) logPreview(inputsOf(news), undefined);
    return { inputs: news, failures: failures.map(engineFailure) };
}

/**
 * Tells the preview what the migration sets will run, in order and whether in a transaction, with lint findings and
 * ignored files: a dynamic provider's stderr lines are diagnostics the CLI shows under the resource, in a preview as
 * in the PR comment made from it. Planned from the history the last up left, never from the server.
 */
function logPreview(desired: BootstrapInputs, applied: AppliedMigrations | undefined): void {
    try {
        const log = logFor(desired.database?.name ?? "?");
        for (const line of previewLines(previewPlan(desired, applied))) log(line);
    } catch {
        // The preview's plan is a courtesy: malformed inputs are check's to report.
    }
}

/**
 * The changes a reviewer cannot see in `pulumi preview --diff`: the engine masks every secret as "[secret]" before
 * it compares old and new inputs, so a changed password shows no marker, and a dynamic provider cannot return a
 * detailed diff. Names what changed, never the values.
 */
export function secretChanges(olds: Record<string, unknown>, news: Record<string, unknown>): string[] {
    type Props = { connection?: { password?: unknown }; roles?: Record<string, { password?: unknown }> };
    const o = olds as Props;
    const n = news as Props;
    const out: string[] = [];
    if (o.connection && n.connection && o.connection.password !== n.connection.password)
        out.push("admin password (connection.password) changes");
    for (const [name, role] of Object.entries(n.roles ?? {})) {
        const before = o.roles?.[name];
        if (before && before.password !== role.password) {
            out.push(
                role.password === undefined ? `role ${name}: password is removed` : `role ${name}: password changes`,
            );
        }
    }
    return out;
}

export async function diff(
    _id: string,
    olds: Record<string, unknown>,
    news: Record<string, unknown>,
): Promise<pulumi.dynamic.DiffResult> {
    const drifted = Array.isArray(olds.drift) && olds.drift.length > 0;
    const database = (news.database as { name?: string } | undefined)?.name ?? "?";
    for (const change of secretChanges(olds, news))
        logFor(database)(`${change} (secret: the diff shows [secret] either way)`);
    const changes = drifted || inputsDiffer(olds, news);
    if (changes) logPreview(inputsOf(news), (olds.applied ?? {}) as AppliedMigrations);
    // Never a replacement: a database is changed in place or the change is refused (see check).
    return { changes, replaces: [], deleteBeforeReplace: false };
}

export async function create(news: Record<string, unknown>): Promise<pulumi.dynamic.CreateResult> {
    const desired = inputsOf(news);
    const outs = await bootstrap(desired, undefined);
    return { id: `${desired.database.name}`, outs };
}

export async function update(
    _id: string,
    olds: Record<string, unknown>,
    news: Record<string, unknown>,
): Promise<pulumi.dynamic.UpdateResult> {
    return { outs: await bootstrap(inputsOf(news), inputsOf(olds)) };
}
