/**
 * Pieces shared by the components' containers: resource limits, restart policy, health checks and files.
 * All pure.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import type * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { ArgChecker } from "../validation";

export { gateProvider, type GateSpec } from "./gate";
export {
    checkSecretFiles,
    SECRETS_DIR,
    type SecretFile,
    secretFileEnv,
    secretFilesSpec,
    secretFileUploads,
} from "./secretFiles";

/** CPU and memory limits of a container. */
export interface ContainerResources {
    /** Hard memory limit in MiB. @default undefined (no limit) */
    readonly memoryMb?: number;
    /** Relative CPU weight (Docker `--cpu-shares`; 1024 is one "normal" container). @default undefined (Docker's 1024) */
    readonly cpuShares?: number;
}

/**
 * One server a load balancer forwards to: what an app pool offers and nginx's config names. Here, so the pool and
 * the load balancer share it without importing each other.
 */
export interface UpstreamServer {
    /** Host name (a replica's network alias) or address. */
    readonly host: string;
    readonly port: number;
}

/** Docker restart policies. */
export type RestartPolicy = "no" | "always" | "unless-stopped" | "on-failure";

/** A container health check. Durations are Docker durations ("1s", "500ms", "2m"). */
export interface HealthcheckArgs {
    /** The check, in Docker's form: `["CMD", ...]` or `["CMD-SHELL", "..."]`. */
    readonly test: readonly string[];
    /** Time between checks. @default "2s" */
    readonly interval?: string;
    /** Time one check may take. @default "3s" */
    readonly timeout?: string;
    /** Failures during this initial period do not count. @default "60s" */
    readonly startPeriod?: string;
    /** Consecutive failures (after the start period) that make the container unhealthy. @default 5 */
    readonly retries?: number;
}

const UNIT_NS: Record<string, number> = { ns: 1, us: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/**
 * A Docker duration ("60s", "500ms", "2m") in the form the docker provider stores it, Go's `time.Duration`
 * string ("1m0s", "500ms", "2m0s"). Given in any other form, the stored and the given value differ on every
 * `pulumi up` and the container is replaced each time.
 */
export function goDuration(d: string): string {
    const m = /^(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)$/.exec(d);
    if (!m) return d; // refused by checkHealthcheck first
    const ns = Math.round(Number(m[1]) * UNIT_NS[m[2]]);
    const num = (v: number) => String(Number(v.toFixed(9)));
    if (ns === 0) return "0s";
    if (ns < 1e3) return `${ns}ns`;
    if (ns < 1e6) return `${num(ns / 1e3)}µs`;
    if (ns < 1e9) return `${num(ns / 1e6)}ms`;
    const h = Math.floor(ns / 3600e9);
    const min = Math.floor((ns - h * 3600e9) / 60e9);
    const sec = (ns - h * 3600e9 - min * 60e9) / 1e9;
    return `${h ? `${h}h` : ""}${h || min ? `${min}m` : ""}${num(sec)}s`;
}

/**
 * A Docker duration in the form the docker provider reads a service's durations back: Go's, less a trailing zero
 * unit ("1m0s" is "1m", "1h0m0s" "1h"). Given as `goDuration`, a service differs on every `pulumi up`.
 */
export function swarmDuration(d: string): string {
    return goDuration(d).replace(/m0s$/, "m").replace(/h0m$/, "h");
}

/** A service's health check as the docker provider takes it, with defaults applied (see `swarmDuration`). */
export function swarmHealthcheckInput(h: HealthcheckArgs): docker.types.input.ServiceTaskSpecContainerSpecHealthcheck {
    return healthcheckWith(h, swarmDuration);
}

/** Swarm's own restart delay (a task's restart on the host is immediate, backing off from 100 ms). */
const SWARM_RESTART_DELAY = "5s";

/** A swarm task's restart policy for the host form's `restart` ("always" and "unless-stopped" are both swarm's "any"). */
export function swarmRestartPolicy(restart: RestartPolicy): docker.types.input.ServiceTaskSpecRestartPolicy {
    const condition = restart === "no" ? "none" : restart === "on-failure" ? "on-failure" : "any";
    // Every field given, in the form the provider reads back: one left out reads back as "0s" or 0 and differs.
    return { condition, delay: SWARM_RESTART_DELAY, maxAttempts: 0, window: "0s" };
}

/**
 * A swarm task's settings for the host form's `resources`, `restart` and container settings (`logging` with its
 * defaults): the memory limit (swarm has no swap setting: Docker's default, as much swap again), the restart policy
 * and the log driver. `cpuShares` has no swarm form ({@link checkSwarmResources}).
 */
export function swarmTaskInputs(
    resources: ContainerResources | undefined,
    restart: RestartPolicy,
    settings: ContainerSettings,
): Pick<docker.types.input.ServiceTaskSpec, "resources" | "restartPolicy" | "logDriver"> {
    return {
        ...(resources?.memoryMb !== undefined
            ? { resources: { limits: { memoryBytes: resources.memoryMb * 1024 * 1024 } } }
            : {}),
        restartPolicy: swarmRestartPolicy(restart),
        ...(settings.logDriver !== undefined
            ? {
                  logDriver: {
                      name: settings.logDriver,
                      ...(settings.logOpts ? { options: { ...settings.logOpts } } : {}),
                  },
              }
            : {}),
    };
}

/**
 * Records a problem when `resources` (argument `arg`) sets cpuShares on a swarm network. Measured on Docker 20.10: a
 * swarm CPU reservation only guides the scheduler (the task's container keeps the default weight) and a CPU limit
 * is a cap, so neither means what cpuShares means on the host.
 */
export function checkSwarmResources(c: ArgChecker, arg: string, resources: ContainerResources | undefined): void {
    c.check(
        resources?.cpuShares === undefined,
        `${arg}.cpuShares`,
        "has no swarm form (a swarm task has no relative CPU weight)",
        `leave it out on a swarm network (${arg}.memoryMb is taken)`,
    );
}

/** The docker provider's form of a health check, with defaults applied. */
export function healthcheckInput(h: HealthcheckArgs): docker.types.input.ContainerHealthcheck {
    return healthcheckWith(h, goDuration);
}

/** A health check with its defaults, durations in the form `duration` gives (a container's or a service's). */
function healthcheckWith(
    h: HealthcheckArgs,
    duration: (d: string) => string,
): { tests: string[]; interval: string; timeout: string; startPeriod: string; retries: number } {
    return {
        tests: [...h.test],
        interval: duration(h.interval ?? "2s"),
        timeout: duration(h.timeout ?? "3s"),
        startPeriod: duration(h.startPeriod ?? "60s"),
        retries: h.retries ?? 5,
    };
}

/**
 * The docker provider's resource arguments for `r`. A memory limit comes with the same swap limit (no swap):
 * left unset, the provider stores the engine's value and then sees it removed on every `pulumi up`.
 */
export function resourceInputs(r: ContainerResources | undefined): {
    memory?: number;
    memorySwap?: number;
    cpuShares?: number;
} {
    return {
        ...(r?.memoryMb !== undefined ? { memory: r.memoryMb, memorySwap: r.memoryMb } : {}),
        ...(r?.cpuShares !== undefined ? { cpuShares: r.cpuShares } : {}),
    };
}

/** Validates `r`, recording problems under `argument`. */
export function checkResources(c: ArgChecker, argument: string, r: ContainerResources | undefined): void {
    if (!r) return;
    c.integer(
        r.memoryMb,
        `${argument}.memoryMb`,
        6,
        1024 * 1024,
        `set ${argument}.memoryMb to at least 6 (MiB) or leave it out`,
    );
    c.integer(
        r.cpuShares,
        `${argument}.cpuShares`,
        2,
        262144,
        `set ${argument}.cpuShares between 2 and 262144 or leave it out`,
    );
}

const DURATION = /^\d+(\.\d+)?(ns|us|ms|s|m|h)$/;

/**
 * Validates a health check, recording problems under `argument`. `waitForHealthy`: whether creation waits for the
 * container to be healthy, which can never happen with `["NONE"]` (Docker then reports no health at all).
 */
export function checkHealthcheck(
    c: ArgChecker,
    argument: string,
    h: HealthcheckArgs | undefined,
    waitForHealthy = false,
): void {
    if (!h) return;
    c.check(
        h.test.length > 0 && ["CMD", "CMD-SHELL", "NONE"].includes(h.test[0]),
        `${argument}.test`,
        `is ${JSON.stringify(h.test)}`,
        'start it with "CMD" (argv) or "CMD-SHELL" (one shell string)',
    );
    c.check(
        !(waitForHealthy && h.test[0] === "NONE"),
        `${argument}.test`,
        'is ["NONE"] (no health check) while waitForHealthy is true, so creation would wait for a health status that never comes',
        "set waitForHealthy: false, or give a real health check",
    );
    for (const k of ["interval", "timeout", "startPeriod"] as const) {
        const v = h[k];
        if (v !== undefined)
            c.check(DURATION.test(v), `${argument}.${k}`, `is "${v}", not a duration`, 'write it like "2s" or "500ms"');
    }
    c.integer(h.retries, `${argument}.retries`, 1, 1000);
}

/**
 * URL paths we paste into nginx.conf (`proxy_pass`), into single- and double-quoted shell (the HTTP probe, a
 * `printf` format) and into labels: "/" then only letters, digits and `- . _ ~ / : @ + , = & ?`. No whitespace,
 * `;`, quotes, braces, `$`, `%` (a printf directive) or backslash.
 */
const URL_PATH = /^\/[A-Za-z0-9._~/:@+,=&?-]*$/;

/** Whether `p` is a URL path safe to embed in generated config and shell (see {@link URL_PATH}). */
export function isSafeUrlPath(p: string): boolean {
    return typeof p === "string" && URL_PATH.test(p);
}

/**
 * A shell script that exits 0 when `GET http://127.0.0.1:<port><path>` answers 2xx, using whichever of bash, curl,
 * wget, python3 or ruby the image has — so one default health check fits slim Debian images with any of those runtimes.
 * @internal
 */
export function httpProbeScript(port: number, pathname: string): string {
    // Components validate paths first; this guards direct callers against shell or printf injection.
    if (!isSafeUrlPath(pathname))
        throw new Error(
            `httpProbeScript: path ${JSON.stringify(pathname)} is not a plain URL path; use "/" followed by letters, digits and - . _ ~ / : @ + , = & ?`,
        );
    const url = `http://127.0.0.1:${port}${pathname}`;
    return [
        `u='${url}'`,
        // bash first: a raw HTTP/1.0 request over /dev/tcp costs a fork, where python3 or ruby cost an interpreter start.
        // On failure it says what it got (the status line), which Docker keeps as the check's output.
        `if command -v bash >/dev/null 2>&1; then exec bash -c 'exec 3<>/dev/tcp/127.0.0.1/${port} && printf "GET ${pathname} HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n" >&3 || exit 1; IFS= read -r line <&3; printf -v cr "\\r"; line=\${line%"$cr"}; case "$line" in *" 2"[0-9][0-9]" "*) exit 0;; esac; echo "GET ${pathname} answered: \${line:-nothing}"; exit 1'`,
        `elif command -v curl >/dev/null 2>&1; then exec curl -fsS -o /dev/null --max-time 3 "$u"`,
        `elif command -v wget >/dev/null 2>&1; then exec wget -q -O /dev/null -T 3 "$u"`,
        `elif command -v python3 >/dev/null 2>&1; then exec python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=3)' "$u"`,
        `elif command -v ruby >/dev/null 2>&1; then exec ruby -rnet/http -e 'exit(Net::HTTP.get_response(URI(ARGV[0])).is_a?(Net::HTTPSuccess) ? 0 : 1)' "$u"`,
        `else echo "no bash, curl, wget, python3 or ruby in the image for the health check" >&2; exit 1; fi`,
    ].join("; ");
}

/** A health check that passes when every one of `pathnames` answers 2xx on `port`. */
export function httpHealthcheckAll(port: number, pathnames: readonly string[]): HealthcheckArgs {
    return { test: ["CMD-SHELL", pathnames.map((p) => `(${httpProbeScript(port, p)})`).join(" && ")] };
}

/** The default HTTP health check: `httpProbeScript` as a `CMD-SHELL` test. */
export function httpHealthcheck(port: number, pathname = "/healthz"): HealthcheckArgs {
    return { test: ["CMD-SHELL", httpProbeScript(port, pathname)] };
}

/** One file to put into a container or volume. Text goes as `content`, anything else as `contentBase64`. */
export interface FileUpload {
    /** Absolute path in the container. */
    readonly file: string;
    /** UTF-8 text. @default undefined (then contentBase64 is set) */
    readonly content?: string;
    /** Binary content, base64. @default undefined (then content is set) */
    readonly contentBase64?: string;
}

/** A file's bytes as a {@link FileUpload} to `target`: text when the bytes are valid UTF-8, base64 otherwise. */
export function fileUpload(target: string, bytes: Buffer): FileUpload {
    const text = bytes.toString("utf8");
    return Buffer.from(text, "utf8").equals(bytes) && !text.includes("\u0000")
        ? { file: target, content: text }
        : { file: target, contentBase64: bytes.toString("base64") };
}

/**
 * Reads every regular file under `dir` (recursively, sorted, dot-files skipped) into relative path → bytes.
 * Throws an Error naming `what` and the directory when it does not exist.
 */
export function readTree(dir: string, what: string): Record<string, Buffer> {
    if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
        throw new Error(`${what}: directory "${dir}" does not exist; create it or fix the path`);
    }
    const out: Record<string, Buffer> = {};
    const walk = (rel: string): void => {
        for (const entry of fs
            .readdirSync(path.join(dir, rel), { withFileTypes: true })
            .sort((a, b) => a.name.localeCompare(b.name))) {
            if (entry.name.startsWith(".")) continue;
            const r = rel ? `${rel}/${entry.name}` : entry.name;
            if (entry.isDirectory()) walk(r);
            else if (entry.isFile()) out[r] = fs.readFileSync(path.join(dir, r));
        }
    };
    walk("");
    return out;
}

/**
 * The files of a volume: those under `directory` (read now; an Error naming `what` when it does not exist)
 * overlaid by `inline` (relative path → UTF-8 text).
 */
export function overlayFiles(
    directory: string | undefined,
    inline: Readonly<Record<string, string>> | undefined,
    what: string,
): Record<string, Buffer> {
    const files: Record<string, Buffer> = directory ? readTree(directory, what) : {};
    for (const [p, text] of Object.entries(inline ?? {})) files[p] = Buffer.from(text, "utf8");
    return files;
}

/** `files` (relative path → bytes) as uploads under the directory `dir`, in path order. */
export function uploadsUnder(dir: string, files: Readonly<Record<string, Buffer>>): FileUpload[] {
    return Object.keys(files)
        .sort()
        .map((p) => fileUpload(`${dir}/${p}`, files[p]));
}

/** A relative file path is safe when it has no empty, "." or ".." segment and no leading "/". */
export function isSafeRelativePath(p: string): boolean {
    return p.length > 0 && !p.startsWith("/") && p.split("/").every((s) => s !== "" && s !== "." && s !== "..");
}

/** sha256 over sorted (path, bytes) pairs: a stable fingerprint of a file set. @internal */
export function filesDigest(files: Readonly<Record<string, Buffer | string>>): string {
    const h = crypto.createHash("sha256");
    for (const k of Object.keys(files).sort()) {
        const v = files[k];
        h.update(k);
        h.update("\u0000");
        h.update(typeof v === "string" ? Buffer.from(v, "utf8") : v);
        h.update("\u0000");
    }
    return h.digest("hex");
}

/**
 * Container settings a component passes through unchanged to a container it makes: the part of
 * `docker.ContainerArgs` that no component argument covers. Plain values (no Outputs), so they can enter a
 * rollout generation. Durations and sizes are Docker's own units. Logs are set with the component's `logging`
 * argument, not here.
 */
export interface ContainerPassThrough {
    /** `--user`, e.g. "1000:1000" or "app". @default the image's */
    readonly user?: string;
    /**
     * Root filesystem read-only (pair with `tmpfs` for the paths the app writes). @default false, except where the
     * component's "Security and operations defaults" (sdk/README.md) say true (nginx and the sidecars)
     */
    readonly readOnly?: boolean;
    /**
     * tmpfs mounts: container path → mount options (e.g. "size=64m"), or "" for none; merged over the component's
     * own (a path given here replaces the component's options for it). @default {} (plus the component's own)
     */
    readonly tmpfs?: Readonly<Record<string, string>>;
    /**
     * `--security-opt`, added to the component's `no-new-privileges:true`; a `no-new-privileges…` entry here
     * replaces that default (`"no-new-privileges:false"` switches it off). @default [] (plus no-new-privileges:true)
     */
    readonly securityOpts?: readonly string[];
    /**
     * Linux capabilities to add and drop, e.g. `{ drops: ["ALL"], adds: ["NET_BIND_SERVICE"] }`; replaces the
     * component's own set where it has one (nginx and the sidecars). @default Docker's set, or the component's
     */
    readonly capabilities?: { readonly adds?: readonly string[]; readonly drops?: readonly string[] };
    /** Namespaced kernel parameters, e.g. `{ "net.core.somaxconn": "1024" }`. @default {} */
    readonly sysctls?: Readonly<Record<string, string>>;
    /** ulimits, e.g. `[{ name: "nofile", soft: 65536, hard: 65536 }]`. @default the engine's */
    readonly ulimits?: readonly { readonly name: string; readonly soft: number; readonly hard: number }[];
    /** Run an init process (tini) as PID 1, reaping zombies and forwarding signals. @default false */
    readonly init?: boolean;
    /** Size of /dev/shm in MiB. @default 64 (Docker's) */
    readonly shmSize?: number;
    /** Extra groups of the container's user. @default [] */
    readonly groupAdds?: readonly string[];
    /** Working directory. @default the image's */
    readonly workingDir?: string;
    /** Entrypoint overriding the image's. @default the image's */
    readonly entrypoints?: readonly string[];
    /** Signal that stops the container. @default the image's (SIGTERM) */
    readonly stopSignal?: string;
    /** Extra /etc/hosts entries. @default [] */
    readonly hosts?: readonly { readonly host: string; readonly ip: string }[];
    /** DNS servers. @default the engine's */
    readonly dns?: readonly string[];
    /** Full privileges on the host: only for what cannot run otherwise (e.g. Docker in Docker). @default false */
    readonly privileged?: boolean;
}

/** Keys of {@link ContainerPassThrough}, for the check of untyped callers. */
const PASS_THROUGH_KEYS: readonly string[] = [
    "user",
    "readOnly",
    "tmpfs",
    "securityOpts",
    "capabilities",
    "sysctls",
    "ulimits",
    "init",
    "shmSize",
    "groupAdds",
    "workingDir",
    "entrypoints",
    "stopSignal",
    "hosts",
    "dns",
    "privileged",
];

/** Settings every component makes itself, whatever its other arguments: logs come through `logging`. */
const ALWAYS_MANAGED: Readonly<Record<string, string>> = { logDriver: "logging", logOpts: "logging" };

/**
 * Checks a pass-through under `argument`: every key is one {@link ContainerPassThrough} has, and none is a
 * container argument the component sets itself. `managed` maps each such `docker.ContainerArgs` key to the
 * component argument to use instead (e.g. `{ envs: "env", volumes: "volumes" }`), or to "" when no argument
 * sets it (the component fixes it); `logDriver` and `logOpts` always point to `logging`.
 */
export function checkPassThrough(
    c: ArgChecker,
    argument: string,
    p: ContainerPassThrough | undefined,
    managed: Readonly<Record<string, string>>,
): void {
    if (p === undefined) return;
    if (!c.check(typeof p === "object" && p !== null, argument, "is not an object", "pass { user: ..., ... }")) return;
    const fixed = { ...ALWAYS_MANAGED, ...managed };
    for (const k of Object.keys(p)) {
        if (Object.prototype.hasOwnProperty.call(fixed, k)) {
            c.check(
                false,
                `${argument}.${k}`,
                "is a container setting the component manages itself",
                fixed[k] ? `use the ${fixed[k]} argument instead` : "remove it (the component fixes it)",
            );
        } else {
            c.check(
                PASS_THROUGH_KEYS.includes(k),
                `${argument}.${k}`,
                "is not a container setting the pass-through takes",
                `use one of ${PASS_THROUGH_KEYS.join(", ")}`,
            );
        }
    }
    c.integer(p.shmSize, `${argument}.shmSize`, 1, 1024 * 1024, `set ${argument}.shmSize in MiB (at least 1)`);
    for (const [i, u] of (p.ulimits ?? []).entries()) {
        c.check(
            typeof u.name === "string" && u.name !== "" && Number.isInteger(u.soft) && Number.isInteger(u.hard),
            `${argument}.ulimits[${i}]`,
            `is ${JSON.stringify(u)}`,
            'give { name: "nofile", soft: <integer>, hard: <integer> }',
        );
    }
    for (const mount of Object.keys(p.tmpfs ?? {})) {
        c.check(
            mount.startsWith("/"),
            `${argument}.tmpfs["${mount}"]`,
            "is not an absolute path",
            'use a container path like "/tmp"',
        );
    }
    for (const [i, o] of (p.securityOpts ?? []).entries()) {
        c.check(
            typeof o === "string" && o !== "",
            `${argument}.securityOpts[${i}]`,
            `is ${JSON.stringify(o)}`,
            'give a Docker security option such as "seccomp=unconfined" or "no-new-privileges:false"',
        );
    }
}

/** The docker provider's arguments for a checked pass-through (only the keys given, so nothing else changes). */
export function passThroughInputs(p: ContainerPassThrough | undefined): Partial<docker.ContainerArgs> {
    return settingsInputs(p, PASS_THROUGH_KEYS);
}

/** The docker provider's arguments for the given `keys` of `p`, copied (only those set). */
function settingsInputs(p: object | undefined, keys: readonly string[]): Partial<docker.ContainerArgs> {
    if (!p) return {};
    const out: Record<string, unknown> = {};
    for (const k of keys) {
        const v = (p as Record<string, unknown>)[k];
        if (v === undefined) continue;
        if (k === "capabilities") {
            const caps = v as ContainerPassThrough["capabilities"];
            out.capabilities = {
                ...(caps?.adds ? { adds: [...caps.adds] } : {}),
                ...(caps?.drops ? { drops: [...caps.drops] } : {}),
            };
        } else if (Array.isArray(v)) out[k] = v.map((x: unknown) => (typeof x === "object" ? { ...x } : x));
        else if (typeof v === "object" && v !== null) out[k] = { ...v };
        else out[k] = v;
    }
    return out as Partial<docker.ContainerArgs>;
}

/** Where a component's containers log. */
export interface LoggingArgs {
    /** Docker log driver, e.g. "json-file", "local", "journald", "syslog". @default "json-file" */
    readonly driver?: string;
    /**
     * Options of the driver, merged over the defaults: `{ "max-size": "10m", "max-file": "3" }` for "json-file",
     * none for any other driver (e.g. "local" rotates by itself). @default { "max-size": "10m", "max-file": "3" }
     */
    readonly options?: Readonly<Record<string, string>>;
}

/**
 * The default log driver. json-file rather than local: `docker logs` reads both, but json-file's files are the
 * format log shippers (Vector, Fluent Bit, Promtail) read off the Docker host and what Kamal defaults to; it never
 * rotates by itself, hence the options.
 */
export const DEFAULT_LOG_DRIVER = "json-file";
/** json-file's default options: at most 3 files of 10 MB per container (Kamal's max-size). */
export const DEFAULT_JSON_FILE_LOG_OPTIONS: Readonly<Record<string, string>> = { "max-size": "10m", "max-file": "3" };
/** The security option on every container: a process cannot gain privileges (setuid binaries, file capabilities). */
export const NO_NEW_PRIVILEGES = "no-new-privileges:true";

/** Checks `logging` under `argument`: a driver name and string options. */
export function checkLogging(c: ArgChecker, argument: string, l: LoggingArgs | undefined): void {
    if (l === undefined) return;
    if (!c.check(typeof l === "object" && l !== null, argument, "is not an object", 'pass { driver: "local" }')) return;
    if (l.driver !== undefined)
        c.check(
            typeof l.driver === "string" && /^[a-z0-9][a-z0-9_.:/-]*$/.test(l.driver),
            `${argument}.driver`,
            `is ${JSON.stringify(l.driver)}, not a log driver name`,
            'name a Docker log driver, e.g. "json-file", "local" or "journald"',
        );
    for (const [k, v] of Object.entries(l.options ?? {}))
        c.check(
            /^[a-z0-9][a-z0-9_.-]*$/.test(k) && typeof v === "string",
            `${argument}.options["${k}"]`,
            `is ${JSON.stringify(v)}`,
            'give the driver\'s option names and string values, e.g. { "max-size": "50m" }',
        );
}

/**
 * What a component hardens one kind of its containers with, beyond logs and no-new-privileges (which every
 * container gets): a read-only root, tmpfs for the paths it writes, a reduced capability set.
 */
export interface ContainerProfile {
    readonly readOnly?: boolean;
    readonly tmpfs?: Readonly<Record<string, string>>;
    readonly capabilities?: { readonly adds?: readonly string[]; readonly drops?: readonly string[] };
}

/**
 * One container's settings beyond the component's own arguments: the pass-through over the component's defaults
 * (its profile, no-new-privileges, bounded logs). Plain values: they enter a rollout generation, and tests start
 * real containers with them (`tests/support` turns them into `docker run` flags).
 */
export interface ContainerSettings extends ContainerPassThrough {
    readonly logDriver?: string;
    readonly logOpts?: Readonly<Record<string, string>>;
}

/**
 * A container's settings: `profile`, `no-new-privileges:true` and `logging` (with its defaults), with the
 * pass-through `p` over them (see {@link ContainerPassThrough} for how each merges). `defaults: false` (a Service
 * adopting a hand-made container, which must not be replaced) applies only what is given. Pure.
 */
export function containerSettings(
    logging: LoggingArgs | undefined,
    p: ContainerPassThrough | undefined,
    profile: ContainerProfile = {},
    defaults = true,
): ContainerSettings {
    const given = p ?? {};
    const base: ContainerProfile = defaults ? profile : {};
    const driver = logging?.driver ?? (defaults || logging?.options ? DEFAULT_LOG_DRIVER : undefined);
    const logOpts =
        driver === undefined
            ? undefined
            : {
                  ...(defaults && driver === DEFAULT_LOG_DRIVER ? DEFAULT_JSON_FILE_LOG_OPTIONS : {}),
                  ...(logging?.options ?? {}),
              };
    const own = given.securityOpts ?? [];
    const securityOpts = [
        ...(defaults && !own.some((o) => o.startsWith("no-new-privileges")) ? [NO_NEW_PRIVILEGES] : []),
        ...own,
    ];
    const tmpfs = { ...(base.tmpfs ?? {}), ...(given.tmpfs ?? {}) };
    const readOnly = given.readOnly ?? base.readOnly;
    const capabilities = given.capabilities ?? base.capabilities;
    return {
        ...given,
        ...(readOnly !== undefined ? { readOnly } : {}),
        ...(Object.keys(tmpfs).length > 0 ? { tmpfs } : {}),
        ...(securityOpts.length > 0 ? { securityOpts } : {}),
        ...(capabilities !== undefined ? { capabilities } : {}),
        ...(driver !== undefined ? { logDriver: driver } : {}),
        ...(logOpts !== undefined && Object.keys(logOpts).length > 0 ? { logOpts } : {}),
    };
}

/** The docker provider's arguments for a container's settings (only the keys set). */
export function containerSettingsInputs(s: ContainerSettings): Partial<docker.ContainerArgs> {
    return settingsInputs(s, [...PASS_THROUGH_KEYS, "logDriver", "logOpts"]);
}

/** A sidecar's default memory limit in MiB when `resources` leaves it out, keeping the other fields. */
export function withDefaultMemory(r: ContainerResources | undefined, memoryMb: number): ContainerResources {
    return { memoryMb, ...(r ?? {}) };
}

/** A port a container publishes on the Docker host. */
export interface PublishedPort {
    /** Port inside the container. */
    readonly internal: number;
    /** Port on the host. @default internal */
    readonly external?: number;
    /** "tcp" or "udp". @default "tcp" */
    readonly protocol?: "tcp" | "udp";
    /** Host address to bind. @default "0.0.0.0" (every address) */
    readonly ip?: string;
}

/**
 * A mount into a container: a Docker volume (`name`: the component creates one; `volume`: one created elsewhere,
 * e.g. another pool's, to share it) or a host directory (`hostPath`). Exactly one of the three.
 */
export interface VolumeMount {
    /** Create a volume for this mount, named `<component>-vol-<name>` (a DNS label). @default undefined */
    readonly name?: string;
    /** An existing volume (a `docker.Volume`, or a Docker volume name) to mount, e.g. `otherPool.volumes.uploads`. @default undefined */
    readonly volume?: docker.Volume | string;
    /** An absolute directory on the Docker host (a bind mount). @default undefined */
    readonly hostPath?: string;
    /** Absolute path in the container. */
    readonly containerPath: string;
    /** Mount read-only. @default false */
    readonly readOnly?: boolean;
    /**
     * For `name`: keep the created volume (and its data) when it leaves the program or the stack is destroyed,
     * as the database's data volume is. @default true
     */
    readonly retainOnDelete?: boolean;
}

/**
 * Checks the names of a component's extra environment variables under `argument`: valid names, none of those the
 * component sets itself (`reserved`: name → the argument to use instead, or "" when there is none).
 */
export function checkEnvNames(
    c: ArgChecker,
    argument: string,
    env: Readonly<Record<string, unknown>> | undefined,
    reserved: Readonly<Record<string, string>>,
): void {
    for (const k of Object.keys(env ?? {})) {
        c.envName(k, `${argument}.${k}`);
        if (Object.prototype.hasOwnProperty.call(reserved, k))
            c.check(
                false,
                `${argument}.${k}`,
                "is a variable the component sets itself",
                reserved[k] ? `use the ${reserved[k]} argument instead` : "remove it",
            );
    }
}

/** `env` as `KEY=value` entries sorted by key (values may be Outputs or secrets). */
export function envEntries(env: Readonly<Record<string, pulumi.Input<string>>>): pulumi.Output<string[]> {
    const keys = Object.keys(env).sort();
    return pulumi.all(keys.map((k) => pulumi.output(env[k]))).apply((vals) => keys.map((k, i) => `${k}=${vals[i]}`));
}
