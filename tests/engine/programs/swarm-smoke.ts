/**
 * The swarm resources of @pulumi/docker under the real engine, on the swarm test engine (tests/infra/swarm.sh),
 * before any component uses them: an internal and an attachable overlay network, a `Secret`, a `ServiceConfig`,
 * a 2-replica `Service` in DNS round-robin mode (this kernel has no IPVS, so no service VIP: see
 * tests/infra/README.md) with a start-first rolling update, and a front `Service` publishing one port in host mode.
 * Config `docker:host` points the docker provider at the swarm engine; `port` is the published port, `rev` an env
 * value whose change rolls the back service.
 */
import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";

const IMAGE = "pdc-example/three-tier-app:latest";

export function swarmSmokeProgram(): Record<string, pulumi.Input<unknown>> {
    const cfg = new pulumi.Config();
    const stack = pulumi.getStack();
    const back = new docker.Network("back", {
        name: `${stack}-back`,
        driver: "overlay",
        internal: true,
        attachable: true,
    });
    const front = new docker.Network("front", { name: `${stack}-front`, driver: "overlay", attachable: true });
    const secret = new docker.Secret("token", {
        name: `${stack}-token`,
        data: Buffer.from("s3cret-token").toString("base64"),
    });
    const conf = new docker.ServiceConfig("conf", {
        name: `${stack}-conf`,
        data: Buffer.from("smoke-conf\n").toString("base64"),
    });
    const web = new docker.Service("web", {
        name: `${stack}-web`,
        mode: { replicated: { replicas: 2 } },
        endpointSpec: { mode: "dnsrr" },
        taskSpec: {
            containerSpec: {
                image: IMAGE,
                commands: ["python3", "-m", "http.server", "8080"],
                env: { REV: cfg.require("rev") },
                secrets: [
                    { secretId: secret.id, secretName: secret.name, fileName: "/run/secrets/token", fileMode: 0o400 },
                ],
                healthcheck: {
                    tests: ["CMD", "python3", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:8080/')"],
                    interval: "1s",
                    timeout: "2s",
                    retries: 3,
                },
            },
            networksAdvanceds: [{ name: back.id, aliases: ["web"] }],
        },
        updateConfig: { parallelism: 1, order: "start-first", failureAction: "rollback", monitor: "3s" },
        rollbackConfig: { parallelism: 1, order: "start-first" },
        // Without it the provider returns as soon as the spec is accepted, before any task runs.
        convergeConfig: { delay: "1s", timeout: "2m" },
    });
    const edge = new docker.Service("edge", {
        name: `${stack}-edge`,
        mode: { replicated: { replicas: 1 } },
        endpointSpec: {
            mode: "dnsrr",
            ports: [{ targetPort: 8080, publishedPort: cfg.requireNumber("port"), publishMode: "host" }],
        },
        taskSpec: {
            containerSpec: {
                image: IMAGE,
                commands: ["python3", "-m", "http.server", "8080"],
                configs: [{ configId: conf.id, configName: conf.name, fileName: "/srv/conf.txt" }],
            },
            networksAdvanceds: [{ name: back.id }, { name: front.id }],
        },
        convergeConfig: { delay: "1s", timeout: "2m" },
    });
    return { web: web.name, edge: edge.name, back: back.name, front: front.name };
}
