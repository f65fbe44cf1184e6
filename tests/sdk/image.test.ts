import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ArgumentError, contextDigest, resolveImageArgs, ServiceImage } from "../../sdk";
import { peek, runProgram } from "../support/graph";

describe("ServiceImage", () => {
    test("build mode: docker.RemoteImage built from the Dockerfile with BASE_IMAGE on the host; rebuilt when the context's files change", async () => {
        const context = fs.mkdtempSync(path.join(os.tmpdir(), "pdc-image-ctx-"));
        fs.writeFileSync(path.join(context, "Dockerfile"), "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\n");
        const build = () =>
            new ServiceImage("app-image", {
                imageName: "pdc-example/x-app:latest",
                build: { context, baseImage: "debian:bookworm-slim" },
            });
        const { graph, result } = await runProgram(build);
        expect(graph.shape()).toEqual({
            "app-image": "dockercluster:image:ServiceImage",
            "app-image-image": "docker:index/remoteImage:RemoteImage",
        });
        const inputs = graph.get("app-image-image").inputs;
        expect(inputs).toEqual({
            name: "pdc-example/x-app:latest",
            keepLocally: true,
            build: { context, buildArgs: { BASE_IMAGE: "debian:bookworm-slim" }, useLegacyBuilder: true },
            triggers: { context: contextDigest(context) },
        });
        expect(graph.parentName("app-image-image")).toBe("app-image");
        expect((await peek(result.ref)).value).toBe("sha256:app-image-image");

        const before = contextDigest(context);
        expect(contextDigest(context)).toBe(before);
        fs.writeFileSync(path.join(context, "app.py"), "print('hi')\n");
        expect(contextDigest(context)).not.toBe(before);
    });

    test("prebuilt mode: docker.RemoteImage of the tag, kept locally; ref is the image id", async () => {
        const { graph, result } = await runProgram(
            () => new ServiceImage("app-image", { imageName: "pdc-example/x-app:latest" }),
        );
        expect(graph.get("app-image-image").type).toBe("docker:index/remoteImage:RemoteImage");
        expect(graph.get("app-image-image").inputs).toEqual({ name: "pdc-example/x-app:latest", keepLocally: true });
        expect((await peek(result.ref)).value).toBe("sha256:app-image-image");
    });

    test("rejects an empty image name", () => {
        expect(() => new ServiceImage("x", { imageName: "" })).toThrow(ArgumentError);
    });

    test("build target and args: passed to the build; the target enters the revision only when set", async () => {
        const context = fs.mkdtempSync(path.join(os.tmpdir(), "pdc-image-target-"));
        fs.writeFileSync(path.join(context, "Dockerfile"), "FROM scratch AS base\nFROM base AS runtime\n");
        const args = (target?: string) => ({
            imageName: "pdc-example/x-app:latest",
            build: { context, args: { VERSION: "1.2" }, ...(target !== undefined ? { target } : {}) },
        });
        const { graph } = await runProgram(() => new ServiceImage("app-image", args("runtime")));
        expect(graph.get("app-image-image").inputs.build).toEqual({
            context,
            buildArgs: { VERSION: "1.2" },
            target: "runtime",
            useLegacyBuilder: true,
        });
        const without = resolveImageArgs("i", args()).revision;
        // Pinned from before `target` existed: an image without it keeps its revision (no rollout on upgrade).
        expect(without).toBe("602940ace21a49985d8300630d4b51cf243fd5c2c59a2af56e9cade3c329cb66");
        expect(resolveImageArgs("i", args("runtime")).revision).not.toBe(without);
        expect(resolveImageArgs("i", args("base")).revision).not.toBe(resolveImageArgs("i", args("runtime")).revision);
        expect(() => resolveImageArgs("i", args("not a stage"))).toThrow(
            /build\.target is "not a stage", not a stage name/,
        );
    });
});
