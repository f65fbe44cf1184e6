/**
 * `Service` on the private Docker engine under the real Pulumi engine: a hand-made container taken over with
 * `adopt` without a replacement, replicas sharing a created volume and gated on their health check, UDP and TCP
 * ports published on 127.0.0.1, a pool of any image with created, shared and host-directory volumes and a
 * published port whose data survives a replacement, a second `up` that changes nothing (the inputs are stored as
 * given), and a destroy that keeps the created volumes (retainOnDelete).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { dockerCli } from "../support/docker-api";
import { freePort } from "../support/net";
import { engine, EngineRequest, EngineResult, stackDir, stateFiles, steps } from "../support/engine";

jest.setTimeout(600000);

const STACK = `svc${process.pid}`;
const PREFIX = `service-${STACK}-`;
const dir = stackDir("service");
let port = 0;
let keeperPort = 0;
let revision = "1";
const hostDir = fs.mkdtempSync(path.join(os.tmpdir(), "pdc-keeper-"));

async function run(op: EngineRequest["op"], mode: "raw" | "service" = "service"): Promise<EngineResult> {
    const r = await engine({
        op,
        dir,
        project: "service",
        stack: STACK,
        program: { module: "tests/engine/programs/service.ts", export: "serviceProgram" },
        config: {
            mode: { value: mode },
            port: { value: String(port) },
            keeperPort: { value: String(keeperPort) },
            revision: { value: revision },
            hostDir: { value: hostDir },
        },
    });
    if (r.error) throw new Error(`pulumi ${op} failed: ${r.error}\n${r.output}`);
    return r;
}

const inspect = async (name: string, format: string): Promise<string> =>
    (await dockerCli(["inspect", "--format", format, `${PREFIX}${name}`])).trim();

beforeAll(async () => {
    port = await freePort();
    // Two free ports: the kernel may hand out the one just closed again.
    for (let i = 0; i < 20 && (keeperPort === 0 || keeperPort === port); i++) keeperPort = await freePort();
    fs.writeFileSync(path.join(hostDir, "from-host"), "host file\n");
});

afterAll(async () => {
    await run("destroy").catch(() => undefined);
    await dockerCli(["volume", "rm", "-f", `${PREFIX}workers-vol-data`, `${PREFIX}keeper-vol-files`]).catch(
        () => undefined,
    );
    fs.rmSync(hostDir, { recursive: true, force: true });
});

describe("Service (real engine)", () => {
    it("adopt: a hand-made container becomes a Service's child with no replacement", async () => {
        await run("up", "raw");
        const id = await inspect("cache", "{{.Id}}");
        const up = await run("up", "service");
        // Only the new component itself: the container and its image are the old ones under their aliases.
        expect(steps(up.output).filter((s) => s.includes("docker:"))).toEqual([]);
        expect(await inspect("cache", "{{.Id}}")).toBe(id);
    });

    it("replicas share the created volume, are healthy, get their host names and the secret env", async () => {
        for (const r of ["r0", "r1"]) {
            expect(await inspect(`workers-${r}`, "{{.State.Health.Status}}")).toBe("healthy");
            expect(await inspect(`workers-${r}`, "{{.Config.Hostname}}")).toBe(`worker-${r}`);
        }
        const seen = await dockerCli(["exec", `${PREFIX}workers-r0`, "cat", "/data/seen"]);
        expect(seen.trim().split("\n").sort()).toEqual(["worker-r0 hello", "worker-r1 hello"]);
        expect(stateFiles(dir)).not.toContain("GREETING=hello");
    });

    it("secret files: in /run/secrets with their mode and owner, the *_FILE variable set, never in Env or state", async () => {
        const token = await dockerCli([
            "exec",
            `${PREFIX}workers-r0`,
            "sh",
            "-c",
            'stat -c "%a %u %g" "$TOKEN_FILE"; cat "$TOKEN_FILE"',
        ]);
        expect(token.trim().split("\n")).toEqual(["400 0 0", "s3cret-token"]);
        const id = await dockerCli(["exec", `${PREFIX}pub-r0`, "stat", "-c", "%a %u %g", "/run/secrets/id"]);
        expect(id.trim()).toBe("440 65534 65534");
        for (const c of ["workers-r0", "workers-r1", "pub-r0"])
            expect(await inspect(c, "{{json .Config.Env}}")).not.toMatch(/s3cret-token|pub-id-value/);
        expect(stateFiles(dir)).not.toMatch(/s3cret-token|pub-id-value/);
    });

    it("ports: UDP and TCP published on 127.0.0.1", async () => {
        const bindings = JSON.parse(await inspect("pub-r0", "{{json .HostConfig.PortBindings}}"));
        expect(bindings).toEqual({
            "5353/udp": [{ HostIp: "127.0.0.1", HostPort: String(port) }],
            "8080/tcp": [{ HostIp: "127.0.0.1", HostPort: String(port) }],
        });
    });

    it("pool volumes and port: created, shared read-only, host directory, published on 127.0.0.1; the data outlives a replacement", async () => {
        const keeper = "keeper-r0";
        expect(await inspect(keeper, "{{json .HostConfig.PortBindings}}")).toBe(
            JSON.stringify({ "9090/tcp": [{ HostIp: "127.0.0.1", HostPort: String(keeperPort) }] }),
        );
        const mounts = JSON.parse(await inspect(keeper, "{{json .Mounts}}")) as {
            Type: string;
            Name?: string;
            Source: string;
            Destination: string;
            RW: boolean;
        }[];
        const at = (d: string) => mounts.find((m) => m.Destination === d);
        expect(at("/files")).toMatchObject({ Type: "volume", Name: `${PREFIX}keeper-vol-files`, RW: true });
        expect(at("/shared")).toMatchObject({ Type: "volume", Name: `${PREFIX}workers-vol-data`, RW: false });
        expect(at("/host")).toMatchObject({ Type: "bind", Source: hostDir, RW: true });
        const sh = (cmd: string) => dockerCli(["exec", `${PREFIX}${keeper}`, "sh", "-c", cmd]);
        expect((await sh("cat /shared/seen")).trim().split("\n").sort()).toEqual([
            "worker-r0 hello",
            "worker-r1 hello",
        ]);
        await expect(sh("touch /shared/nope")).rejects.toThrow(/Read-only file system/);
        expect((await sh("cat /host/from-host")).trim()).toBe("host file");
        await sh("echo kept > /files/marker");

        const before = await inspect(keeper, "{{.Id}}");
        revision = "2";
        await run("up");
        expect(await inspect(keeper, "{{.Id}}")).not.toBe(before);
        expect((await sh('echo "$REVISION"; cat /files/marker')).trim().split("\n")).toEqual(["2", "kept"]);
        expect(await inspect(keeper, "{{json .HostConfig.PortBindings}}")).toContain(`"HostPort":"${keeperPort}"`);
    });

    it("a second up changes nothing", async () => {
        const again = await run("up");
        expect(steps(again.output)).toEqual([]);
    });

    it("destroy keeps the created volume", async () => {
        await run("destroy");
        expect(await dockerCli(["ps", "-a", "-q", "--filter", `name=^${PREFIX}`])).toBe("");
        for (const v of ["workers-vol-data", "keeper-vol-files"])
            expect((await dockerCli(["volume", "ls", "-q", "--filter", `name=^${PREFIX}${v}$`])).trim()).toBe(
                `${PREFIX}${v}`,
            );
    });
});
