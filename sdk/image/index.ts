/**
 * Where a service's image comes from: built from its own Dockerfile (`docker.Image`, BuildKit) or an existing tag
 * (`docker.RemoteImage`: used as is when present on the Docker host, pulled otherwise).
 */
import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import { ArgChecker } from "../validation";

/** How to build the image. */
export interface ServiceImageBuildArgs {
    /** Build context directory (absolute, or relative to the Pulumi program's working directory). */
    readonly context: string;
    /** Dockerfile path, relative to `context` or absolute. @default "Dockerfile" in `context` */
    readonly dockerfile?: string;
    /** `ARG BASE_IMAGE` of the Dockerfile. @default undefined (the Dockerfile's own default) */
    readonly baseImage?: pulumi.Input<string>;
    /** Further build arguments. @default {} */
    readonly args?: Readonly<Record<string, pulumi.Input<string>>>;
    /** Target platform, e.g. "linux/amd64". @default the Docker host's */
    readonly platform?: string;
}

export interface ServiceImageArgs {
    /** Image reference `repository[:tag]`; the built image is tagged with it, or the existing one is used. */
    readonly imageName: pulumi.Input<string>;
    /** Build from a Dockerfile; leave out to use the existing image `imageName`. @default undefined (use the existing image) */
    readonly build?: ServiceImageBuildArgs;
    /** Keep a pulled image on the host when the stack is destroyed (prebuilt mode only). @default true */
    readonly keepLocally?: boolean;
}

/**
 * A service image. `ref` changes whenever the image's content changes (digest / image id), so containers that use
 * it are replaced after a rebuild.
 */
export class ServiceImage extends pulumi.ComponentResource {
    /** The reference containers should use (`repoDigest` of a build, `imageId` of an existing image). */
    public readonly ref: pulumi.Output<string>;
    /** The image name as given. */
    public readonly imageName: pulumi.Output<string>;
    /** Whether the image is built by this program. */
    public readonly built: boolean;

    constructor(name: string, args: ServiceImageArgs, opts: pulumi.ComponentResourceOptions = {}) {
        const c = new ArgChecker("ServiceImage", name);
        c.check(args.imageName !== undefined && args.imageName !== "", "imageName", "is empty", "give the image reference, e.g. myorg/app:1.0");
        if (args.build) c.check(args.build.context.trim() !== "", "build.context", "is empty", "give the directory holding the Dockerfile");
        c.throwIfAny();
        super("dockercluster:image:ServiceImage", name, {}, opts);

        this.built = args.build !== undefined;
        if (args.build) {
            const b = args.build;
            const buildArgs: Record<string, pulumi.Input<string>> = { ...(b.args ?? {}) };
            if (b.baseImage !== undefined) buildArgs.BASE_IMAGE = b.baseImage;
            const image = new docker.Image(
                `${name}-image`,
                {
                    imageName: args.imageName,
                    skipPush: true,
                    build: {
                        context: b.context,
                        ...(b.dockerfile !== undefined ? { dockerfile: b.dockerfile } : {}),
                        ...(Object.keys(buildArgs).length > 0 ? { args: buildArgs } : {}),
                        ...(b.platform !== undefined ? { platform: b.platform } : {}),
                    },
                },
                { parent: this },
            );
            this.ref = pulumi.all([image.repoDigest, image.imageName]).apply(([d, n]) => (d ? d : n));
            this.imageName = image.imageName;
        } else {
            const image = new docker.RemoteImage(
                `${name}-image`,
                { name: args.imageName, keepLocally: args.keepLocally ?? true },
                { parent: this },
            );
            this.ref = image.imageId;
            this.imageName = image.name;
        }
        this.registerOutputs({ ref: this.ref, imageName: this.imageName });
    }
}
