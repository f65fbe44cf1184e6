/**
 * Drives the bootstrap provider the way the Pulumi engine does: the provider is closure-serialized as
 * `dynamic.Resource` does it, and every call goes over gRPC to Pulumi's own dynamic-provider host process
 * (`@pulumi/pulumi/cmd/dynamic-provider`). Values cross as protobuf Structs, as the engine sends them (with
 * secrets already unwrapped, since that host does not accept secrets).
 */
import { ChildProcess, execFileSync, spawn } from "child_process";
import * as path from "path";
import * as grpc from "@grpc/grpc-js";
import type { InstalledPackage } from "./installed-package";

const provrpc = require("@pulumi/pulumi/proto/provider_grpc_pb");
const provproto = require("@pulumi/pulumi/proto/provider_pb");
const structproto = require("google-protobuf/google/protobuf/struct_pb");

const ROOT = path.resolve(__dirname, "../..");
type Props = Record<string, any>;

/** The dynamic providers of this repository. */
export type ProviderName = "bootstrap" | "readiness" | "consul-acl";
const serialized = new Map<string, string>();

/**
 * A provider's serialized text, computed once per test process in a plain Node child: from this repository's
 * source, or, given an installed package's project directory, from that package as serialized in that project.
 */
export function serializedProvider(which: ProviderName = "bootstrap", project?: string): string {
    const key = `${which}\0${project ?? ""}`;
    if (!serialized.has(key)) {
        const args = [
            "-r",
            "ts-node/register/transpile-only",
            path.join(ROOT, "tests/support/serialize-provider.ts"),
            which,
            ...(project ? [project] : []),
        ];
        serialized.set(
            key,
            execFileSync(process.execPath, args, { cwd: ROOT, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 }),
        );
    }
    return serialized.get(key)!;
}

/** Drops undefined values, as the engine's property marshalling does. */
function plain(v: object): Props {
    return JSON.parse(JSON.stringify(v));
}

function struct(v: object) {
    return structproto.Struct.fromJavaScript(plain(v));
}

export interface CheckFailure {
    property: string;
    reason: string;
}

export class ProviderHost {
    private proc?: ChildProcess;
    private client?: grpc.Client & Record<string, (...args: any[]) => any>;
    /** Everything the host wrote to stderr (the provider's log). */
    public stderr = "";
    /** Where the host listens for gRPC, once started. */
    public address = "";

    /**
     * `provider`: which of this repository's providers requests carry when they bring none of their own.
     * `installed`: run as in a user's project that installed this package, with the provider serialized there;
     * by default, in this repository with the provider serialized from its source.
     */
    constructor(
        private readonly provider: ProviderName = "bootstrap",
        private readonly installed?: InstalledPackage,
    ) {}

    async start(): Promise<void> {
        const hostScript = require.resolve("@pulumi/pulumi/cmd/dynamic-provider/index.js", {
            paths: [this.installed?.project ?? ROOT],
        });
        const proc = spawn(process.execPath, [hostScript, "127.0.0.1:1"], {
            cwd: this.installed?.project ?? ROOT,
            stdio: ["ignore", "pipe", "pipe"],
        });
        this.proc = proc;
        proc.stderr!.on("data", (d) => (this.stderr += d.toString()));
        const port = await new Promise<string>((resolve, reject) => {
            let out = "";
            const timer = setTimeout(
                () => reject(new Error(`dynamic provider host printed no port in 30s; stderr: ${this.stderr}`)),
                30000,
            );
            proc.stdout!.on("data", (d) => {
                out += d.toString();
                const m = /^(\d+)\s*$/m.exec(out);
                if (m) {
                    clearTimeout(timer);
                    resolve(m[1]);
                }
            });
            proc.on("exit", (code) => reject(new Error(`dynamic provider host exited with ${code}: ${this.stderr}`)));
        });
        this.address = `127.0.0.1:${port}`;
        this.client = new provrpc.ResourceProviderClient(this.address, grpc.credentials.createInsecure());
    }

    /** Resolves once the provider's log contains `text` (stderr can trail the gRPC answer); fails after 5 s. */
    async waitForLog(text: string): Promise<void> {
        const deadline = Date.now() + 5000;
        while (!this.stderr.includes(text)) {
            if (Date.now() > deadline)
                throw new Error(`provider log never contained ${JSON.stringify(text)}; log:\n${this.stderr}`);
            await new Promise((r) => setTimeout(r, 20));
        }
    }

    async stop(): Promise<void> {
        this.client?.close();
        if (this.proc && this.proc.exitCode === null) {
            const exited = new Promise((r) => this.proc!.once("exit", r));
            this.proc.kill();
            await exited;
        }
    }

    private call<T>(method: string, req: unknown): Promise<T> {
        return new Promise((resolve, reject) => {
            this.client![method](req, (err: grpc.ServiceError | null, resp: T) =>
                err ? reject(new Error(err.details || err.message)) : resolve(resp),
            );
        });
    }

    /** `props` with the serialized provider: the one they carry (a program's own), else this repository's. */
    private withProvider(props: object): Props {
        const own = (props as Props).__provider;
        return {
            ...props,
            __provider:
                typeof own === "string" && own.length > 0
                    ? own
                    : serializedProvider(this.provider, this.installed?.project),
        };
    }

    /** Check: returns the checked inputs (with __provider) and failures. */
    async check(olds: object, news: object): Promise<{ inputs: Props; failures: CheckFailure[] }> {
        const req = new provproto.CheckRequest();
        req.setUrn("urn:pulumi:test::test::pulumi-nodejs:dynamic/postgres:Bootstrap::b");
        req.setOlds(struct(Object.keys(olds).length ? this.withProvider(olds) : {}));
        req.setNews(struct(this.withProvider(news)));
        const resp = await this.call<any>("check", req);
        return {
            inputs: resp.getInputs().toJavaScript(),
            failures: resp.getFailuresList().map((f: any) => ({ property: f.getProperty(), reason: f.getReason() })),
        };
    }

    /** Diff: "some" | "none" | "unknown", and the replaced properties. */
    async diff(
        id: string,
        olds: object,
        news: object,
    ): Promise<{ changes: "some" | "none" | "unknown"; replaces: string[] }> {
        const req = new provproto.DiffRequest();
        req.setId(id);
        req.setUrn("urn:pulumi:test::test::pulumi-nodejs:dynamic/postgres:Bootstrap::b");
        req.setOlds(struct(this.withProvider(olds)));
        req.setNews(struct(this.withProvider(news)));
        const resp = await this.call<any>("diff", req);
        const c = resp.getChanges();
        const D = provproto.DiffResponse.DiffChanges;
        return {
            changes: c === D.DIFF_SOME ? "some" : c === D.DIFF_NONE ? "none" : "unknown",
            replaces: resp.getReplacesList(),
        };
    }

    /**
     * A Create request for `props`, encoded as it goes over the wire. Benchmarks encode ahead and send the bytes
     * (`bench/engines.ts`): the real engine marshals in Go, and google-protobuf's JavaScript coder takes
     * milliseconds for the serialized provider.
     */
    createRequestBytes(props: object): Buffer {
        const req = new provproto.CreateRequest();
        req.setUrn("urn:pulumi:test::test::pulumi-nodejs:dynamic/postgres:Bootstrap::b");
        req.setProperties(struct(this.withProvider(props)));
        return Buffer.from(req.serializeBinary());
    }

    /** Decodes an encoded Create answer. */
    static decodeCreateResponse(bytes: Buffer): { id: string; outs: Props } {
        const resp = provproto.CreateResponse.deserializeBinary(new Uint8Array(bytes));
        return { id: resp.getId(), outs: resp.getProperties().toJavaScript() };
    }

    async create(props: object): Promise<{ id: string; outs: Props }> {
        const req = new provproto.CreateRequest();
        req.setUrn("urn:pulumi:test::test::pulumi-nodejs:dynamic/postgres:Bootstrap::b");
        req.setProperties(struct(this.withProvider(props)));
        const resp = await this.call<any>("create", req);
        return { id: resp.getId(), outs: resp.getProperties().toJavaScript() };
    }

    async update(id: string, olds: object, news: object): Promise<Props> {
        const req = new provproto.UpdateRequest();
        req.setId(id);
        req.setUrn("urn:pulumi:test::test::pulumi-nodejs:dynamic/postgres:Bootstrap::b");
        req.setOlds(struct(this.withProvider(olds)));
        req.setNews(struct(this.withProvider(news)));
        const resp = await this.call<any>("update", req);
        return resp.getProperties().toJavaScript();
    }

    /**
     * Times one Update call from the moment the request leaves: the request is marshalled first, outside the
     * timer, because the real engine marshals in Go and this harness in slower JavaScript.
     */
    async timedUpdate(id: string, olds: object, news: object): Promise<number> {
        const req = new provproto.UpdateRequest();
        req.setId(id);
        req.setUrn("urn:pulumi:test::test::pulumi-nodejs:dynamic/postgres:Bootstrap::b");
        req.setOlds(struct(this.withProvider(olds)));
        req.setNews(struct(this.withProvider(news)));
        const started = process.hrtime.bigint();
        await this.call<unknown>("update", req);
        return Number(process.hrtime.bigint() - started) / 1e6;
    }

    async read(id: string, props: object): Promise<{ id: string; props: Props; inputs?: Props }> {
        const req = new provproto.ReadRequest();
        req.setId(id);
        req.setUrn("urn:pulumi:test::test::pulumi-nodejs:dynamic/postgres:Bootstrap::b");
        req.setProperties(struct(this.withProvider(props)));
        const resp = await this.call<any>("read", req);
        return {
            id: resp.getId(),
            props: resp.getProperties().toJavaScript(),
            inputs: resp.getInputs()?.toJavaScript(),
        };
    }

    async delete(id: string, props: object): Promise<void> {
        const req = new provproto.DeleteRequest();
        req.setId(id);
        req.setUrn("urn:pulumi:test::test::pulumi-nodejs:dynamic/postgres:Bootstrap::b");
        req.setProperties(struct(this.withProvider(props)));
        await this.call<unknown>("delete", req);
    }
}
