/**
 * The default app health check is a shell script that uses whichever of curl, wget, python3 or ruby the image
 * has. Run it for real with /bin/sh against a local HTTP server, once per tool available on this machine.
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { AddressInfo } from "net";
import { httpHealthcheck, httpProbeScript } from "../../sdk";

/** Runs `script` with /bin/sh and only `pathDirs` on PATH; resolves 0 on success, 1 on any failure. */
function run(script: string, pathDirs: string[]): Promise<number> {
    return new Promise((resolve) => {
        execFile("/bin/sh", ["-c", script], { env: { PATH: pathDirs.join(":") }, timeout: 20000 }, (err) => {
            resolve(err ? 1 : 0);
        });
    });
}

/** A PATH holding only `tool` (a symlink to the real one) plus what /bin/sh needs. */
function pathWithOnly(tool: string): string[] | undefined {
    const real = ["/usr/bin", "/usr/local/bin", "/bin"].map((d) => path.join(d, tool)).find((p) => fs.existsSync(p));
    const which =
        real ??
        (process.env.PATH ?? "")
            .split(":")
            .map((d) => path.join(d, tool))
            .find((p) => fs.existsSync(p));
    if (!which) return undefined;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `probe-${tool}-`));
    fs.symlinkSync(fs.realpathSync(which), path.join(dir, tool));
    return [dir];
}

/** The widest health path AppServerPool accepts: every allowed punctuation character, and a query. */
const WIDE_PATH = "/health/v1.2_x~y:z@a+b,c=d&e?full=1";

/** A PATH holding only `tools` (symlinks to the real ones), or undefined when one is missing. */
function pathWithAll(tools: string[]): string[] | undefined {
    const dirs = tools.map((t) => pathWithOnly(t));
    return dirs.every((d) => d !== undefined) ? dirs.flatMap((d) => d!) : undefined;
}

describe("httpProbeScript (real /bin/sh against a local server)", () => {
    let server: http.Server;
    let port = 0;
    beforeAll(async () => {
        server = http.createServer((req, res) => {
            res.statusCode = req.url === "/healthz" || req.url === WIDE_PATH ? 200 : 503;
            res.end("x");
        });
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
        port = (server.address() as AddressInfo).port;
    });
    afterAll(() => new Promise<void>((r) => server.close(() => r())));

    test("default health check is CMD-SHELL with the probe on /healthz", () => {
        const h = httpHealthcheck(8000);
        expect(h.test[0]).toBe("CMD-SHELL");
        expect(h.test[1]).toContain("http://127.0.0.1:8000/healthz");
    });

    for (const tool of ["curl", "python3", "ruby"]) {
        test(`passes on 200 and fails on 503 using only ${tool}`, async () => {
            const dirs = pathWithOnly(tool);
            // scripts/setup.sh installs each of them: a missing one fails the case rather than skipping it.
            if (!dirs) throw new Error(`${tool} is not installed; run scripts/setup.sh, which installs it`);
            expect(await run(httpProbeScript(port, "/healthz"), dirs)).toBe(0);
            expect(await run(httpProbeScript(port, "/broken"), dirs)).not.toBe(0);
        });
    }

    // bash's variant puts the path into a printf format inside single quotes: the strictest place it lands.
    for (const tools of [["bash", "head", "grep"], ["curl"], ["python3"]]) {
        test(`the widest accepted health path reaches the server intact using only ${tools.join(" + ")}`, async () => {
            const dirs = pathWithAll(tools);
            if (!dirs) throw new Error(`${tools.join(", ")} not installed; run scripts/setup.sh, which installs them`);
            expect(await run(httpProbeScript(port, WIDE_PATH), dirs)).toBe(0);
            expect(await run(httpProbeScript(port, "/healthz/other"), dirs)).not.toBe(0);
        });
    }

    test("refuses a path that could break out of the script's quoting", () => {
        for (const bad of ["/h'; touch /tmp/x; '", "/h x", "/$(id)", "/100%d", '/h"', "/h\\n"]) {
            expect(() => httpProbeScript(8000, bad)).toThrow(/is not a plain URL path/);
        }
    });

    test("fails with a message when the image has none of the tools", async () => {
        const empty = fs.mkdtempSync(path.join(os.tmpdir(), "probe-none-"));
        expect(await run(httpProbeScript(port, "/healthz"), [empty])).not.toBe(0);
    });
});
