import { ArgumentError, ServiceImage } from "../../sdk";
import { peek, runProgram } from "./support/graph";

describe("ServiceImage", () => {
    test("build mode: docker.Image from the Dockerfile with BASE_IMAGE, never pushed; ref is the built digest", async () => {
        const { graph, result } = await runProgram(() =>
            new ServiceImage("app-image", { imageName: "pdc-example/x-app:latest", build: { context: "/src/app", baseImage: "debian:bookworm-slim" } }),
        );
        expect(graph.shape()).toEqual({ "app-image": "dockercluster:image:ServiceImage", "app-image-image": "docker:index/image:Image" });
        expect(graph.get("app-image-image").inputs).toEqual({
            imageName: "pdc-example/x-app:latest",
            skipPush: true,
            buildOnPreview: false, // the SDK's default: previews never build
            build: { context: "/src/app", args: { BASE_IMAGE: "debian:bookworm-slim" } },
        });
        expect(graph.parentName("app-image-image")).toBe("app-image");
        expect((await peek(result.ref)).value).toBe("pdc-example/x-app:latest@sha256:app-image-image");
    });

    test("prebuilt mode: docker.RemoteImage of the tag, kept locally; ref is the image id", async () => {
        const { graph, result } = await runProgram(() => new ServiceImage("app-image", { imageName: "pdc-example/x-app:latest" }));
        expect(graph.get("app-image-image").type).toBe("docker:index/remoteImage:RemoteImage");
        expect(graph.get("app-image-image").inputs).toEqual({ name: "pdc-example/x-app:latest", keepLocally: true });
        expect((await peek(result.ref)).value).toBe("sha256:app-image-image");
    });

    test("rejects an empty image name", () => {
        expect(() => new ServiceImage("x", { imageName: "" })).toThrow(ArgumentError);
    });
});
