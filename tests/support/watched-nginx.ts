/**
 * The real nginx image running the load balancer's watcher (`nginxWatcherScript`) on the private Docker engine,
 * hardened with the component's default container settings (`NGINX_PROFILE`: read-only root, tmpfs, reduced
 * capabilities; no-new-privileges, bounded logs), with the component's config volume stood in for by a directory
 * of this machine mounted read-only. Shared by the
 * watcher tests: each writes files into `dir` (at the component's paths, through `local`) and watches nginx follow.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
    containerSettings,
    NGINX_CONF_DIR,
    NGINX_CONF_PATH,
    NGINX_PROFILE,
    type NginxConfigSpec,
    nginxWatcherScript,
    renderNginxConf,
    sealNginxConf,
    UPSTREAMS_DIR,
} from "../../sdk";
import { containerFlags } from "./container-flags";
import { containerLogs, dockerCli } from "./docker-api";

/** The settings every watcher test shares (listen 80, no upstreams); `extra` adds or overrides. */
export function watcherConf(extra: Partial<NginxConfigSpec> = {}): { text: string; digest: string } {
    return sealNginxConf(
        renderNginxConf({
            listenPort: 80,
            serverName: "_",
            user: "nginx",
            upstreams: [],
            locations: [],
            clientMaxBodySize: "1m",
            healthPath: "/nginx-health",
            configDigestPath: "/nginx-config",
            mimeTypes: "/etc/nginx/mime.types",
            errorLog: "/var/log/nginx/error.log",
            accessLog: "/var/log/nginx/access.log",
            ...extra,
        }),
    );
}

/** Polls `what` (a throw counts as not yet) every `everyMs` until it holds; throws after `ms`. */
export async function until(what: () => Promise<boolean>, ms = 20000, everyMs = 100): Promise<void> {
    const deadline = Date.now() + ms;
    while (!(await what().catch(() => false))) {
        if (Date.now() > deadline) throw new Error("condition not met in time");
        await new Promise((r) => setTimeout(r, everyMs));
    }
}

export class WatchedNginx {
    /** The directory mounted at NGINX_CONF_DIR. */
    readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), "pdc-watched-nginx-"));

    /** `name` is the container's name; make it unique per process (e.g. with the pid). */
    constructor(readonly name: string) {
        fs.chmodSync(this.dir, 0o755);
    }

    /** Where a path inside the container's config directory is on this machine. */
    local(containerPath: string): string {
        return path.join(this.dir, path.relative(NGINX_CONF_DIR, containerPath));
    }

    /**
     * Writes the config (and a first replica list) and starts the container publishing `ports` (host → container),
     * on `network` if given (the default bridge else).
     */
    async start(conf: string, ports: Record<number, number>, script: string, network?: string): Promise<void> {
        fs.writeFileSync(this.local(NGINX_CONF_PATH), conf);
        fs.writeFileSync(path.join(this.dir, "replicas"), "a\n");
        const publish = Object.entries(ports).flatMap(([host, inside]) => ["-p", `127.0.0.1:${host}:${inside}`]);
        await dockerCli([
            "run",
            "-d",
            "--name",
            this.name,
            ...publish,
            ...(network ? ["--network", network] : []),
            "-v",
            `${this.dir}:${NGINX_CONF_DIR}:ro`,
            // Hardened as NginxLoadBalancer runs nginx by default (read-only root, tmpfs, capabilities, logs).
            ...containerFlags(containerSettings(undefined, undefined, NGINX_PROFILE)),
            "--entrypoint",
            "/bin/sh",
            "nginx:stable-bookworm",
            "-c",
            script,
        ]);
    }

    /** The container's log, stdout and stderr both (the watcher reports on stderr). */
    logs(): Promise<string> {
        return containerLogs(this.name);
    }

    async remove(): Promise<void> {
        await dockerCli(["rm", "-f", this.name]).catch(() => undefined);
        fs.rmSync(this.dir, { recursive: true, force: true });
    }
}

/**
 * `docker create` arguments for nginx as the load balancer runs it in consul-template mode: the watcher as its
 * command, NGINX_PROFILE's hardening, the config volume at NGINX_CONF_DIR, the rendered upstreams at UPSTREAMS_DIR,
 * port 80 published on 127.0.0.1:`webPort`.
 */
export function consulModeNginxCreateArgs(o: {
    name: string;
    network: string;
    webPort: number;
    configVolume: string;
    upstreamsVolume: string;
    image: string;
}): string[] {
    return [
        "create",
        "--name",
        o.name,
        "--network",
        o.network,
        "-p",
        `127.0.0.1:${o.webPort}:80`,
        "-v",
        `${o.configVolume}:${NGINX_CONF_DIR}`,
        "-v",
        `${o.upstreamsVolume}:${UPSTREAMS_DIR}`,
        ...containerFlags(containerSettings(undefined, undefined, NGINX_PROFILE)),
        "--entrypoint",
        "/bin/sh",
        o.image,
        "-c",
        nginxWatcherScript(),
    ];
}
