/**
 * TLS in the real nginx image with the load balancer's watcher, on the private Docker engine (as
 * nginx-watcher.test.ts): the config volume stood in for by a read-only directory holding the config and the TLS
 * files at the component's paths (key mode 0600). HTTPS serves, HTTP redirects, and a renewed certificate alone
 * (same config) is loaded by a graceful reload, because the watcher watches the TLS files too.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as tls from "tls";
import {
    NGINX_CONF_DIR,
    NGINX_CONF_PATH,
    NGINX_TLS_CERT_PATH,
    NGINX_TLS_KEY_PATH,
    nginxWatcherScript,
    renderNginxConf,
    sealNginxConf,
} from "../../sdk";
import { dockerCli } from "../support/docker-api";
import { httpRequest } from "../support/http";
import { freePortIn } from "../support/net";

jest.setTimeout(180000);

const NAME = `tls-watcher-${process.pid}`;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pdc-tls-watcher-"));
let httpPort = 0;
let httpsPort = 0;

const local = (p: string) => path.join(dir, path.relative(NGINX_CONF_DIR, p));

function writeCert(cn: string): void {
    execFileSync(
        "openssl",
        ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", `/CN=${cn}`].concat([
            "-keyout",
            local(NGINX_TLS_KEY_PATH),
            "-out",
            local(NGINX_TLS_CERT_PATH),
        ]),
        { stdio: "pipe" },
    );
    fs.chmodSync(local(NGINX_TLS_KEY_PATH), 0o600);
}

/** The subject CN of the certificate nginx presents on the HTTPS port. */
function servedCn(): Promise<string> {
    return new Promise((resolve, reject) => {
        const s = tls.connect({ host: "127.0.0.1", port: httpsPort, rejectUnauthorized: false }, () => {
            const cn = s.getPeerCertificate().subject?.CN;
            s.end();
            resolve(String(cn));
        });
        s.on("error", reject);
    });
}

async function until(what: () => Promise<boolean>, ms = 20000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!(await what().catch(() => false))) {
        if (Date.now() > deadline) throw new Error("condition not met in time");
        await new Promise((r) => setTimeout(r, 200));
    }
}

let digest = "";

beforeAll(async () => {
    // Two ranges: freePortIn picks by pid, so one range would give the same free port twice.
    httpPort = await freePortIn(18000, 18499);
    httpsPort = await freePortIn(18500, 18999);
    fs.chmodSync(dir, 0o755);
    fs.mkdirSync(local(path.dirname(NGINX_TLS_KEY_PATH)));
    writeCert("first.test");
    const sealed = sealNginxConf(
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
            tls: {
                listenPort: 443,
                hostPort: httpsPort,
                certificatePath: NGINX_TLS_CERT_PATH,
                keyPath: NGINX_TLS_KEY_PATH,
                redirectHttp: true,
            },
        }),
    );
    digest = sealed.digest;
    fs.writeFileSync(local(NGINX_CONF_PATH), sealed.text);
    fs.writeFileSync(path.join(dir, "replicas"), "a\n");
    await dockerCli([
        "run",
        "-d",
        "--name",
        NAME,
        "-p",
        `127.0.0.1:${httpPort}:80`,
        "-p",
        `127.0.0.1:${httpsPort}:443`,
        "-v",
        `${dir}:${NGINX_CONF_DIR}:ro`,
        "--entrypoint",
        "/bin/sh",
        "nginx:stable-bookworm",
        "-c",
        nginxWatcherScript(undefined, undefined, 1, undefined, [NGINX_TLS_CERT_PATH, NGINX_TLS_KEY_PATH]),
    ]);
    await until(async () => (await servedCn()) === "first.test");
});

afterAll(async () => {
    await dockerCli(["rm", "-f", NAME]).catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
});

test("HTTPS serves the certificate; plain HTTP answers the digest and redirects the rest to HTTPS", async () => {
    expect((await httpRequest(httpPort, "/nginx-config")).body.trim()).toBe(digest);
    const r = await httpRequest(httpPort, "/users?page=2");
    expect(r.status).toBe(301);
    expect(String(r.headers.location)).toMatch(new RegExp(`^https://[^/]+:${httpsPort}/users\\?page=2$`));
});

test("a renewed certificate alone is loaded by a reload (the watcher watches the TLS files)", async () => {
    writeCert("renewed.test");
    await until(async () => (await servedCn()) === "renewed.test");
});
