/**
 * TLS in the real nginx image with the load balancer's watcher, on the private Docker engine (as
 * nginx-watcher.test.ts): the config volume stood in for by a read-only directory holding the config and the TLS
 * files at the component's paths (key mode 0600). HTTPS serves, HTTP redirects, and a renewed certificate alone
 * (same config) is loaded by a graceful reload, because the watcher watches the TLS files too.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as tls from "tls";
import { NGINX_TLS_CERT_PATH, NGINX_TLS_KEY_PATH, nginxWatcherScript } from "../../sdk";
import { httpRequest } from "../support/http";
import { freePortIn } from "../support/net";
import { until, WatchedNginx, watcherConf } from "../support/watched-nginx";

jest.setTimeout(180000);

const nginx = new WatchedNginx(`tls-watcher-${process.pid}`);
let httpPort = 0;
let httpsPort = 0;

function writeCert(cn: string): void {
    execFileSync(
        "openssl",
        ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", `/CN=${cn}`].concat([
            "-keyout",
            nginx.local(NGINX_TLS_KEY_PATH),
            "-out",
            nginx.local(NGINX_TLS_CERT_PATH),
        ]),
        { stdio: "pipe" },
    );
    fs.chmodSync(nginx.local(NGINX_TLS_KEY_PATH), 0o600);
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

let digest = "";

beforeAll(async () => {
    // Two ranges: freePortIn picks by pid, so one range would give the same free port twice.
    httpPort = await freePortIn(18000, 18499);
    httpsPort = await freePortIn(18500, 18999);
    fs.mkdirSync(nginx.local(path.dirname(NGINX_TLS_KEY_PATH)));
    writeCert("first.test");
    const sealed = watcherConf({
        tls: {
            listenPort: 443,
            hostPort: httpsPort,
            certificatePath: NGINX_TLS_CERT_PATH,
            keyPath: NGINX_TLS_KEY_PATH,
            redirectHttp: true,
        },
    });
    digest = sealed.digest;
    await nginx.start(
        sealed.text,
        { [httpPort]: 80, [httpsPort]: 443 },
        nginxWatcherScript(undefined, undefined, 1, undefined, [NGINX_TLS_CERT_PATH, NGINX_TLS_KEY_PATH]),
    );
    await until(async () => (await servedCn()) === "first.test");
});

afterAll(() => nginx.remove());

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
