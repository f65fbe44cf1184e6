/**
 * This package as a user's Pulumi project has it after `npm install pulumi-docker-cluster`: built with
 * `npm run build`'s configuration into `<project>/node_modules/pulumi-docker-cluster` (a real directory, as npm
 * makes it), its runtime dependencies beside it. A dynamic-provider host started in `<project>` is then what the
 * engine starts for that project, and the provider serialized there is what its state would hold.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ProviderName, serializedProvider } from "./provider-host";

const ROOT = path.resolve(__dirname, "../..");
const NAME = "pulumi-docker-cluster";

export class InstalledPackage {
    /** The project directory: run the provider host here. */
    readonly project: string;

    constructor(parent: string = os.tmpdir()) {
        this.project = fs.mkdtempSync(path.join(parent, "pdc-installed-"));
        const modules = path.join(this.project, "node_modules");
        const pkg = path.join(modules, NAME);
        const tsc = require.resolve("typescript/bin/tsc", { paths: [ROOT] });
        execFileSync(
            process.execPath,
            [tsc, "-p", path.join(ROOT, "tsconfig.build.json"), "--outDir", path.join(pkg, "bin")],
            { cwd: ROOT, stdio: "pipe" },
        );
        const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
            dependencies: Record<string, string>;
        };
        fs.copyFileSync(path.join(ROOT, "package.json"), path.join(pkg, "package.json"));
        // Dependencies as links into this repository's node_modules; theirs resolve from where the links point.
        for (const dep of Object.keys(manifest.dependencies)) {
            const link = path.join(modules, dep);
            fs.mkdirSync(path.dirname(link), { recursive: true });
            fs.symlinkSync(path.join(ROOT, "node_modules", dep), link);
        }
        fs.writeFileSync(
            path.join(this.project, "package.json"),
            JSON.stringify({ name: "user-project", dependencies: { [NAME]: "*" } }),
        );
    }

    /** A provider serialized as `dynamic.Resource` does it in a program of this project. */
    serializedProvider(which: ProviderName = "bootstrap"): string {
        return serializedProvider(which, this.project);
    }

    destroy(): void {
        fs.rmSync(this.project, { recursive: true, force: true });
    }
}
