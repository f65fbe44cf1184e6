/**
 * Runs Pulumi programs under `pulumi.runtime.setMocks` and records the resource graph the engine would see:
 * types, names, inputs (with which of them are secret), parents, dependencies and resource options.
 *
 * `MockResourceArgs` carries neither parents nor dependencies, so the recorder subclasses the SDK's own
 * `MockMonitor` and reads them from the `RegisterResourceRequest` itself (`getParent`, `getDependenciesList`,
 * `getPropertydependenciesMap`, `getProtect`, `getRetainondelete`, `getDeletebeforereplace`). Secretness is read
 * from the serialized inputs (the secret signature the SDK puts on values that are secret when registered), which
 * is where it is really decided: the mocks ignore `additionalSecretOutputs`.
 */
import * as pulumi from "@pulumi/pulumi";
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks";
import type { Mocks } from "@pulumi/pulumi/runtime/mocks";
import { clusterMockOutputs } from "../../sdk/testing";

/** The SDK's internal runtime hooks that `setMocks` itself uses (marked @internal, so not in the .d.ts). */
interface InternalSettings {
    setMockOptions(
        monitor: MockMonitor,
        project?: string,
        stack?: string,
        preview?: boolean,
        organization?: string,
    ): void;
    waitForRPCs(): Promise<void>;
}
interface InternalState {
    getStore(): Record<string, unknown>;
}

const settings = require("@pulumi/pulumi/runtime/settings") as InternalSettings;

const state = require("@pulumi/pulumi/runtime/state") as InternalState;

const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

export interface RecordedResource {
    readonly urn: string;
    readonly type: string;
    readonly name: string;
    /** Parent URN ("" for the stack's direct children). */
    readonly parent: string;
    readonly custom: boolean;
    /** URNs this resource depends on (dependsOn plus the resources its inputs came from). */
    readonly dependencies: readonly string[];
    /** Input property → URNs it came from. */
    readonly propertyDependencies: Readonly<Record<string, readonly string[]>>;
    /** Inputs with secrets unwrapped. */
    readonly inputs: Record<string, any>;
    /** Top-level input keys whose value is, or contains, a secret. */
    readonly secretInputs: ReadonlySet<string>;
    readonly protect: boolean;
    readonly retainOnDelete: boolean;
    readonly deleteBeforeReplace: boolean;
}

function isSecretValue(v: unknown): v is { value: unknown } {
    return typeof v === "object" && v !== null && (v as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;
}

/** Removes secret wrappers; returns whether any was found. */
export function unwrapSecrets(v: unknown): { value: unknown; secret: boolean } {
    if (isSecretValue(v)) return { value: unwrapSecrets(v.value).value, secret: true };
    if (Array.isArray(v)) {
        let secret = false;
        const value = v.map((e) => {
            const u = unwrapSecrets(e);
            secret = secret || u.secret;
            return u.value;
        });
        return { value, secret };
    }
    if (typeof v === "object" && v !== null) {
        let secret = false;
        const out: Record<string, unknown> = {};
        for (const [k, e] of Object.entries(v)) {
            const u = unwrapSecrets(e);
            secret = secret || u.secret;
            out[k] = u.value;
        }
        return { value: out, secret };
    }
    return { value: v, secret: false };
}

/** Outputs the fake engine returns per resource type: the package's own testing mocks (sdk/testing). */
export const mockOutputs = clusterMockOutputs;

/** A `MockMonitor` that records each registration's parent, dependencies, options and secret inputs. */
export class RecordingMonitor extends MockMonitor {
    public readonly recorded: RecordedResource[] = [];

    constructor(mocks: Mocks) {
        super(mocks);
    }

    async registerResource(req: any, callback: (err: any, innerResponse: any) => void): Promise<void> {
        const raw = (req.getObject()?.toJavaScript() ?? {}) as Record<string, unknown>;
        const inputs: Record<string, unknown> = {};
        const secretInputs = new Set<string>();
        for (const [k, v] of Object.entries(raw)) {
            const u = unwrapSecrets(v);
            inputs[k] = u.value;
            if (u.secret) secretInputs.add(k);
        }
        const propertyDependencies: Record<string, string[]> = {};
        req.getPropertydependenciesMap().forEach((deps: any, key: string) => {
            propertyDependencies[key] = deps.getUrnsList();
        });
        const type: string = req.getType();
        const name: string = req.getName();
        const parent: string = req.getParent();
        const urn = parentAwareUrn(parent, type, name);
        this.recorded.push({
            urn,
            type,
            name,
            parent,
            custom: req.getCustom(),
            dependencies: req.getDependenciesList(),
            propertyDependencies,
            inputs,
            secretInputs,
            protect: req.getProtect(),
            retainOnDelete: req.getRetainondelete(),
            deleteBeforeReplace: req.getDeletebeforereplace(),
        });
        return super.registerResource(req, callback);
    }
}

/** The URN MockMonitor gives a resource (same rule as its private newUrn). */
function parentAwareUrn(parent: string, type: string, name: string): string {
    let t = type;
    if (parent) {
        const qualifiedType = parent.split("::")[2];
        const parentType = qualifiedType.split("$").pop();
        t = `${parentType}$${type}`;
    }
    return `urn:pulumi:${pulumi.getStack()}::${pulumi.getProject()}::${t}::${name}`;
}

/** The recorded graph of one program run, with lookups used by the tests. */
/** A replica's (or its health gate's) name without the generation: "app-r0-1a2b3c4d" → "app-r0". */
export function generationless(name: string): string {
    return name.replace(/-[0-9a-f]{8}(?=$|-healthy$)/, "");
}

export class Graph {
    constructor(public readonly resources: readonly RecordedResource[]) {}

    /**
     * The resource named `name` (throws if absent or ambiguous). A pool replica is named `<pool>-<id>-<generation>`:
     * "app-r0" finds the one replica r0 (of whatever generation), and "app-r0-healthy" its health gate.
     */
    get(name: string): RecordedResource {
        let found = this.resources.filter((r) => r.name === name);
        if (found.length === 0) found = this.resources.filter((r) => generationless(r.name) === name);
        if (found.length !== 1)
            throw new Error(`expected one resource named "${name}", found ${found.length}: ${this.names().join(", ")}`);
        return found[0];
    }

    has(name: string): boolean {
        return this.resources.some((r) => r.name === name || generationless(r.name) === name);
    }

    /** All resources of `type`. */
    ofType(type: string): RecordedResource[] {
        return this.resources.filter((r) => r.type === type);
    }

    containers(): RecordedResource[] {
        return this.ofType("docker:index/container:Container");
    }

    /** All names, sorted, replicas without their generation (see `get`). */
    names(): string[] {
        return this.resources.map((r) => generationless(r.name)).sort();
    }

    /** `name → type`, sorted by name, replicas without their generation: the exact shape of the graph. */
    shape(): Record<string, string> {
        return Object.fromEntries(
            this.resources.map((r) => [generationless(r.name), r.type] as const).sort(([a], [b]) => a.localeCompare(b)),
        );
    }

    /** Name of `r`'s parent ("" for the stack). */
    parentName(name: string): string {
        const p = this.get(name).parent;
        if (!p) return "";
        return this.resources.find((r) => r.urn === p)?.name ?? `<unknown ${p}>`;
    }

    /** Names `name` depends on directly (explicit dependsOn and input dependencies). */
    dependencyNames(name: string): string[] {
        const r = this.get(name);
        const urns = new Set([...r.dependencies, ...Object.values(r.propertyDependencies).flat()]);
        return this.resources
            .filter((x) => urns.has(x.urn))
            .map((x) => x.name)
            .sort();
    }

    /** Whether `a` depends on `b`, directly or through other resources (or through b's children if b is a component). */
    dependsOn(a: string, b: string): boolean {
        const target = this.get(b).urn;
        const seen = new Set<string>();
        const stack = [this.get(a)];
        while (stack.length > 0) {
            const cur = stack.pop()!;
            const urns = [...cur.dependencies, ...Object.values(cur.propertyDependencies).flat()];
            for (const u of urns) {
                if (u === target) return true;
                if (seen.has(u)) continue;
                seen.add(u);
                const next = this.resources.find((x) => x.urn === u);
                if (next) stack.push(next);
            }
        }
        return false;
    }

    /** Docker network names a container joins. */
    networksOf(name: string): string[] {
        return ((this.get(name).inputs.networksAdvanced ?? []) as { name: string }[]).map((n) => n.name).sort();
    }

    /** Env list of a container as a map. */
    envOf(name: string): Record<string, string> {
        const envs = (this.get(name).inputs.envs ?? []) as string[];
        return Object.fromEntries(envs.map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]));
    }

    /** Labels of a container or volume as a map. */
    labelsOf(name: string): Record<string, string> {
        return Object.fromEntries(
            ((this.get(name).inputs.labels ?? []) as { label: string; value: string }[]).map((l) => [l.label, l.value]),
        );
    }
}

/** Containers publishing a host port, sorted. */
export function publishing(g: Graph): string[] {
    return g
        .containers()
        .filter((c) => Array.isArray(c.inputs.ports) && c.inputs.ports.length > 0)
        .map((c) => c.name)
        .sort();
}

/** A file a container is created with (docker's `uploads` input). */
export interface Upload {
    file: string;
    content?: string;
    contentBase64?: string;
}

/** The files container `name` is created with. */
export function uploads(g: Graph, name: string): Upload[] {
    return g.get(name).inputs.uploads;
}

/** The text of `file` among container `name`'s uploads (undefined if none has that path). */
export function upload(g: Graph, name: string, file: string): string | undefined {
    return uploads(g, name).find((u) => u.file === file)?.content;
}

export interface RunOptions {
    readonly project?: string;
    readonly stack?: string;
    readonly preview?: boolean;
    /** Stack configuration, `"<project>:<key>"` → value (strings, as the engine passes them). */
    readonly config?: Readonly<Record<string, string>>;
    /** Config keys (as in `config`) that are secret. */
    readonly secretKeys?: readonly string[];
    /** What the engine does for each registration. @default mockOutputs (fake outputs, nothing created) */
    readonly newResource?: Mocks["newResource"];
    /** Handed the monitor before the program runs (to read registrations while they happen). */
    readonly onMonitor?: (monitor: RecordingMonitor) => void;
}

export interface RunResult<T> {
    readonly graph: Graph;
    readonly result: T;
    /** Wall-clock milliseconds from starting the program to the last registration being answered. */
    readonly ms: number;
}

/**
 * Runs `program` against a fresh recording mock monitor and waits until every registration was answered.
 * Rejects with the program's error (thrown synchronously or from an apply) if there is one.
 */
export async function runProgram<T>(program: () => T, opts: RunOptions = {}): Promise<RunResult<T>> {
    const mocks: Mocks = {
        newResource: opts.newResource ?? ((args) => mockOutputs(args)),
        call: (args) => args.inputs,
    };
    const monitor = new RecordingMonitor(mocks);
    opts.onMonitor?.(monitor);
    settings.setMockOptions(monitor, opts.project ?? "project", opts.stack ?? "stack", opts.preview ?? false);
    const store = state.getStore();
    store.supportsSecrets = true;
    store.supportsResourceReferences = true;
    store.supportsOutputValues = false;
    store.supportsDeletedWith = true;
    store.supportsAliasSpecs = true;
    store.supportsTransforms = true;
    store.supportsInvokeTransforms = true;
    store.supportsInvokeDependsOn = false;
    pulumi.runtime.setAllConfig({ ...(opts.config ?? {}) }, [...(opts.secretKeys ?? [])]);

    const failures: unknown[] = [];
    const onRejection = (reason: unknown): void => {
        failures.push(reason);
    };
    process.on("unhandledRejection", onRejection);
    const start = process.hrtime.bigint();
    const drain = async (): Promise<void> => {
        await settings.waitForRPCs();
        // Outputs resolve on later ticks; drain until the queue is quiet.
        for (let i = 0; i < 3; i++) {
            await new Promise((r) => setImmediate(r));
            await settings.waitForRPCs();
        }
    };
    try {
        let result: T;
        try {
            result = program();
        } catch (e) {
            // Let whatever the program registered before failing finish against this monitor, then fail.
            await drain().catch(() => undefined);
            throw e;
        }
        await drain();
        const ms = Number(process.hrtime.bigint() - start) / 1e6;
        if (failures.length > 0) throw failures[0];
        return { graph: new Graph([...monitor.recorded]), result, ms };
    } finally {
        process.off("unhandledRejection", onRejection);
    }
}

/** Resolves an Output's value and whether it is secret (test-only: uses the SDK's internal promise fields). */
export async function peek<T>(o: pulumi.Output<T>): Promise<{ value: T; secret: boolean }> {
    const anyO = o as unknown as { promise(): Promise<T>; isSecret: Promise<boolean> };
    return { value: await anyO.promise(), secret: await anyO.isSecret };
}

/** What `construct` throws (a component rejecting its arguments), or undefined when it throws nothing. */
export function thrownBy(construct: () => unknown): unknown {
    try {
        construct();
    } catch (e) {
        return e;
    }
    return undefined;
}
