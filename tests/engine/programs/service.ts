/**
 * `Service` under the real engine. Config `mode`: "raw" builds the `cache` container by hand at the stack's root
 * the way examples/rails-consul did before it used `Service`; "service" builds it as a `Service` that adopts it.
 * Both modes also run `workers` (two replicas sharing a created volume, gated on a health check, a secret env
 * value, a secret file) and `pub` (one container publishing a UDP and a TCP port on 127.0.0.1, config `port`, a
 * secret file owned by uid 65534), and an `AppServerPool` `keeper` of any image (`appContract: false`, one replica)
 * with its own created volume, the workers' volume read-only, a host directory (config `hostDir`) and a published
 * TCP port (config `keeperPort`); config `revision` (an env value) changes its container.
 */
import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import { AppServerPool, dockerName, labelList, Service, standardLabels, TieredNetwork } from "../../../sdk";

const IMAGE = "debian:bookworm-slim";
const SLEEP = ["sleep", "infinity"];

export function serviceProgram(): Record<string, pulumi.Input<unknown>> {
    const cfg = new pulumi.Config();
    const network = new TieredNetwork("net", { tiers: { app: {} } });
    const labels = standardLabels(pulumi.getProject(), pulumi.getStack(), "cache", "cache");
    let cache: pulumi.Input<string>;
    if (cfg.require("mode") === "raw") {
        const img = new docker.RemoteImage("cache-image", { name: IMAGE, keepLocally: true });
        cache = new docker.Container(
            "cache",
            {
                name: dockerName("cache"),
                image: img.imageId,
                command: SLEEP,
                networksAdvanced: network.attach(["app"], ["cache"]),
                restart: "unless-stopped",
                labels: labelList(labels),
            },
            { deleteBeforeReplace: true },
        ).name;
    } else {
        const svc = new Service("cache", {
            network,
            image: IMAGE,
            command: SLEEP,
            adopt: { container: "cache", labels },
        });
        cache = svc.containerNames.apply((n) => n[0]);
    }
    const workers = new Service("workers", {
        network,
        image: IMAGE,
        replicas: 2,
        command: ["sh", "-c", 'echo "$HOSTNAME $GREETING" >> /data/seen && exec sleep infinity'],
        hostname: "worker",
        env: { GREETING: pulumi.secret("hello") },
        secretFiles: { token: { value: pulumi.secret("s3cret-token"), env: "TOKEN_FILE", mode: "0400" } },
        volumes: [{ name: "data", containerPath: "/data" }],
        healthcheck: { test: ["CMD-SHELL", 'grep -q "^$HOSTNAME " /data/seen'], interval: "1s", startPeriod: "5s" },
        healthTimeoutSeconds: 60,
    });
    const port = cfg.requireNumber("port");
    const pub = new Service("pub", {
        network,
        image: IMAGE,
        command: SLEEP,
        ports: [
            { internal: 5353, external: port, protocol: "udp" },
            { internal: 8080, external: port },
        ],
        startAfter: [workers],
        secretFiles: { id: { value: "pub-id-value", mode: "0440", owner: 65534, group: 65534 } },
    });
    const keeper = new AppServerPool("keeper", {
        network,
        tiers: ["app"],
        image: IMAGE,
        appContract: false,
        command: ["sleep", "infinity"],
        env: { REVISION: cfg.require("revision") },
        volumes: [
            { name: "files", containerPath: "/files" },
            { volume: workers.volumes.data, containerPath: "/shared", readOnly: true },
            { hostPath: cfg.require("hostDir"), containerPath: "/host" },
        ],
        ports: [{ internal: 9090, external: cfg.requireNumber("keeperPort"), ip: "127.0.0.1" }],
        startAfter: [workers],
    });
    return { cache, workers: workers.containerNames, pub: pub.containerNames, keeper: keeper.containerNames };
}
