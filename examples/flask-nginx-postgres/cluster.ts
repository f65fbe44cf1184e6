/**
 * flask-nginx-postgres: the comments app (Flask + peewee under gunicorn on 8000) behind nginx, which
 * serves /static itself and proxies everything else, on Postgres.
 *
 * What the hand-wired compose setup this replaces did by hand, and what does it here:
 * - "It is hard to create the database before the app runs": the bootstrap creates the `app` role, the `app`
 *   database and the `comment` table (./migrations) and deploys the welcome comment (./content) before any
 *   replica starts; the app never runs `create_table`.
 * - "`docker-compose rm` lost my data": the data volume is retained on `pulumi destroy` and found again by name on
 *   the next `pulumi up` (set protectData to also refuse a destroy).
 * - Shared files: app.json (APP_CONFIG_DIR) and locale files (CONTENT_DIR) are shared volumes filled before
 *   the replicas start.
 *
 * index.ts runs `flaskNginxPostgres(readConfig())` for `pulumi up`; tests call it with a config of their own. The
 * repository's root Pulumi program runs this one.
 */
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import {
    AppServerPool,
    ConfigChecker,
    NginxLoadBalancer,
    PostgresCluster,
    ServiceImage,
    TieredNetwork,
} from "../../sdk";

/** The stack configuration, typed (keys as in Pulumi.yaml). */
export interface Config {
    /** gunicorn replicas. */
    readonly replicas: number;
    /** gunicorn workers per replica (WEB_CONCURRENCY). */
    readonly workers: number;
    /** Host port nginx publishes. */
    readonly webPort: number;
    /** App image name; built from ./app when buildAppImage is true. */
    readonly appImage: string;
    readonly buildAppImage: boolean;
    /** `ARG BASE_IMAGE` of the app's Dockerfile. */
    readonly baseImage: string;
    readonly postgresImage: string;
    readonly nginxImage: string;
    /** UI locale (a file locale/<locale>.json in CONTENT_DIR overrides the built-in English strings). */
    readonly locale: string;
    /** Page title (app.json). */
    readonly title: string;
    readonly appMemoryMb: number;
    readonly dbMemoryMb: number;
    /** Publish Postgres on 127.0.0.1:<port> for the bootstrap (Docker Desktop); 0 = no. */
    readonly adminHostPort: number;
    /** `protect` the data volume (a destroy then refuses to run). */
    readonly protectData: boolean;
    /** Database administrator password (secret); generated when absent. */
    readonly dbAdminPassword?: pulumi.Output<string>;
}

export interface Outputs {
    readonly url: string;
    readonly replicas: readonly string[];
    readonly databaseUrl: pulumi.Output<string>;
    readonly dataVolume: pulumi.Output<string>;
}

/** The defaults, identical to Pulumi.yaml's. */
export const defaults: Config = {
    replicas: 2,
    workers: 2,
    webPort: 8080,
    appImage: "pdc-example/flask-nginx-postgres-app:latest",
    buildAppImage: true,
    baseImage: "debian:bookworm-slim",
    postgresImage: "postgres:15-bookworm",
    nginxImage: "nginx:stable-bookworm",
    locale: "en",
    title: "Comments",
    appMemoryMb: 256,
    dbMemoryMb: 512,
    adminHostPort: 0,
    protectData: false,
};

/** Reads the stack configuration. */
export function readConfig(c: pulumi.Config = new pulumi.Config()): Config {
    return {
        replicas: c.getNumber("replicas") ?? defaults.replicas,
        workers: c.getNumber("workers") ?? defaults.workers,
        webPort: c.getNumber("webPort") ?? defaults.webPort,
        appImage: c.get("appImage") ?? defaults.appImage,
        buildAppImage: c.getBoolean("buildAppImage") ?? defaults.buildAppImage,
        baseImage: c.get("baseImage") ?? defaults.baseImage,
        postgresImage: c.get("postgresImage") ?? defaults.postgresImage,
        nginxImage: c.get("nginxImage") ?? defaults.nginxImage,
        locale: c.get("locale") ?? defaults.locale,
        title: c.get("title") ?? defaults.title,
        appMemoryMb: c.getNumber("appMemoryMb") ?? defaults.appMemoryMb,
        dbMemoryMb: c.getNumber("dbMemoryMb") ?? defaults.dbMemoryMb,
        adminHostPort: c.getNumber("adminHostPort") ?? defaults.adminHostPort,
        protectData: c.getBoolean("protectData") ?? defaults.protectData,
        ...(c.get("dbAdminPassword") !== undefined ? { dbAdminPassword: c.requireSecret("dbAdminPassword") } : {}),
    };
}

export interface Cluster {
    readonly network: TieredNetwork;
    readonly image: ServiceImage;
    readonly db: PostgresCluster;
    readonly app: AppServerPool;
    readonly web: NginxLoadBalancer;
    readonly outputs: Outputs;
}

/** UI strings per locale, written to CONTENT_DIR/locale/<locale>.json . */
export const LOCALES: Readonly<Record<string, Record<string, string>>> = {
    en: {
        heading: "Write something!",
        placeholder: "Your comment",
        submit: "Post",
        empty: "No comments yet.",
        served_by: "served by",
    },
    de: {
        heading: "Schreib etwas!",
        placeholder: "Dein Kommentar",
        submit: "Senden",
        empty: "Noch keine Kommentare.",
        served_by: "ausgeliefert von",
    },
    fr: {
        heading: "Écrivez quelque chose !",
        placeholder: "Votre commentaire",
        submit: "Publier",
        empty: "Pas encore de commentaires.",
        served_by: "servi par",
    },
};

/** The whole cluster: web (nginx) → app (gunicorn) → db (Postgres). */
export function flaskNginxPostgres(cfg: Config): Cluster {
    // Check the whole configuration first: a bad value fails before a single resource exists.
    const check = new ConfigChecker(pulumi.getProject(), pulumi.getStack());
    check.integer("replicas", cfg.replicas, 1, 100);
    check.integer("workers", cfg.workers, 1, 64);
    check.integer("webPort", cfg.webPort, 1, 65535);
    check.integer("adminHostPort", cfg.adminHostPort, 0, 65535);
    check.integer("appMemoryMb", cfg.appMemoryMb, 6, 1048576);
    check.integer("dbMemoryMb", cfg.dbMemoryMb, 6, 1048576);
    check.distinctPorts({ webPort: cfg.webPort, adminHostPort: cfg.adminHostPort });
    check.check(
        cfg.locale in LOCALES,
        "locale",
        `is "${cfg.locale}"`,
        `run \`pulumi config set locale <${Object.keys(LOCALES).join("|")}>\``,
    );
    check.throwIfAny();
    const appDir = path.join(__dirname, "app");
    const network = new TieredNetwork("net"); // web, app, db (internal)

    const image = new ServiceImage("app-image", {
        imageName: cfg.appImage,
        ...(cfg.buildAppImage ? { build: { context: appDir, baseImage: cfg.baseImage } } : {}),
    });

    const db = new PostgresCluster("db", {
        network,
        image: cfg.postgresImage,
        ...(cfg.dbAdminPassword ? { adminPassword: cfg.dbAdminPassword } : {}),
        migrationSets: [{ name: "app", directory: path.join(__dirname, "migrations") }],
        content: { directory: path.join(__dirname, "content") },
        ...(cfg.adminHostPort > 0 ? { adminHostPort: cfg.adminHostPort } : {}),
        protectDataVolume: cfg.protectData,
        resources: { memoryMb: cfg.dbMemoryMb },
    });

    const app = new AppServerPool("app", {
        network,
        image: image.ref,
        replicas: cfg.replicas,
        database: db,
        // Each new replica must pass its health check before nginx sends it traffic: what makes an image, env or
        // config change a rolling update without a failed request (see sdk/README.md, the update model).
        env: { WEB_CONCURRENCY: String(cfg.workers) },
        configFiles: {
            "app.json": JSON.stringify({ title: cfg.title, locale: cfg.locale, page_size: 100 }, null, 2) + "\n",
        },
        contentFiles: Object.fromEntries(
            Object.entries(LOCALES).map(([lang, strings]) => [
                `locale/${lang}.json`,
                JSON.stringify(strings, null, 2) + "\n",
            ]),
        ),
        resources: { memoryMb: cfg.appMemoryMb },
    });

    const web = new NginxLoadBalancer("web", {
        network,
        image: cfg.nginxImage,
        hostPort: cfg.webPort,
        routes: [{ path: "/", pool: app }],
        static: { urlPath: "/static/", directory: path.join(appDir, "static") },
        clientMaxBodySize: "64k",
    });

    return {
        network,
        image,
        db,
        app,
        web,
        outputs: {
            url: web.url,
            replicas: app.instanceNames,
            databaseUrl: db.applicationUrl,
            dataVolume: db.dataVolume.name,
        },
    };
}
