/**
 * Docker Swarm under the real Pulumi engine, on the single-node swarm of tests/infra/swarm.sh (its own engine in
 * its own network namespace; `PDC_SWARM_DOCKER_HOST`, `PDC_SWARM_NODE_IP`). First the raw swarm resources of
 * @pulumi/docker (overlay networks, Secret, ServiceConfig, Service with a start-first rolling update and a port
 * published in host mode), as the docker plugin built here drives them.
 */
import { execFile } from "child_process";
import { engine, EngineRequest, EngineResult, stackDir, stateFiles } from "../support/engine";

jest.setTimeout(600000);

const SWARM_HOST = process.env.PDC_SWARM_DOCKER_HOST ?? "unix:///tmp/pdc-swarm.sock";
const NODE_IP = process.env.PDC_SWARM_NODE_IP ?? "10.213.0.2";
const STACK = `sw${process.pid}`;
const dir = stackDir("swarm");
// Host-mode ports are bound on the node's own namespace: no clash with the shared engine's 127.0.0.1 ports.
const PORT = 20000 + (process.pid % 1000);

function swarm(args: string[], timeoutMs = 120000): Promise<string> {
    return new Promise((resolve, reject) =>
        execFile(
            "docker",
            args,
            { env: { ...process.env, DOCKER_HOST: SWARM_HOST }, timeout: timeoutMs, encoding: "utf8" },
            (err, stdout, stderr) =>
                err ? reject(new Error(`docker ${args.join(" ")} failed: ${stderr || err.message}`)) : resolve(stdout),
        ),
    );
}

/** Runs `sh -c script` as root in the first running task container of a service. */
async function inTask(service: string, script: string): Promise<string> {
    const ids = (await swarm(["ps", "-q", "--filter", `label=com.docker.swarm.service.name=${service}`])).trim();
    if (!ids) throw new Error(`no running task of ${service}`);
    return swarm(["exec", "-u", "0", ids.split("\n")[0], "sh", "-c", script]);
}

async function run(op: EngineRequest["op"], rev = "1"): Promise<EngineResult> {
    const r = await engine({
        op,
        dir,
        project: "swarm",
        stack: STACK,
        program: { module: "tests/engine/programs/swarm-smoke.ts", export: "swarmSmokeProgram" },
        config: {
            "docker:host": { value: SWARM_HOST },
            port: { value: String(PORT) },
            rev: { value: rev },
        },
    });
    if (r.error) throw new Error(`pulumi ${op} failed: ${r.error}\n${r.output}`);
    return r;
}

async function httpStatus(url: string): Promise<number> {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    await res.text();
    return res.status;
}

afterAll(async () => {
    await run("destroy").catch(() => undefined);
});

describe("swarm resources of @pulumi/docker (real engine, single-node swarm)", () => {
    it("up: overlay networks, secret, config, a 2-replica dnsrr service and a host-mode published port", async () => {
        await run("up");
        const replicas = await swarm([
            "service",
            "ls",
            "--filter",
            `name=${STACK}-`,
            "--format",
            "{{.Name}} {{.Replicas}}",
        ]);
        expect(replicas.trim().split("\n").sort()).toEqual([`${STACK}-edge 1/1`, `${STACK}-web 2/2`]);
        expect(
            (
                await swarm(["network", "inspect", "-f", "{{.Driver}} {{.Internal}} {{.Attachable}}", `${STACK}-back`])
            ).trim(),
        ).toBe("overlay true true");
        expect(await httpStatus(`http://${NODE_IP}:${PORT}/conf.txt`)).toBe(404);
    });

    it("names: the back service by its alias and tasks.<name> from the edge (2 task IPs), not from outside its network", async () => {
        const out = await inTask(
            `${STACK}-edge`,
            `getent hosts tasks.${STACK}-web | wc -l; getent hosts web | wc -l; cat /srv/conf.txt`,
        );
        expect(out.trim().split("\n")).toEqual(["2", "2", "smoke-conf"]);
        // The edge reaches a replica through the name.
        await inTask(
            `${STACK}-edge`,
            `python3 -c "import urllib.request as u; u.urlopen('http://web:8080/', timeout=5)"`,
        );
    });

    it("secret: mounted at /run/secrets with its mode, never in the env or the state", async () => {
        const out = await inTask(`${STACK}-web`, 'stat -c "%a" /run/secrets/token; cat /run/secrets/token; echo; env');
        const [mode, value, ...env] = out.trim().split("\n");
        expect([mode, value]).toEqual(["400", "s3cret-token"]);
        expect(env.join("\n")).not.toContain("s3cret-token");
        expect(stateFiles(dir)).not.toContain("s3cret-token");
    });

    it("rolling update: start-first, completed, the new env on both replicas", async () => {
        await run("up", "2");
        const state = await swarm([
            "service",
            "inspect",
            "-f",
            "{{.UpdateStatus.State}} {{json .Spec.UpdateConfig}}",
            `${STACK}-web`,
        ]);
        expect(state).toMatch(/^completed /);
        expect(state).toContain('"Order":"start-first"');
        expect(state).toContain('"FailureAction":"rollback"');
        const revs = await swarm([
            "ps",
            "--filter",
            `label=com.docker.swarm.service.name=${STACK}-web`,
            "--format",
            "{{.ID}}",
        ]);
        const ids = revs.trim().split("\n");
        expect(ids).toHaveLength(2);
        for (const id of ids) expect((await swarm(["exec", id, "printenv", "REV"])).trim()).toBe("2");
    });
});
