/**
 * The docker CLI against a swarm engine of the tests' own (tests/infra/swarm.sh, swarm-cluster.sh), for the swarm
 * engine tests: commands, and a shell in a service's task.
 */
import { execFile } from "child_process";

/** Runs `docker args…` against the engine at `host` (a DOCKER_HOST URL); resolves with its stdout. */
export type DockerCli = (args: string[], timeoutMs?: number) => Promise<string>;

/** The docker CLI bound to the engine at `host`. */
export function dockerAt(host: string): DockerCli {
    return (args, timeoutMs = 120000) =>
        new Promise((resolve, reject) =>
            execFile(
                "docker",
                args,
                { env: { ...process.env, DOCKER_HOST: host }, timeout: timeoutMs, encoding: "utf8" },
                (err, stdout, stderr) =>
                    err
                        ? reject(new Error(`docker ${args.join(" ")} failed: ${stderr || err.message}`))
                        : resolve(stdout),
            ),
        );
}

/** Runs `sh -c script` as root in the first running task container of `service` on the engine `docker` talks to. */
export async function inTask(docker: DockerCli, service: string, script: string): Promise<string> {
    const ids = (await docker(["ps", "-q", "--filter", `label=com.docker.swarm.service.name=${service}`])).trim();
    if (!ids) throw new Error(`no running task of ${service} on this engine`);
    return docker(["exec", "-u", "0", ids.split("\n")[0], "sh", "-c", script]);
}
