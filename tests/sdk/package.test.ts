/**
 * The npm package as `npm pack` makes it: the license its manifest names, the docs the README links to, and stack
 * traces that lead somewhere (every source map carries the TypeScript it points at, since no `.ts` is shipped).
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const ROOT = path.resolve(__dirname, "../..");

let files: string[];
let unpacked: string;

beforeAll(() => {
    const dest = fs.mkdtempSync(path.join(os.tmpdir(), "pdc-pack-"));
    const out = execFileSync("npm", ["pack", "--json", "--pack-destination", dest], { cwd: ROOT, encoding: "utf8" });
    const [info] = JSON.parse(out.slice(out.indexOf("["))) as { filename: string; files: { path: string }[] }[];
    files = info.files.map((f) => f.path);
    unpacked = path.join(dest, "x");
    fs.mkdirSync(unpacked);
    execFileSync("tar", ["-xzf", path.join(dest, info.filename), "-C", unpacked]);
    unpacked = path.join(unpacked, "package");
}, 180000);

afterAll(() => {
    if (unpacked) fs.rmSync(path.dirname(path.dirname(unpacked)), { recursive: true, force: true });
});

test("ships the Apache-2.0 LICENSE its manifest names, and the docs the README links to", () => {
    expect(JSON.parse(fs.readFileSync(path.join(unpacked, "package.json"), "utf8")).license).toBe("Apache-2.0");
    expect(fs.readFileSync(path.join(unpacked, "LICENSE"), "utf8")).toMatch(/Apache License\s+Version 2\.0/);
    const readme = fs.readFileSync(path.join(unpacked, "README.md"), "utf8");
    const linked = [...readme.matchAll(/\]\(((?:provider|sdk)\/[^)#]+)\)/g)].map((m) => m[1]);
    expect(linked.length).toBeGreaterThan(0);
    for (const doc of linked) expect(files).toContain(doc);
    expect(files.filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))).toEqual([]);
});

test("every source map carries the source it names, so stack traces show real lines", () => {
    const maps = files.filter((f) => f.endsWith(".js.map"));
    expect(maps.length).toBeGreaterThan(10);
    for (const file of maps) {
        const map = JSON.parse(fs.readFileSync(path.join(unpacked, file), "utf8")) as {
            sources: string[];
            sourcesContent?: (string | null)[];
        };
        expect({
            file,
            count: map.sourcesContent?.filter((s) => typeof s === "string" && s.length > 0).length,
        }).toEqual({
            file,
            count: map.sources.length,
        });
    }
    expect(files).toContain("bin/sdk/index.js");
    expect(files).toContain("bin/provider/index.js");
});
