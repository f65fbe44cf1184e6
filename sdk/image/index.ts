/**
 * Where a service's image comes from: built from its own Dockerfile on the Docker host, or an existing tag used as
 * is when present on the host and pulled otherwise. Both are a `docker.RemoteImage` (the Terraform provider's
 * `docker_image`, with or without `build`), so the docker plugin built from Go modules here serves them too: its
 * `docker.Image` is native code of pulumi-docker's, whose modules are not served (tools/README.md).
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
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
    /** Further build arguments (`--build-arg`). @default {} */
    readonly args?: Readonly<Record<string, pulumi.Input<string>>>;
    /** Stage of a multi-stage Dockerfile to build (`--target`). @default undefined (the last stage) */
    readonly target?: string;
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
 * sha256 over the build context's files (relative path and content, in name order), leaving out `.git` and
 * `node_modules`. A missing context is left to the build to report.
 * @internal
 */
export function contextDigest(context: string): string {
    const h = createHash("sha256");
    const walk = (dir: string): void => {
        for (const e of fs
            .readdirSync(dir, { withFileTypes: true })
            .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
            if (e.name === ".git" || e.name === "node_modules") continue;
            const p = path.join(dir, e.name);
            if (e.isDirectory()) walk(p);
            else if (e.isFile())
                h.update(`${path.relative(context, p)}\0`)
                    .update(fs.readFileSync(p))
                    .update("\0");
        }
    };
    if (fs.existsSync(context) && fs.statSync(context).isDirectory()) walk(context);
    return `sha256:${h.digest("hex")}`;
}

/** What a `ServiceImage.ref` was built from, known when the program runs (see `imageRevision`). */
const imageRevisions = new WeakMap<object, string>();

/**
 * Records that the image reference `ref` (an Output whose value is known only once the image exists) stands for
 * `revision`, a string known when the program runs (a ServiceImage's build recipe digest), so a pool using `ref`
 * rolls to a new generation when the recipe changes. Returns `ref`.
 */
export function withImageRevision<T extends pulumi.Output<string>>(ref: T, revision: string): T {
    imageRevisions.set(ref, revision);
    return ref;
}

const swarmRefs = new WeakMap<object, pulumi.Output<string>>();

/**
 * What a swarm service runs for `image`: for a {@link ServiceImage}'s `ref`, the image's repository digest
 * (`name@sha256:…`) when it has one, which every node can pull and which still changes with the image; else
 * `image` as given (a `ref` without a digest is the local image ID: only nodes holding that image can run it, as
 * on a single-node swarm). @internal
 */
export function swarmImageRef(image: pulumi.Input<string>): pulumi.Input<string> {
    return (typeof image === "object" && image !== null ? swarmRefs.get(image) : undefined) ?? image;
}

/** The revision recorded for an image reference: the string itself, a recorded revision, or undefined. @internal */
export function imageRevision(image: pulumi.Input<string>): string | undefined {
    if (typeof image === "string") return image;
    return typeof image === "object" && image !== null ? imageRevisions.get(image) : undefined;
}

/** ServiceImage's arguments with every default applied, and what the image is made of. */
export interface ResolvedImageArgs {
    readonly imageName: pulumi.Input<string>;
    readonly keepLocally: boolean;
    /** The build, with `baseImage` folded into the build arguments; undefined for a prebuilt image. */
    readonly build:
        | {
              readonly context: string;
              readonly dockerfile: string | undefined;
              readonly buildArgs: Readonly<Record<string, pulumi.Input<string>>>;
              readonly platform: string | undefined;
              readonly target: string | undefined;
              /** Digest of the context's files (see `contextDigest`). */
              readonly contextDigest: string;
          }
        | undefined;
    /** See `ServiceImage.revision`. */
    readonly revision: string;
}

/**
 * Applies defaults and checks every argument; throws an ArgumentError before anything is created. Pure but for
 * reading the build context.
 */
export function resolveImageArgs(name: string, args: ServiceImageArgs): ResolvedImageArgs {
    const c = new ArgChecker("ServiceImage", name);
    c.check(
        args.imageName !== undefined && args.imageName !== "",
        "imageName",
        "is empty",
        "give the image reference, e.g. myorg/app:1.0",
    );
    if (args.build) {
        c.check(
            args.build.context.trim() !== "",
            "build.context",
            "is empty",
            "give the directory holding the Dockerfile",
        );
        const t = args.build.target;
        c.check(
            t === undefined || (typeof t === "string" && /^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(t)),
            "build.target",
            `is ${JSON.stringify(t)}, not a stage name`,
            "give the name of a FROM … AS <stage> line, or leave it out (the last stage)",
        );
    }
    c.throwIfAny();

    const known = (v: pulumi.Input<string> | undefined) =>
        typeof v === "string" ? v : v === undefined ? null : "<known at deployment>";
    if (!args.build)
        return {
            imageName: args.imageName,
            keepLocally: args.keepLocally ?? true,
            build: undefined,
            revision: String(known(args.imageName)),
        };
    const b = args.build;
    const buildArgs: Record<string, pulumi.Input<string>> = { ...(b.args ?? {}) };
    if (b.baseImage !== undefined) buildArgs.BASE_IMAGE = b.baseImage;
    const ctx = contextDigest(b.context);
    const revision = createHash("sha256")
        .update(
            JSON.stringify({
                context: ctx,
                imageName: known(args.imageName),
                dockerfile: b.dockerfile ?? null,
                args: Object.keys(buildArgs)
                    .sort()
                    .map((k) => [k, known(buildArgs[k])]),
                platform: b.platform ?? null,
                // Only when set: the revision (and so the pools' generation) of an image without it stays.
                ...(b.target !== undefined ? { target: b.target } : {}),
            }),
        )
        .digest("hex");
    return {
        imageName: args.imageName,
        // A built image is the stack's own: kept on the host, like any build output.
        keepLocally: true,
        build: {
            context: b.context,
            dockerfile: b.dockerfile,
            buildArgs,
            platform: b.platform,
            target: b.target,
            contextDigest: ctx,
        },
        revision,
    };
}

/**
 * A service image. `ref` changes whenever the image's content changes (digest / image id), so containers that use
 * it are replaced after a rebuild.
 */
export class ServiceImage extends pulumi.ComponentResource {
    /** The reference containers should use: the image id, which changes whenever the image's content does. */
    public readonly ref: pulumi.Output<string>;
    /** The image name as given. */
    public readonly imageName: pulumi.Output<string>;
    /** Whether the image is built by this program. */
    public readonly built: boolean;
    /**
     * What the image is made of, known when the program runs: a digest of the build recipe (context files,
     * Dockerfile, build arguments) or the image name of a prebuilt image. `ref` carries it to an AppServerPool,
     * whose rollout generation changes with it. Values known only at deployment enter by name only.
     */
    public readonly revision: string;

    constructor(name: string, args: ServiceImageArgs, opts: pulumi.ComponentResourceOptions = {}) {
        const r = resolveImageArgs(name, args);
        super("dockercluster:image:ServiceImage", name, {}, opts);

        this.built = r.build !== undefined;
        this.revision = r.revision;
        const b = r.build;
        const image = new docker.RemoteImage(
            `${name}-image`,
            {
                name: r.imageName,
                keepLocally: r.keepLocally,
                ...(b
                    ? {
                          build: {
                              context: b.context,
                              ...(b.dockerfile !== undefined ? { dockerfile: b.dockerfile } : {}),
                              ...(Object.keys(b.buildArgs).length > 0 ? { buildArgs: b.buildArgs } : {}),
                              ...(b.platform !== undefined ? { platform: b.platform } : {}),
                              ...(b.target !== undefined ? { target: b.target } : {}),
                              // The classic builder: any engine serves it (BuildKit needs a builder set up on the host).
                              useLegacyBuilder: true,
                          },
                          // The provider does not look at the context's files: a change in them must be told, or
                          // the image would never be rebuilt.
                          triggers: { context: b.contextDigest },
                      }
                    : {}),
            },
            { parent: this },
        );
        this.ref = withImageRevision(image.imageId, this.revision);
        swarmRefs.set(
            this.ref,
            pulumi.all([image.repoDigest, image.imageId]).apply(([digest, id]) => digest || id),
        );
        this.imageName = image.name;
        this.registerOutputs({ ref: this.ref, imageName: this.imageName });
    }
}
